"""The server secret and the per-ticket reply-address tokens made from it."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from maildesk.cli import main
from maildesk.errors import ConfigError
from maildesk.secret import (
    ServerSecret,
    create_secret_file,
    read_secret_file,
    rotate_secret_file,
    secret_from_env,
)
from maildesk.tokens import ReplyAddresses, Role
from tests.desk import write_config

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
NUMBER = "TS-20261129-0007"


def addresses(key: bytes = b"k" * 32, previous: tuple[tuple[bytes, datetime | None], ...] = ()) -> ReplyAddresses:
    return ReplyAddresses("Support@Example.com", "TS", ServerSecret(key, previous))


def token(address: str) -> str:
    parsed = addresses().parse(address)
    assert parsed is not None
    return parsed[1]


def test_reporter_and_staff_addresses_are_distinct_and_each_has_its_role() -> None:
    """The reporter's address and the staff address of one ticket differ, and each is recognised as what it is."""
    a = addresses()
    reporter, staff = a.reporter(NUMBER), a.staff(NUMBER)
    assert reporter.startswith("support+ts-20261129-0007-") and reporter.endswith("@example.com")
    assert reporter != staff
    assert a.role(NUMBER, token(reporter), now=NOW) == Role.REPORTER
    assert a.role(NUMBER, token(staff), now=NOW) == Role.STAFF


def test_a_token_is_bound_to_its_ticket_and_its_secret() -> None:
    """A valid token of one ticket is nothing for the next number, nor under another server's secret."""
    a = addresses()
    staff = token(a.staff(NUMBER))
    assert a.role("TS-20261129-0008", staff, now=NOW) is None
    assert addresses(b"x" * 32).role(NUMBER, staff, now=NOW) is None


def test_rotated_secret_keeps_old_tokens_valid_for_the_grace_period_only() -> None:
    """After a rotation, a reply to a mail sent before it proves staff until the old key's valid_until."""
    old = addresses(b"old" * 11)
    staff = token(old.staff(NUMBER))
    rotated = addresses(b"new" * 11, ((b"old" * 11, NOW + timedelta(days=14)),))
    assert rotated.role(NUMBER, staff, now=NOW + timedelta(days=13)) == Role.STAFF
    assert rotated.role(NUMBER, staff, now=NOW + timedelta(days=14)) is None
    assert rotated.staff(NUMBER) != old.staff(NUMBER)


def test_legacy_tokens_find_the_ticket_but_prove_nothing() -> None:
    """Both addresses of a ticket made before the server secret are recognised, as legacy only."""
    legacy = "0123456789abcdef"
    old_staff = hmac.new(legacy.encode(), b"staff", hashlib.sha256).hexdigest()[:20]
    a = addresses()
    assert a.role(NUMBER, legacy, now=NOW, legacy_token=legacy) == Role.LEGACY
    assert a.role(NUMBER, old_staff, now=NOW, legacy_token=legacy) == Role.LEGACY
    assert a.role(NUMBER, old_staff, now=NOW) is None


def test_the_secret_file_is_made_private_and_rotates(tmp_path: Path) -> None:
    """A new secret file is mode 0600; a rotation keeps the old key, valid until the grace period ends."""
    path = tmp_path / "secret.key"
    assert create_secret_file(path) and not create_secret_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = read_secret_file(path)
    until = rotate_secret_file(path, NOW, timedelta(days=7))
    second = read_secret_file(path)
    assert until == NOW + timedelta(days=7) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert second.current != first.current and second.previous == ((first.current, until),)
    assert second.keys_at(NOW) == [second.current, first.current]
    assert second.keys_at(until) == [second.current]
    assert second.current.hex() not in repr(second) and str(second.current) not in repr(second)


def test_an_unsafe_or_broken_secret_file_is_a_one_line_config_error(tmp_path: Path) -> None:
    """A secret file others can read, or one that is not a key, names secret_file and says what to do."""
    path = tmp_path / "secret.key"
    create_secret_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match=r"^secret_file: .* can be read by other users .*chmod 600"):
        read_secret_file(path)
    os.chmod(path, 0o600)
    path.write_text('current = "short"\n')
    with pytest.raises(ConfigError, match=r"^secret_file: .*current: not a key"):
        read_secret_file(path)


def test_a_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """secret_env names a variable with the key; NAME_PREVIOUS keeps the old one valid during a rotation."""
    monkeypatch.setenv("DESK_SECRET", "s" * 40)
    assert secret_from_env("DESK_SECRET").keys_at(NOW) == [b"s" * 40]
    monkeypatch.setenv("DESK_SECRET_PREVIOUS", "p" * 40)
    assert secret_from_env("DESK_SECRET").keys_at(NOW) == [b"s" * 40, b"p" * 40]
    monkeypatch.setenv("DESK_SECRET", "short")
    with pytest.raises(ConfigError, match=r"^secret_env: the environment variable DESK_SECRET holds fewer"):
        secret_from_env("DESK_SECRET")


def test_secret_rotate_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`maildesk secret rotate` makes a new key and says until when the old one stays valid."""
    config = write_config(tmp_path, {"database": f"sqlite:///{tmp_path / 'd.db'}"})
    assert main(["--config", str(config), "secret", "rotate"]) == 0
    assert "created" in capsys.readouterr().out
    before = read_secret_file(tmp_path / "secret.key")
    assert main(["--config", str(config), "secret", "rotate", "--grace-days", "3"]) == 0
    assert "stays valid until" in capsys.readouterr().out
    after = read_secret_file(tmp_path / "secret.key")
    assert after.current != before.current and after.previous[0][0] == before.current

"""Loading and validating the config file; errors name the dotted key."""

from __future__ import annotations

from pathlib import Path

import pytest

from maildesk.config import Settings, load_settings, parse_settings
from maildesk.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_documents_exactly_the_defaults() -> None:
    """config/maildesk.example.toml loads and equals the built-in defaults, key for key."""
    example = load_settings(ROOT / "config" / "maildesk.example.toml")
    assert example == Settings(base_dir=example.base_dir)


def test_example_config_mentions_every_key() -> None:
    """Every settings key, nested ones included, appears in the example file."""
    text = (ROOT / "config" / "maildesk.example.toml").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        if name == "base_dir":
            continue
        assert f"{name} =" in text or f"[{name}" in text, name
        sub = getattr(field.annotation, "model_fields", {})
        for key in sub:
            assert f"{key} =" in text or f"# {key} =" in text, f"{name}.{key}"


def test_packaged_example_is_the_documented_one() -> None:
    """The copy that `init` writes is the same file as config/maildesk.example.toml."""
    assert (ROOT / "maildesk" / "data" / "maildesk.example.toml").read_bytes() == \
        (ROOT / "config" / "maildesk.example.toml").read_bytes()


@pytest.mark.parametrize(("data", "key"), [
    ({"imap": {"port": 70000}}, "imap.port"),
    ({"imap": {"prot": 993}}, "imap.prot"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"smtp": {"transport": "pigeon"}}, "smtp.transport"),
    ({"intake": {"unknown_senders": "maybe"}}, "intake.unknown_senders"),
    ({"business_hours": {"start": "18:00:00", "end": "09:00:00"}}, "business_hours"),
    ({"priorities": {"P1": {"name": "x", "start_hours": -1, "resolve_hours": 1}}}, "priorities.P1.start_hours"),
    ({"ticket_prefix": "ts-"}, "ticket_prefix"),
    ({"default_priority": "P9"}, "default_priority"),
])
def test_wrong_values_name_the_dotted_key(data: dict[str, object], key: str) -> None:
    """A wrong value is reported with the dotted key that holds it."""
    with pytest.raises(ConfigError) as info:
        parse_settings(data, Path("."))
    assert str(info.value).startswith(key), str(info.value)


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    """A relative SQLite file and directory path are read beside the config file."""
    (tmp_path / "m.toml").write_text('database = "sqlite:///data/x.db"\ndirectory = "p.csv"\n')
    s = load_settings(tmp_path / "m.toml")
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'data' / 'x.db'}"
    assert s.path(s.directory) == tmp_path.resolve() / "p.csv"


def test_broken_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    """Invalid TOML and an unreadable file both raise ConfigError with the file's name."""
    (tmp_path / "bad.toml").write_text("database = \n")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_settings(tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_settings(tmp_path / "missing.toml")


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The IMAP password is read from the variable the config names, not from the file."""
    monkeypatch.setenv("MY_IMAP_PW", "s3cret")
    s = parse_settings({"imap": {"password_env": "MY_IMAP_PW"}}, Path("."))
    assert s.secret(s.imap.password_env) == "s3cret"
    assert "s3cret" not in s.model_dump_json()

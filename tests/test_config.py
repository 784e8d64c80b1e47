"""Loading and validating the config file; errors name the dotted key."""

from __future__ import annotations

import tomllib
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
    ({"business_hours": {"extra_holidays": ["2026-13-45"]}}, "business_hours.extra_holidays[0]"),
    ({"business_hours": {"extra_workdays": ["2026-10-10", "Oct 11"]}}, "business_hours.extra_workdays[1]"),
    ({"database": "not a url"}, "database"),
    ({"database": "mysql://desk:pw@db.example.com/desk"}, "database"),
    ({"priorities": {"P1": {"name": "x", "start_hours": 1, "resolve_hours": 8, "escalation": [
        {"after_hours": 8, "to": "manager"}, {"after_hours": 4, "to": "director"}]}}},
     "priorities.P1.escalation[1].after_hours"),
    ({"base_dir": "/srv/desk"}, "base_dir"),
    ({"priorities": {"P1": {"name": "x", "start_hours": 1, "resolve_hours": 8, "clock": "nightly"}}},
     "priorities.P1.clock"),
    ({"tier3": "research"}, "tier3"),
    ({"sla": {"mobilise_priorities": ["P0"]}}, "sla.mobilise_priorities"),
    ({"intake": {"brief_attachment_bytes": -1}}, "intake.brief_attachment_bytes"),
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


def test_a_database_error_never_quotes_the_password() -> None:
    """An unsupported database URL is named without the password it carries."""
    with pytest.raises(ConfigError) as info:
        parse_settings({"database": "mysql://desk:hunter2@db.example.com/desk"}, Path("."))
    assert "hunter2" not in str(info.value) and "mysql" in str(info.value)


def test_holidays_may_be_toml_dates() -> None:
    """extra_holidays accepts TOML's own dates as well as "YYYY-MM-DD" strings."""
    s = parse_settings(tomllib.loads("[business_hours]\nextra_holidays = [2026-10-09, \"2026-10-10\"]\n"), Path("."))
    assert s.business_hours.extra_holidays == ["2026-10-09", "2026-10-10"]


def test_gbk_config_names_the_line_and_the_encoding(tmp_path: Path) -> None:
    """A config saved as GBK is refused with its file, line and column and the advice to save it as UTF-8."""
    file = tmp_path / "maildesk.toml"
    file.write_bytes('# 技术支持\nsupport_name = "技术支持中心"\n'.encode("gbk"))
    with pytest.raises(ConfigError) as info:
        load_settings(file)
    assert str(info.value).startswith(f"{file}:1:3: not UTF-8 text")
    assert "GBK" in str(info.value) and "UTF-8" in str(info.value)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """A config that Windows Notepad saved with a UTF-8 byte-order mark loads like any other."""
    file = tmp_path / "maildesk.toml"
    file.write_bytes('support_name = "技术支持中心"\n'.encode("utf-8-sig"))
    assert load_settings(file).support_name == "技术支持中心"


def test_invalid_toml_names_file_line_and_column(tmp_path: Path) -> None:
    """A TOML syntax error is reported as FILE:LINE:COLUMN, the way editors jump to it."""
    file = tmp_path / "maildesk.toml"
    file.write_text('timezone = "Asia/Shanghai"\n[imap\nport = 993\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(file)
    assert str(info.value).startswith(f"{file}:2:")

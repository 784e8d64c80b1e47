"""Building a maildesk installation for a test: config on disk, App, and mails to feed it."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from maildesk.app import App
from maildesk.config import parse_settings
from maildesk.rules.directory import default_people_path
from maildesk.rules.loader import default_rules_path

IMAP_PASSWORD_ENV = "MAILDESK_TEST_IMAP_PASSWORD"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(folder: Path, settings: Mapping[str, Any]) -> Path:
    """Write ``settings`` (top-level keys and one level of tables) as maildesk.toml, with sample people and rules."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(default_people_path(), folder / "people.csv")
    shutil.copyfile(default_rules_path(), folder / "rules.toml")
    lines = [f"{k} = {_toml_value(v)}" for k, v in settings.items() if not isinstance(v, dict)]
    for table, values in settings.items():
        if isinstance(values, dict):
            lines.append(f"\n[{table}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
    path = folder / "maildesk.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tomllib.loads(path.read_text(encoding="utf-8"))
    return path


def desk_settings(
    db_url: str, *, imap: tuple[str, int, str] | None = None, smtp: tuple[str, int] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Settings for a test desk: the database, the Dovecot user (host, port, user) and the SMTP sink."""
    data: dict[str, Any] = {"database": db_url, "support_address": "support@example.com"}
    if imap is not None:
        host, port, user = imap
        data["mailbox"] = {"kind": "imap"}
        data["imap"] = {"host": host, "port": port, "security": "plain", "username": user,
                        "password_env": IMAP_PASSWORD_ENV, "idle": True, "poll_seconds": 1.0, "timeout": 10.0}
    if smtp is not None:
        data["smtp"] = {"transport": "smtp", "host": smtp[0], "port": smtp[1], "security": "plain",
                        "timeout": 5.0, "retry_base_seconds": 1.0}
    else:
        data["smtp"] = {"transport": "file", "directory": "sent"}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def make_app(folder: Path, settings: Mapping[str, Any]) -> App:
    """An App on a config written into ``folder`` (so people.csv and rules.toml resolve there)."""
    write_config(folder, settings)
    return App(parse_settings(dict(settings), folder))


def mail(
    sender: str, subject: str, body: str, *, name: str = "", to: str = "support@example.com",
    charset: str = "utf-8", message_id: str | None = None, headers: Mapping[str, str] | None = None,
    in_reply_to: str | None = None, cc: str | None = None, date: datetime | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
) -> bytes:
    """A realistic mail as a mail client would send it."""
    m = EmailMessage()
    m["From"] = f"{name} <{sender}>" if name else sender
    m["To"] = to
    if cc:
        m["Cc"] = cc
    m["Subject"] = subject
    m["Date"] = format_datetime(date or datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    m["Message-ID"] = message_id or make_msgid(domain="client.example.com")
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    for key, value in (headers or {}).items():
        m[key] = value
    m.set_content(body, charset=charset)
    for filename, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return m.as_bytes()


def stamped(raw: bytes, *fields: tuple[str, str]) -> bytes:
    """``raw`` as the receiving mail server hands it on: its trace fields prepended, above the sender's own."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in fields)
    return lines.encode("utf-8") + raw

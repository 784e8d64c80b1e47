"""Database failures in one line an operator can act on, naming the ``database`` key.

Kept free of SQLAlchemy so the fast read path of the command line can use it too: it
looks at the driver's exception (sqlite3 or psycopg), itself or wrapped by SQLAlchemy
as ``exc.orig``, and never quotes a password.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from maildesk.config_text import shown_url
from maildesk.errors import ConfigError, MaildeskError

SQLITE_PREFIX = "sqlite:///"


class DatabaseUnavailable(ConfigError):
    """The configured database cannot be opened: a wrong URL, role, password, folder or server."""

    def __init__(self, problem: str) -> None:
        super().__init__("database", problem)


class SchemaMismatch(ConfigError):
    """The database's schema revision is one this maildesk does not know (a newer maildesk wrote it)."""

    def __init__(self, problem: str) -> None:
        super().__init__("database", problem)


class DatabaseFailed(MaildeskError):
    """The database failed while working (read-only, disk full, server gone): worth retrying later."""


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, or None for other databases and the in-memory one."""
    if not url.startswith(SQLITE_PREFIX) or url.endswith(":memory:"):
        return None
    return Path(url[len(SQLITE_PREFIX):].split("?", 1)[0])


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception behind a SQLAlchemy one."""
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


def one_line(text: str) -> str:
    """Several lines and runs of blanks as one line."""
    return "; ".join(" ".join(line.split()) for line in str(text).splitlines() if line.strip())


def describe_failure(exc: BaseException) -> str:
    """What went wrong with a working database, in one line (no SQL, no parameters)."""
    err = driver_error(exc)
    text = one_line(str(err)) or type(err).__name__
    return text.split("; [SQL:", 1)[0]


def connect_problem(exc: BaseException, url: str) -> str:
    """Why connecting to ``url`` failed, in one line that says what to check."""
    err = driver_error(exc)
    if isinstance(err, ModuleNotFoundError):
        return f"{shown_url(url)} needs the {err.name} module: pip install 'maildesk[pg]'"
    file = sqlite_file(url)
    if file is not None:
        return f"SQLite file {file}: {_sqlite_problem(file, err)}"
    return f"cannot connect to {shown_url(url)}: {_pg_reason(str(err))}"


def _sqlite_problem(file: Path, err: BaseException) -> str:
    folder = file.parent
    if not folder.exists():
        return f"its folder {folder} does not exist (create it, or correct the path)"
    if file.is_dir():
        return "is a folder, not a database file"
    if not file.exists() and not os.access(folder, os.W_OK):
        return f"cannot be created: no permission to write in {folder}"
    if file.exists() and not os.access(file, os.R_OK):
        return "no permission to read it"
    return describe_failure(err)


def _pg_reason(message: str) -> str:
    """The server's or libpq's own words, without the repeated "connection to server ... failed:" frame."""
    text = one_line(message).removeprefix("connection failed: ")
    found = re.search(r"(?:FATAL|ERROR):\s+(.*)$", text)
    if found:
        return found.group(1)
    framed = re.search(r"connection to server .*? failed: (.*)$", text)
    return framed.group(1) if framed else text

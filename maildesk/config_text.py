"""The config file's text and the database URL: checked before pydantic sees them.

A config saved as GBK or with a byte-order mark, a TOML syntax error, a database URL that is no
URL or names a database maildesk cannot use: each becomes one line naming the file, line and
column or the key, never quoting a password.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from maildesk.errors import ConfigError

SUPPORTED_DATABASES = "sqlite:///PATH (a file) or postgresql://USER@HOST/DBNAME"


def check_database_url(url: str) -> None:
    """Raise ValueError unless ``url`` names a SQLite file or a PostgreSQL database; never quotes a password."""
    scheme, sep, rest = url.partition("://")
    shown = shown_url(url)
    if not sep or not scheme or " " in scheme:
        raise ValueError(f"{shown!r} is not a database URL: use {SUPPORTED_DATABASES}")
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        if not rest.startswith("/"):
            raise ValueError(f"{shown!r}: a SQLite URL has three slashes and a file: sqlite:///maildesk.db")
        return
    if base in ("postgresql", "postgres"):
        if scheme.lower() not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise ValueError(f"{shown!r}: maildesk talks to PostgreSQL through psycopg 3: use postgresql://...")
        try:
            urlsplit(url).port  # noqa: B018 - raises on a port that is no number
        except ValueError as exc:
            raise ValueError(f"{shown!r}: {exc}") from None
        return
    raise ValueError(f"{base} databases are not supported ({shown!r}): use {SUPPORTED_DATABASES}")


def shown_url(url: str) -> str:
    """``url`` as it may appear in a log line or an error: the password, if any, replaced by ***."""
    return re.sub(r"^([^:/]+://[^:/@]*):[^@/]*@", r"\1:***@", url)


def decode_config(raw: bytes, file: Path) -> str:
    """The text of a config file: UTF-8, with or without the byte-order mark Windows editors write."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        try:
            raw.decode("gb18030")
            guess = "it looks like GBK/GB18030; "
        except UnicodeDecodeError:
            guess = ""
        raise ConfigError("", f"{file}:{line}:{column}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                          f"{guess}save the file as UTF-8") from None
    return text.removeprefix("\ufeff")


def toml_error(file: Path, exc: tomllib.TOMLDecodeError) -> str:
    """``file:LINE:COLUMN: invalid TOML: what``, from tomllib's "what (at line L, column C)"."""
    message = str(exc)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found is None:
        return f"{file}: invalid TOML: {message}"
    return f"{file}:{found.group(1)}:{found.group(2)}: invalid TOML: {message[:found.start()]}"

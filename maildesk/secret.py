"""The server secret: the key behind every reply-address token, kept outside the database.

It lives in the file the config names (``secret_file``, mode 0600, written by
``maildesk init`` or on the first start of an older installation), or in an
environment variable the config names (``secret_env``) for deployments that
pass secrets that way. ``maildesk secret rotate`` makes a new one and keeps the
old one valid for a grace period, so replies to mails sent before the rotation
still prove what they proved. Nothing here reads the clock: ``now`` is given.

The file is TOML::

    current = "9f0c…"                       # 64 hex digits
    [[previous]]
    key = "41aa…"
    valid_until = 2026-12-13T10:00:00+08:00
"""

from __future__ import annotations

import os
import secrets
import stat
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from maildesk.errors import ConfigError

MIN_ENV_SECRET = 32  # characters of a secret given in the environment
DEFAULT_GRACE = timedelta(days=14)
_HEADER = (
    "# maildesk server secret: the key of every reply-address token.\n"
    "# Keep it private (mode 0600), back it up with the database, never commit it.\n"
    "# Rotate it with `maildesk secret rotate`; the old key stays valid until valid_until.\n"
)


@dataclass(frozen=True)
class ServerSecret:
    """The current key, and earlier keys with the moment each stops being accepted (None: while set)."""

    current: bytes
    previous: tuple[tuple[bytes, datetime | None], ...] = ()

    def keys_at(self, now: datetime) -> list[bytes]:
        """The keys that verify a token at ``now``: the current one first."""
        return [self.current, *(key for key, until in self.previous if until is None or now < until)]

    def __repr__(self) -> str:  # never print a key, not even in a traceback
        return f"ServerSecret(<{1 + len(self.previous)} key(s)>)"


def generate_key() -> str:
    return secrets.token_hex(32)


def _hex_key(value: object, where: str, key: str) -> bytes:
    if not isinstance(value, str) or len(value) < 32 or any(c not in "0123456789abcdef" for c in value):
        raise ConfigError(key, f"{where}: not a key of at least 32 hex digits")
    return bytes.fromhex(value) if len(value) % 2 == 0 else value.encode("ascii")


def _moment(value: object, where: str, key: str) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    raise ConfigError(key, f"{where}: valid_until must be a date and time with an offset")


def read_secret_file(path: Path) -> ServerSecret:
    """The secret in ``path``; ConfigError (naming ``secret_file``) when it is missing, unsafe or malformed."""
    key = "secret_file"
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(key, f"{path} does not exist (maildesk init or maildesk run creates it)") from None
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(key, f"{path} can be read by other users (mode {stat.S_IMODE(mode):04o}); "
                               f"run: chmod 600 {path}")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(key, f"{path}: invalid TOML: {exc}") from None
    current = _hex_key(doc.get("current"), f"{path}: current", key)
    previous: list[tuple[bytes, datetime | None]] = []
    for index, entry in enumerate(doc.get("previous", [])):
        where = f"{path}: previous[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(key, f"{where}: must be a table")
        previous.append((_hex_key(entry.get("key"), where, key), _moment(entry.get("valid_until"), where, key)))
    return ServerSecret(current, tuple(previous))


def _write(path: Path, current: str, previous: list[tuple[str, datetime]]) -> None:
    lines = [_HEADER, f'current = "{current}"']
    for key, until in previous:
        lines += ["", "[[previous]]", f'key = "{key}"', f"valid_until = {until.isoformat(timespec='seconds')}"]
    data = "\n".join(lines) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # created 0600 from the start: the key is never on disk where others could read it
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def create_secret_file(path: Path) -> bool:
    """Write a new secret to ``path`` unless one is there; True when it was created."""
    if path.exists():
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, generate_key(), [])
    except OSError as exc:
        raise ConfigError("secret_file", f"cannot create {path}: {exc.strerror or exc}") from None
    return True


def rotate_secret_file(path: Path, now: datetime, grace: timedelta = DEFAULT_GRACE) -> datetime:
    """Make a new current key; the old one stays valid until ``now + grace`` (returned). Keys whose
    grace period is over are dropped."""
    read_secret_file(path)  # an unsafe or malformed file is refused, not rotated
    until = now + grace
    text = tomllib.loads(path.read_text(encoding="utf-8"))
    kept = [(str(e["key"]), e["valid_until"]) for e in text.get("previous", []) if e["valid_until"] > now]
    try:
        _write(path, generate_key(), [(str(text["current"]), until), *kept])
    except OSError as exc:
        raise ConfigError("secret_file", f"cannot write {path}: {exc.strerror or exc}") from None
    return until


def secret_from_env(name: str) -> ServerSecret:
    """The secret in the environment variable ``name`` (and ``name_PREVIOUS`` while a rotation lasts)."""
    value = os.environ.get(name, "")
    if len(value) < MIN_ENV_SECRET:
        problem = "is not set" if not value else f"holds fewer than {MIN_ENV_SECRET} characters"
        raise ConfigError("secret_env", f"the environment variable {name} {problem}")
    previous = os.environ.get(f"{name}_PREVIOUS", "")
    return ServerSecret(value.encode("utf-8"), ((previous.encode("utf-8"), None),) if previous else ())

"""The on-call rota (值班表): who answers for urgent work when, read from a TOML file beside the config.

A weekly pattern of shifts plus dated overrides, all in the desk's time zone::

    [[weekly]]                      # a shift starting on each of `days` (ISO weekdays, 1 = Monday)
    who = "liu.yang@example.com"
    days = [1, 2, 3, 4, 5]
    start = "18:00"
    end = "09:00"                   # not after start: the next morning; equal to start: 24 hours

    [[override]]                    # a dated stand-in: replaces the weekly on-call of the same team
    who = "sun.hao@example.com"
    start = 2026-11-27T18:00:00
    end = 2026-11-30T09:00:00

Everyone named must be staff in the people directory: their team there says whose tickets they
answer for (``people/roles.py`` role ``oncall``). Errors name the file, the line and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from maildesk.people.directory import Directory, DirectoryError

_SECTIONS = ("weekly", "override")
_KEYS = {"weekly": ("who", "days", "start", "end"), "override": ("who", "start", "end")}


class RotaError(DirectoryError):
    """The on-call rota cannot be used; the message names the file, the line and the key."""


@dataclass(frozen=True)
class Shift:
    """A weekly shift: from ``start`` on each of ``days`` until ``end`` (the next day when not after start)."""

    who: str
    days: frozenset[int]
    start: time
    end: time

    def covers(self, local: datetime) -> bool:
        t, today, yesterday = local.time(), local.isoweekday(), (local - timedelta(days=1)).isoweekday()
        if self.end > self.start:
            return today in self.days and self.start <= t < self.end
        # crosses midnight (or lasts 24 hours): begun today, or begun yesterday and not over yet
        return (today in self.days and t >= self.start) or (yesterday in self.days and t < self.end)


@dataclass(frozen=True)
class Override:
    """A dated stand-in, in local times: [start, end)."""

    who: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Rota:
    """The weekly pattern and the overrides; ``on_call`` answers for one moment."""

    tz: ZoneInfo
    weekly: tuple[Shift, ...] = ()
    overrides: tuple[Override, ...] = ()

    def on_call(self, now: datetime, directory: Directory) -> list[str]:
        """Who is on call at ``now``: the overrides in force, and the weekly shifts of teams no override covers."""
        local = now.astimezone(self.tz).replace(tzinfo=None)
        standing_in = [o.who for o in self.overrides if o.start <= local < o.end]
        covered = {_team(directory, who) for who in standing_in}
        weekly = [s.who for s in self.weekly if s.covers(local) and _team(directory, s.who) not in covered]
        return list(dict.fromkeys([*standing_in, *weekly]))


def _team(directory: Directory, address: str) -> str:
    person = directory.get(address)
    return person.team if person else ""


def load_rota(path: Path, tz: ZoneInfo, directory: Directory) -> Rota:
    """Read the rota; any problem raises ``RotaError`` naming ``path``, the line and the key."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise RotaError(path, None, f"cannot read the on-call rota: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RotaError(path, None, "the on-call rota must be UTF-8") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RotaError(path, None, f"TOML syntax error: {exc}") from exc
    extra = [k for k in doc if k not in _SECTIONS]
    if extra:
        raise RotaError(path, None, f"unknown key {extra[0]!r} (expected [[weekly]] and [[override]] tables)")
    weekly = tuple(_shift(path, line, key, table, directory) for line, key, table in _tables(path, text, doc, "weekly"))
    overrides = tuple(_override(path, line, key, table, directory)
                      for line, key, table in _tables(path, text, doc, "override"))
    return Rota(tz, weekly, overrides)


def _tables(path: Path, text: str, doc: dict[str, object], name: str) -> Iterable[tuple[int, str, dict[str, object]]]:
    tables = doc.get(name, [])
    if not isinstance(tables, list):
        raise RotaError(path, None, f"{name!r} must be an array of tables: [[{name}]]")
    # tomllib keeps no positions: the n-th [[name]] header is the n-th table
    lines = [text.count("\n", 0, m.start()) + 1
             for m in re.finditer(rf"^[ \t]*\[\[[ \t]*{name}[ \t]*\]\]", text, re.MULTILINE)]
    for index, table in enumerate(tables):
        line = lines[index] if index < len(lines) else 0
        key = f"{name}[{index}]"
        if not isinstance(table, dict):
            raise RotaError(path, line or None, f"{key} must be a table")
        unknown = [k for k in table if k not in _KEYS[name]]
        if unknown:
            raise RotaError(path, line or None, f"{key}.{unknown[0]}: unknown key (known: {', '.join(_KEYS[name])})")
        missing = [k for k in _KEYS[name] if k not in table]
        if missing:
            raise RotaError(path, line or None, f"{key}.{missing[0]}: missing")
        yield line, key, table


def _who(path: Path, line: int, key: str, value: object, directory: Directory) -> str:
    person = directory.get(value) if isinstance(value, str) else None
    if person is None or not person.is_staff:
        raise RotaError(path, line or None, f"{key}.who: {value!r} is not staff in the people directory")
    return person.address


def _time(path: Path, line: int, key: str, value: object) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise RotaError(path, line or None, f"{key}: {value!r} is not a time HH:MM") from None


def _moment(path: Path, line: int, key: str, value: object) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is not None:
        raise RotaError(path, line or None,
                        f"{key}: {value!r} is not a local date and time YYYY-MM-DD HH:MM (the desk's zone)")
    return moment


def _shift(path: Path, line: int, key: str, table: dict[str, object], directory: Directory) -> Shift:
    days = table["days"]
    if not isinstance(days, list) or not days or not all(isinstance(d, int) and 1 <= d <= 7 for d in days):
        raise RotaError(path, line or None, f"{key}.days: ISO weekdays 1 (Monday) to 7 (Sunday), got {days!r}")
    return Shift(_who(path, line, key, table["who"], directory), frozenset(days),
                 _time(path, line, f"{key}.start", table["start"]), _time(path, line, f"{key}.end", table["end"]))


def _override(path: Path, line: int, key: str, table: dict[str, object], directory: Directory) -> Override:
    start = _moment(path, line, f"{key}.start", table["start"])
    end = _moment(path, line, f"{key}.end", table["end"])
    if end <= start:
        raise RotaError(path, line or None, f"{key}.end: {end:%Y-%m-%d %H:%M} is not after start")
    return Override(_who(path, line, key, table["who"], directory), start, end)

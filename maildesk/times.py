"""How the desk writes a moment: ISO-8601 with the desk's offset for machines, minutes for people.

Both take the desk's zone from the caller: stored times are UTC, every output is local.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO-8601 with the configured zone's offset (``2026-11-23T10:00:00+08:00``), or None."""
    return None if value is None else value.astimezone(tz).isoformat(timespec="seconds")


def local_minutes(value: datetime | None, tz: ZoneInfo) -> str:
    """``2026-11-23 10:00`` in the desk's zone, as mails and tables show a moment; "" for none."""
    return "" if value is None else f"{value.astimezone(tz):%Y-%m-%d %H:%M}"

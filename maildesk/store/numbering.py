"""Ticket numbers: PREFIX-YYYYMMDD-NNNN, a daily sequence that is unique under concurrency.

One upsert per number: ``INSERT ... ON CONFLICT DO UPDATE SET last = last + 1
RETURNING last``. PostgreSQL serialises it with the row lock; SQLite with the
write lock that every maildesk transaction takes at BEGIN.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from maildesk.store.models import TicketSequence


def day_key(prefix: str, now: datetime, tz: ZoneInfo) -> str:
    return f"{prefix}-{now.astimezone(tz):%Y%m%d}"


def next_ticket_number(session: Session, prefix: str, now: datetime, tz: ZoneInfo) -> str:
    """Allocate the next number of the local day of ``now`` inside the caller's transaction."""
    key = day_key(prefix, now, tz)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(TicketSequence)
        .values(day=key, last=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last": TicketSequence.last + 1})
        .returning(TicketSequence.last)
    )
    last = session.execute(stmt).scalar_one()
    return f"{key}-{last:04d}"

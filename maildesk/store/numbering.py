"""Ticket numbers: PREFIX-YYYYMMDD-NNNN, a daily sequence that is unique under concurrency.

One upsert per number: ``INSERT ... ON CONFLICT DO UPDATE SET last = last + 1
RETURNING last``. PostgreSQL serialises it with the row lock; SQLite with the
write lock that every maildesk transaction takes at BEGIN.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from maildesk.store.models import TicketSequence

_SEQUENCES = TicketSequence.metadata.tables[TicketSequence.__tablename__]
_UPSERTS: dict[str, ReturningInsert[tuple[int]]] = {}


def day_key(prefix: str, now: datetime, tz: ZoneInfo) -> str:
    return f"{prefix}-{now.astimezone(tz):%Y%m%d}"


def next_ticket_number(session: Session, prefix: str, now: datetime, tz: ZoneInfo) -> str:
    """Allocate the next number of the local day of ``now`` inside the caller's transaction."""
    key = day_key(prefix, now, tz)
    # on the connection, past the ORM's execute path and its autoflush: the sequence table is never written
    # through the ORM, so nothing pending matters
    conn = session.connection()
    last = conn.execute(_upsert(conn.dialect.name), {"day": key}).scalar_one()
    return f"{key}-{last:04d}"


def _upsert(dialect: str) -> ReturningInsert[tuple[int]]:
    """The upsert for ``dialect``, built once: building it costs more than running it."""
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = _UPSERTS[dialect] = (
            insert(_SEQUENCES)  # the table, not the entity: no ORM bulk-insert machinery for one row
            .values(day=bindparam("day"), last=1)
            .on_conflict_do_update(index_elements=["day"], set_={"last": _SEQUENCES.c.last + 1})
            .returning(_SEQUENCES.c.last)
        )
    return stmt

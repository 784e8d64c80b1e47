"""Ticket numbers: PREFIX-YYYYMMDD-NNNN, a daily sequence that is unique under concurrency and has no gaps.

A transaction's first number of a day is one upsert: ``INSERT ... ON CONFLICT DO UPDATE SET
last = last + 1 RETURNING last``. PostgreSQL serialises it with the row lock, SQLite with the
write lock that every maildesk transaction takes at BEGIN; either way no one else takes a number
of that day until the transaction ends. So its next numbers are counted in memory, and the
sequence's row is brought up to the last of them by one UPDATE just before the commit: intake
stores 25 mails to a transaction, and a round trip for each new ticket was a tenth of a
ticket's statements. A savepoint rolled back takes its numbers back with it, as the database
takes back its rows, so the numbers stay without gaps.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.dml import ReturningInsert

from maildesk.store.models import TicketSequence
from maildesk.store.rollbacks import rolled_back_to

_SEQUENCES = TicketSequence.metadata.tables[TicketSequence.__tablename__]
_UPSERTS: dict[str, ReturningInsert[tuple[int]]] = {}
_CATCH_UP = update(_SEQUENCES).where(_SEQUENCES.c.day == bindparam("key")).values(last=bindparam("taken"))
# session.info keys: {day key: [the row's last as written, the last number taken]} in the current transaction,
# and what that was when each savepoint began
_TAKEN = "maildesk.numbering.taken"
_AT_SAVEPOINT = "maildesk.numbering.at_savepoint"


def day_key(prefix: str, now: datetime, tz: ZoneInfo) -> str:
    return f"{prefix}-{now.astimezone(tz):%Y%m%d}"


def next_ticket_number(session: Session, prefix: str, now: datetime, tz: ZoneInfo) -> str:
    """Allocate the next number of the local day of ``now`` inside the caller's transaction."""
    key = day_key(prefix, now, tz)
    taken: dict[str, list[int]] = session.info.setdefault(_TAKEN, {})
    if key in taken:
        taken[key][1] += 1  # the row is locked for this transaction since its upsert: the next is ours
        return f"{key}-{taken[key][1]:04d}"
    # on the connection, past the ORM's execute path and its autoflush: the sequence table is never written
    # through the ORM, so nothing pending matters
    conn = session.connection()
    last = cast(int, conn.execute(_upsert(conn.dialect.name), {"day": key}).scalar_one())
    taken[key] = [last, last]
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


@event.listens_for(Session, "before_commit")
def _catch_up(session: Session) -> None:
    """The sequences' rows brought up to the last number taken, before the transaction or savepoint that took it
    commits (a savepoint rolled back later takes the row back to where its mark says it was)."""
    taken: dict[str, list[int]] = session.info.get(_TAKEN, {})
    behind = [{"key": key, "taken": last} for key, (written, last) in taken.items() if last > written]
    if behind:
        session.connection().execute(_CATCH_UP, behind)
        for pair in taken.values():
            pair[0] = pair[1]


@event.listens_for(Session, "after_transaction_create")
def _note_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested and session.info.get(_TAKEN):
        marks: dict[SessionTransaction, dict[str, list[int]]] = session.info.setdefault(_AT_SAVEPOINT, {})
        marks[transaction] = {key: list(pair) for key, pair in session.info[_TAKEN].items()}


@event.listens_for(Session, "after_soft_rollback")
def _take_back(session: Session, previous: SessionTransaction) -> None:
    """The numbers taken in the savepoint or transaction just rolled back are free again."""
    boundary = rolled_back_to(previous)
    if not boundary.nested:
        _clear(session)
        return
    marks = session.info.get(_AT_SAVEPOINT, {})
    session.info[_TAKEN] = marks.get(boundary, {})  # none noted: nothing was taken before the savepoint began


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # only at the end of the whole transaction: a savepoint's mark is read after its end (SQLAlchemy ends a
    # savepoint before it tells of its rollback)
    if transaction.parent is None:  # committed or rolled back: the next transaction upserts again
        _clear(session)


def _clear(session: Session) -> None:
    session.info.pop(_TAKEN, None)
    session.info.pop(_AT_SAVEPOINT, None)

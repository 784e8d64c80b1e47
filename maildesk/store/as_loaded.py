"""Core statements inside an ORM session, where intake's hot path goes past the ORM: a new row written by
one INSERT and kept in the session as if it had been loaded, and the rules that keep such shortcuts
equivalent (no row of the table pending; the autoflush done first).

An ORM flush of one new object costs about three times a plain ``INSERT … RETURNING id`` and
writes everything else pending with it. Where intake makes a row it goes on using as an object
(a ticket, its first message), it inserts the object's values itself and hands
the object to the session as persistent: its values count as loaded, later changes to it are
flushed as usual. A rollback that takes the row back takes the object out of the session too, as
the ORM does with the objects it wrote itself: SQLite gives the next row the same id, and the
session would refuse it beside the stale object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, event, inspect
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached

from maildesk.store.base import Base
from maildesk.store.rollbacks import rolled_back_to, within

# session.info key: the objects insert_as_loaded wrote in the session's current transaction, with the
# (innermost) transaction each was written in
_WRITTEN = "maildesk.as_loaded.written"


def none_pending(session: Session, model: type[Base]) -> bool:
    """True when no new ``model`` object waits for the session's flush: a row of that table written now keeps
    the order of ids (the order the rows were made in), which an INSERT past a pending one would not."""
    return not any(isinstance(o, model) for o in session.new)


def flushed_connection(session: Session) -> Connection:
    """The session's connection for a Core statement past the ORM's execute path (a good part of a small
    query's CPU), after the flush that path's autoflush would have done, so what the statement reads is
    the same."""
    if session.autoflush:
        session.flush()
    return session.connection()


def flush_for(session: Session, model: type[Base], columns: Iterable[str]) -> None:
    """Flush before a statement that reads ``columns`` of ``model``'s rows, as the ORM's autoflush would, but only if
    something pending could change what it reads: a ``model`` object new or deleted, or one of those columns changed.
    Anything else pending waits for a later flush, where the ORM writes a group's changes together (one executemany
    of UPDATEs for a batch's tickets, instead of one at each mail's query)."""
    if session.autoflush and _pending_for(session, model, list(columns)):
        session.flush()


def connection_reading(session: Session, model: type[Base], columns: Iterable[str]) -> Connection:
    """The session's connection for a Core statement that reads ``columns`` of ``model``'s rows (``flush_for``)."""
    flush_for(session, model, columns)
    return session.connection()


def _pending_for(session: Session, model: type[Base], columns: list[str]) -> bool:
    if any(isinstance(o, model) for o in session.new) or any(isinstance(o, model) for o in session.deleted):
        return True
    for obj in session.dirty:
        # an attribute set since the object was loaded or flushed has its old value kept here: a set to the same
        # value counts too, a flush more at worst (the attribute's history would tell, at many times the cost)
        if isinstance(obj, model) and not inspect(obj).committed_state.keys().isdisjoint(columns):
            return True
    return False


def bound_values(table: Table, prefix: str, *, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each column of ``table`` but its key, as the bind parameter <prefix><column> (how ``insert_all_as_loaded``
    names an object's values), or as ``given`` has it (the id a statement's earlier INSERT returned)."""
    return {c.key: given[c.key] if given and c.key in given else bindparam(f"{prefix}{c.key}", type_=c.type)
            for c in table.columns if not c.primary_key}


def insert_as_loaded(session: Session, obj: Base, insert: Any) -> bool:
    """Write the new ``obj`` with ``insert`` (an ``INSERT … RETURNING id`` of its table, taking ``obj``'s values by
    their column names) and make it the session's own as if loaded; False, and ``obj`` left out, when the INSERT
    wrote nothing (ON CONFLICT DO NOTHING). Columns not set on ``obj`` are written as NULL, so that nothing is left
    to load later. Nothing pending is flushed first: the caller knows the row needs none of it."""
    return insert_all_as_loaded(session, [(obj, "")], insert)


def insert_all_as_loaded(session: Session, objs: Sequence[tuple[Base, str]], insert: Any, *,
                         extra: Mapping[str, Any] | None = None) -> bool:
    """``insert_as_loaded`` for a statement that writes several new objects and returns their ids in one row, in
    the order of ``objs``: each object's values named after its prefix, and ``extra`` besides (values the
    statement takes that are no object's, such as a new ticket's first events)."""
    values: dict[str, Any] = {}
    for obj, prefix in objs:
        table: Table = obj.__table__  # type: ignore[assignment]
        for column in table.columns:
            if not column.primary_key and column.key not in obj.__dict__:
                setattr(obj, column.key, None)
        values.update({prefix + c.key: getattr(obj, c.key) for c in table.columns if c.key in obj.__dict__})
    if extra:
        values.update(extra)
    with session.no_autoflush:
        ids = session.connection().execute(insert, values).first()
    if ids is None:
        return False
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None, "the INSERT above began one"
    written: list[tuple[SessionTransaction, Base]] = session.info.setdefault(_WRITTEN, [])
    for (obj, _prefix), row_id in zip(objs, ids, strict=True):
        obj.id = row_id  # type: ignore[attr-defined]
        make_transient_to_detached(obj)
        session.add(obj)
        written.append((transaction, obj))
    return True


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous: SessionTransaction) -> None:
    """Out of the session: the objects written in the savepoint or transaction just rolled back."""
    written: list[tuple[SessionTransaction, Base]] | None = session.info.get(_WRITTEN)
    if not written:
        return
    boundary = rolled_back_to(previous)
    kept = []
    for transaction, obj in written:
        if not within(transaction, boundary):
            kept.append((transaction, obj))
        elif obj in session:
            session.expunge(obj)
    written[:] = kept


@event.listens_for(Session, "after_transaction_end")
def _forget_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed or rolled back: nothing of it can be taken back any more
        session.info.pop(_WRITTEN, None)

"""Mails queued without a dedup key, written when their transaction commits: a group's all at once.

A new ticket queues two mails, the acknowledgement and the assignment, each an outbox row with a
copy among the ticket's messages. Written as they were queued, that was two to four statements a
ticket; kept until the commit, a transaction's mails are one executemany for the outbox rows and
one for the copies, however many there are.

Nothing may notice the wait. Before any statement that reads or writes the outbox or the messages
(a thread's ids, a briefing's history, a notice with a dedup key, the ORM flushing a message), the
mails pending are written first, in the order they were queued: ids keep that order, and each
ticket's messages theirs. The one statement let past is the one that writes a new ticket's first
message (run with ``NEW_TICKET``): no mail queued before it can be about a ticket not yet made.
The guard sees every statement run with ``execute``, the ORM's included; ``exec_driver_sql`` passes
unseen, and maildesk runs none on a session's connection.

A rollback takes back what was queued in the part rolled back. What an earlier part queued and a
statement inside the rolled-back part wrote is pending again.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, TableClause, TextClause, event, insert
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql import visitors

from maildesk.store.models import Message, OutboxMail
from maildesk.store.rollbacks import rolled_back_to, within

# execution option of the statement that writes a new ticket's first message (see above)
NEW_TICKET_OPTION = "maildesk_new_ticket"
NEW_TICKET: Mapping[str, Any] = {NEW_TICKET_OPTION: True}

_OUTBOX = OutboxMail.metadata.tables[OutboxMail.__tablename__]
_MESSAGES = Message.metadata.tables[Message.__tablename__]
_WATCHED = frozenset({_OUTBOX.name, _MESSAGES.name})
_INSERT_OUTBOX = insert(_OUTBOX)
_INSERT_MESSAGES = insert(_MESSAGES)
_WATCHED_WORD = re.compile(rf"\b({'|'.join(sorted(_WATCHED))})\b", re.IGNORECASE)

# session.info key: the _Pending of the session's current transaction
_KEY = "maildesk.pending_mail"


@dataclass
class _Mail:
    queued_in: SessionTransaction
    outbox: dict[str, Any]
    message: dict[str, Any] | None
    written_in: SessionTransaction | None = None


@dataclass
class _Pending:
    session: weakref.ref[Session]
    queued: list[_Mail] = field(default_factory=list)
    written: list[_Mail] = field(default_factory=list)  # kept until the transaction ends, for a rollback
    writing: bool = False


# the connection each session's pending mails go out on, as the engine's events see it
_ON_CONNECTION: weakref.WeakKeyDictionary[Connection, _Pending] = weakref.WeakKeyDictionary()


def queue_at_commit(session: Session, outbox: dict[str, Any], message: dict[str, Any] | None) -> None:
    """Write an outbox row (``outbox``: its values) and the ticket's copy (``message``, or None) when the
    session's transaction commits, or before a statement that reads either table. The ticket's id must be in
    ``message`` already, and the mail must have no dedup key (nothing can then refuse it)."""
    pending: _Pending | None = session.info.get(_KEY)
    connection = session.connection()
    if pending is None:
        pending = session.info[_KEY] = _Pending(weakref.ref(session))
    _ON_CONNECTION[connection] = pending
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None, "session.connection() began one"
    pending.queued.append(_Mail(transaction, outbox, message))


def write_pending(session: Session) -> None:
    """Write the session's pending mails now."""
    pending: _Pending | None = session.info.get(_KEY)
    if pending is not None and pending.queued:
        _write(session.connection(), pending)


def _write(connection: Connection, pending: _Pending) -> None:
    session = pending.session()
    assert session is not None, "a session's mails are written before it ends"
    mails, pending.queued = pending.queued, []
    transaction = session.get_nested_transaction() or session.get_transaction()
    # counted as written before the statements run: should one fail, the rollback that follows (of the savepoint
    # or transaction around it) puts back what it queued before, as for mails really written there
    for m in mails:
        m.written_in = transaction
    pending.written.extend(mails)
    pending.writing = True  # these two statements must not set the guard off again
    try:
        connection.execute(_INSERT_OUTBOX, [m.outbox for m in mails])
        copies = [m.message for m in mails if m.message is not None]
        if copies:
            connection.execute(_INSERT_MESSAGES, copies)
    finally:
        pending.writing = False


# statement → whether it names the outbox or the messages, worked out once for each statement object
_NAMES_WATCHED: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _names_watched(statement: Any) -> bool:
    if isinstance(statement, TextClause):  # SQL as written: the tables by name
        return _WATCHED_WORD.search(statement.text) is not None
    try:
        return _NAMES_WATCHED[statement]
    except KeyError:
        pass
    except TypeError:  # not weakly referable: worked out each time
        return _tables_watched(statement)
    named = _NAMES_WATCHED[statement] = _tables_watched(statement)
    return named


def _tables_watched(statement: Any) -> bool:
    return any(isinstance(e, TableClause) and e.name in _WATCHED for e in visitors.iterate(statement))


@event.listens_for(Engine, "before_execute")
def _before_execute(connection: Connection, statement: Any, multiparams: Any, params: Any,
                    execution_options: Mapping[str, Any]) -> None:
    """The guard: pending mails go out before a statement that reads or writes their tables."""
    pending = _ON_CONNECTION.get(connection)
    if pending is None or not pending.queued or pending.writing:
        return
    if execution_options.get(NEW_TICKET_OPTION):
        return
    options = getattr(statement, "get_execution_options", None)
    if options is not None and options().get(NEW_TICKET_OPTION):
        return
    if _names_watched(statement):
        _write(connection, pending)


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    """Pending mails go out as the transaction (or a savepoint) commits, before the ORM's last flush: a message it
    holds was made after them (``queue_mail`` flushes the ones made before), and the guard would put them first."""
    write_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _take_back(session: Session, previous: SessionTransaction) -> None:
    """A rollback takes back the mails queued in what it rolled back; what it took back of mails queued before
    it is pending again, ahead of those queued since."""
    pending: _Pending | None = session.info.get(_KEY)
    if pending is None:
        return
    boundary = rolled_back_to(previous)
    kept: list[_Mail] = []
    again: list[_Mail] = []
    for m in pending.written:
        if not within(m.written_in, boundary):
            kept.append(m)
        elif not within(m.queued_in, boundary):
            m.written_in = None
            again.append(m)
    pending.written = kept
    pending.queued = again + [m for m in pending.queued if not within(m.queued_in, boundary)]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (everything written) or rolled back (nothing kept)
        session.info.pop(_KEY, None)

"""How many acknowledgements a sender got in the last hour: the limit that keeps a flood from being answered.

Intake reads the acknowledgements of a whole group of mails' senders in one query (``read_acks_ahead``) and
counts the ones it queues on top (``ack_queued``), instead of a count for each new ticket: a round trip a mail
on PostgreSQL. What it read is a memo of its transaction (``store/transaction_memo``): a savepoint rolled back
may take an acknowledgement back, and then each count asks the database again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from maildesk.desk.context import Context
from maildesk.store.models import OutboxMail, Ticket
from maildesk.store.transaction_memo import recall, remember

WINDOW = timedelta(hours=1)

_ACKS_SINCE = (  # built once: building it costs more than running it
    select(func.count()).select_from(OutboxMail).join(Ticket, Ticket.id == OutboxMail.ticket_id)
    .where(OutboxMail.kind == "ack", Ticket.reporter == bindparam("sender"),
           OutboxMail.created_at > bindparam("since"))
)
_ACK_TIMES = (
    select(Ticket.reporter, OutboxMail.created_at).join(Ticket, Ticket.id == OutboxMail.ticket_id)
    .where(OutboxMail.kind == "ack", Ticket.reporter.in_(bindparam("senders", expanding=True)),
           OutboxMail.created_at > bindparam("since"))
)
_MEMO = "maildesk.acks"


@dataclass
class _AcksRead:
    """The acknowledgements each sender got after ``since``, as read and as queued since in this transaction."""

    since: datetime
    times: dict[str, list[datetime]]


def read_acks_ahead(session: Session, senders: Iterable[str], now: datetime) -> None:
    """Read, in one query, the acknowledgements that ``senders`` got in the hour before ``now``, for the counts of
    this transaction. Each sender's are few: intake queues no more than the limit an hour."""
    since = now - WINDOW
    times: dict[str, list[datetime]] = {sender: [] for sender in senders}
    if not times:
        return
    # past the ORM's execute path: no ORM object pending changes the count (outbox rows are written past the ORM,
    # and the mails waiting for the commit are written before this statement by ``pending_mail``'s guard)
    for reporter, at in session.connection().execute(_ACK_TIMES, {"senders": list(times), "since": since}):
        times[reporter].append(at)
    remember(session, _MEMO, _AcksRead(since, times))


def acks_in_last_hour(ctx: Context, sender: str) -> int:
    """Acks to ``sender`` queued in the last hour, earlier mails of this batch included: from what the group read
    ahead where it has the sender, else counted by the database.

    The count goes without an autoflush: the acks of earlier mails in the batch are never ORM objects
    (``outbox.queue_mail`` writes outbox rows past the ORM, and the ones waiting for the commit are
    written before any statement that reads the outbox: ``outbound/pending_mail``), and the pending
    changes (tickets' counters and deadlines, events) do not change the count; they go out in one
    flush later.
    So the count goes to the session's connection, past the ORM's execute path (which would
    also cost the no_autoflush block): the same statement, a third less CPU.
    """
    since = ctx.now - WINDOW
    read: _AcksRead | None = recall(ctx.session, _MEMO)
    if read is not None and sender in read.times and since >= read.since:
        return sum(1 for at in read.times[sender] if at > since)
    return ctx.session.connection().scalar(_ACKS_SINCE, {"sender": sender, "since": since}) or 0


def ack_queued(ctx: Context, reporter: str) -> None:
    """An acknowledgement to ``reporter`` was just queued in this transaction: count it."""
    read: _AcksRead | None = recall(ctx.session, _MEMO)
    if read is not None and reporter in read.times:
        read.times[reporter].append(ctx.now)

"""The outbox: every outgoing mail is a row written in the transaction that caused it.

``queue_mail`` composes the final bytes once (so a retry resends the same
Message-ID and body) and, for mails about a ticket, records them as outgoing
messages of the ticket so replies to them thread back. A ``dedup_key`` makes a
notice idempotent: a second attempt to queue the same (ticket, kind, level,
period) does nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maildesk.config import Settings
from maildesk.outbound.compose import compose, make_message_id
from maildesk.store.as_loaded import bound_values, insert_as_loaded, none_pending
from maildesk.store.models import Message, OutboxMail, Ticket

LOOP_HEADER_VALUE = "maildesk"


@dataclass(frozen=True)
class Outgoing:
    """One mail to queue."""

    kind: str  # ack, relay, progress, reminder, escalation, digest, survey, confirm, assignment, ...
    to: Sequence[str]
    subject: str
    text: str
    html: str | None = None
    cc: Sequence[str] = ()
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    reply_to: str | None = None
    dedup_key: str | None = None
    # auto-replied for answers to a person's mail, auto-generated for the rest; None for a person's words
    auto_submitted: str | None = "auto-generated"
    attachments: Sequence[tuple[str, str, bytes]] = ()
    inline_images: Sequence[tuple[str, str, bytes]] = ()
    record_on_ticket: bool = True  # also an outgoing message in the ticket's history
    extra_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Composed:
    """A mail composed for the outbox and not stored yet: the values of its outbox row and, for a mail recorded
    on its ticket, of its message row (every column but the id, so rows can be written many at once)."""

    outbox: dict[str, Any]
    message: dict[str, Any] | None

    @property
    def message_id(self) -> str:
        return str(self.outbox["message_id"])


def compose_for_outbox(settings: Settings, mail: Outgoing, *, now: datetime, ticket: Ticket | None = None) -> Composed:
    """The final bytes of ``mail`` with a new Message-ID, and the rows that store it; nothing is written."""
    message_id = make_message_id(settings.mail_domain, f"{mail.kind}.{uuid.uuid4().hex}")
    headers = dict(mail.extra_headers)
    if ticket is not None:
        headers.setdefault("X-Maildesk-Ticket", ticket.number)
    raw = compose(
        from_addr=(settings.support_name, settings.support_address),
        to=list(mail.to), cc=list(mail.cc), subject=mail.subject, text=mail.text, html=mail.html,
        message_id=message_id, in_reply_to=mail.in_reply_to, references=list(mail.references),
        auto_submitted=mail.auto_submitted, loop_header_value=LOOP_HEADER_VALUE, reply_to=mail.reply_to,
        extra_headers=headers, attachments=list(mail.attachments), inline_images=list(mail.inline_images),
        date=now,
    )
    outbox = dict(
        ticket_id=ticket.id if ticket is not None else None, kind=mail.kind, sender=settings.support_address,
        to_addrs=[*mail.to, *mail.cc], subject=mail.subject, text=mail.text, message_id=message_id, raw=raw,
        dedup_key=mail.dedup_key, status="pending", attempts=0, next_attempt_at=now, last_error="",
        claimed_by=None, claimed_until=None, created_at=now, sent_at=None,
    )
    message = None
    if ticket is not None and mail.record_on_ticket:
        message = dict(
            ticket_id=ticket.id, direction="out", kind=mail.kind, message_id=message_id,
            in_reply_to=mail.in_reply_to, from_addr=settings.support_address, from_name=settings.support_name,
            to_addrs=list(mail.to), cc_addrs=list(mail.cc), subject=mail.subject, text=mail.text,
            raw=None, defects=[], rule_hits=[], created_at=now,
        )
    return Composed(outbox, message)


def queue_mail(
    session: Session, settings: Settings, mail: Outgoing, *, now: datetime, ticket: Ticket | None = None,
) -> OutboxMail | None:
    """Store ``mail`` for sending; None when its dedup_key was queued before."""
    if mail.dedup_key is not None and session.scalar(_QUEUED_BEFORE, {"key": mail.dedup_key}):
        return None
    composed = compose_for_outbox(settings, mail, now=now, ticket=ticket)
    row = OutboxMail(**composed.outbox)
    copied = False  # the ticket's copy of the mail written in the same statement as the row
    if none_pending(session, OutboxMail):
        # One INSERT now instead of an ORM insert at the next flush (and, for a notice with a
        # dedup key, a savepoint around it: three statements more). Two daemons may race to queue
        # the same notice: the unique key settles it, the INSERT doing nothing on a clash. The row
        # becomes the session's own as if loaded, so callers use it as before. Only with no other
        # outbox row pending, so that ids keep the order in which the mails were written.
        if (ticket is not None and ticket.id is not None and composed.message is not None
                and session.get_bind().dialect.name == "postgresql" and none_pending(session, Message)):
            # PostgreSQL: the copy goes in the same statement, a round trip less a mail (a new ticket queues
            # two); with a dedup key queued before, neither is written
            copy = {f"m_{key}": value for key, value in composed.message.items()}
            written = insert_as_loaded(session, row, _QUEUED_WITH_COPY[mail.dedup_key is not None], prefix="o_",
                                       extra={**copy, "m_ticket_id": ticket.id})
            copied = True
        else:
            insert_row = _INSERT_OUTBOX if mail.dedup_key is None else _insert_unless_queued(session)
            written = insert_as_loaded(session, row, insert_row)
        if not written:
            return None
    elif mail.dedup_key is not None:
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            return None
    else:
        session.add(row)
    if ticket is not None and composed.message is not None:
        if not copied:
            # the ticket's id as of now: a savepoint above may have flushed a ticket that was new when composed
            values = {**composed.message, "ticket_id": ticket.id}
            if ticket.id is not None and none_pending(session, Message):
                # Nothing reads this row back as an object: a plain INSERT now costs a third of an ORM
                # insert with RETURNING. With no Message waiting to be flushed, ids keep the order in
                # which the mails were written; the pending rest is flushed later as usual.
                session.connection().execute(_INSERT_MESSAGE, values)
            else:
                session.add(Message(**values))
        ticket.message_count = (ticket.message_count or 0) + 1
    return row


_INSERT_MESSAGE = insert(Message.metadata.tables[Message.__tablename__])
_OUTBOX = OutboxMail.metadata.tables[OutboxMail.__tablename__]
_INSERT_OUTBOX = insert(_OUTBOX).returning(_OUTBOX.c.id)
_INSERT_UNLESS_QUEUED = {
    "sqlite": sqlite_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(_OUTBOX.c.id),
    "postgresql": pg_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(_OUTBOX.c.id),
}


def _insert_unless_queued(session: Session) -> Any:
    return _INSERT_UNLESS_QUEUED[session.get_bind().dialect.name]


def _outbox_and_copy(unless_queued: bool) -> Any:
    """PostgreSQL: ``WITH queued AS (INSERT INTO outbox … RETURNING id), recorded AS (INSERT INTO messages SELECT …
    FROM queued) SELECT id FROM queued``, the outbox row's values named o_<column>, the message's m_<column>.
    Both INSERTs run whatever the outer SELECT reads; no outbox row (a dedup key queued before), no message."""
    queued = pg_insert(_OUTBOX).values(bound_values(_OUTBOX, "o_"))
    if unless_queued:
        queued = queued.on_conflict_do_nothing(index_elements=["dedup_key"])
    queued_cte = queued.returning(_OUTBOX.c.id).cte("queued")
    messages = Message.metadata.tables[Message.__tablename__]
    copy = bound_values(messages, "m_")
    recorded = insert(messages).from_select(list(copy), select(*copy.values()).select_from(queued_cte)).cte("recorded")
    return select(queued_cte.c.id).add_cte(recorded)


# built once, for a mail with a dedup key (True) and without
_QUEUED_WITH_COPY = {unless: _outbox_and_copy(unless) for unless in (False, True)}


# built once: building a select cost more than SQLite takes to run it, and sweeps run these once a mail
_QUEUED_BEFORE = select(OutboxMail.id).where(OutboxMail.dedup_key == bindparam("key"))
_FIRST_ID = select(Message.message_id).where(Message.ticket_id == bindparam("ticket_id")).order_by(Message.id).limit(1)
_LAST_ID = (select(Message.message_id).where(Message.ticket_id == bindparam("ticket_id"))
            .order_by(Message.id.desc()).limit(1))


def thread_ids(session: Session, ticket: Ticket) -> tuple[str | None, list[str]]:
    """In-Reply-To and References for a new mail on the ticket: the first and the latest messages."""
    ids = {"ticket_id": ticket.id}
    return thread_of(session.scalar(_FIRST_ID, ids), session.scalar(_LAST_ID, ids))


def thread_of(first: str | None, last: str | None) -> tuple[str | None, list[str]]:
    """In-Reply-To and References answering a conversation whose first and latest messages are these."""
    return last, [m for m in dict.fromkeys([first, last]) if m]

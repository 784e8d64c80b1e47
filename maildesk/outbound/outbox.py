"""The outbox: every outgoing mail is a row written in the transaction that caused it.

``queue_mail`` composes the final bytes once (so a retry resends the same
Message-ID and body) and, for mails about a ticket, records them as outgoing
messages of the ticket so replies to them thread back. A ``dedup_key`` makes a
notice idempotent: a second attempt to queue the same (ticket, kind, level,
period) does nothing. A mail without one is written with the transaction's other
mails as it commits (``pending_mail``).
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
from sqlalchemy.orm import Session

from maildesk.config import Settings
from maildesk.outbound.compose import compose, make_message_id
from maildesk.outbound.pending_mail import queue_at_commit
from maildesk.store.as_loaded import bound_values, none_pending
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


@dataclass(frozen=True)
class QueuedMail:
    """A mail put in the outbox: what its caller may tell of it (the row itself is written with the transaction)."""

    kind: str
    message_id: str
    to_addrs: list[str]
    raw: bytes


def queue_mail(
    session: Session, settings: Settings, mail: Outgoing, *, now: datetime, ticket: Ticket | None = None,
) -> QueuedMail | None:
    """Store ``mail`` for sending; None when its dedup_key was queued before.

    A mail without a dedup key is written when the transaction commits, with the rest of its mails
    (``pending_mail``); one with a key is written now, for the unique key to say whether it was queued
    before (two daemons may race to queue the same notice: the INSERT does nothing on a clash)."""
    if mail.dedup_key is not None and session.scalar(_QUEUED_BEFORE, {"key": mail.dedup_key}):
        return None
    if (ticket is not None and ticket.id is None) or not none_pending(session, Message):
        # the ticket's id for the rows, and the messages made before this mail written before its copy
        session.flush()
    composed = compose_for_outbox(settings, mail, now=now, ticket=ticket)
    if mail.dedup_key is None:
        queue_at_commit(session, composed.outbox, composed.message)
    elif not _write_unless_queued(session, composed):
        return None
    if ticket is not None and composed.message is not None:
        ticket.message_count = (ticket.message_count or 0) + 1
    return QueuedMail(mail.kind, composed.message_id, list(composed.outbox["to_addrs"]), composed.outbox["raw"])


def _write_unless_queued(session: Session, composed: Composed) -> bool:
    """Write the row of a mail with a dedup key, and its copy on the ticket; False when the key was queued before."""
    connection = session.connection()
    if composed.message is not None and connection.dialect.name == "postgresql":
        # the copy in the same statement: a round trip less
        values = {**{f"o_{key}": value for key, value in composed.outbox.items()},
                  **{f"m_{key}": value for key, value in composed.message.items()}}
        return connection.execute(_QUEUED_WITH_COPY, values).first() is not None
    if connection.execute(_INSERT_UNLESS_QUEUED[connection.dialect.name], composed.outbox).first() is None:
        return False
    if composed.message is not None:
        connection.execute(_INSERT_MESSAGE, composed.message)
    return True


_INSERT_MESSAGE = insert(Message.metadata.tables[Message.__tablename__])
_OUTBOX = OutboxMail.metadata.tables[OutboxMail.__tablename__]
_INSERT_UNLESS_QUEUED = {
    "sqlite": sqlite_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(_OUTBOX.c.id),
    "postgresql": pg_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(_OUTBOX.c.id),
}


def _outbox_and_copy() -> Any:
    """PostgreSQL: ``WITH queued AS (INSERT INTO outbox … ON CONFLICT DO NOTHING RETURNING id), recorded AS (INSERT
    INTO messages SELECT … FROM queued) SELECT id FROM queued``, the outbox row's values named o_<column>, the
    message's m_<column>. Both INSERTs run whatever the outer SELECT reads; no outbox row (the dedup key queued
    before), no message."""
    queued = pg_insert(_OUTBOX).values(bound_values(_OUTBOX, "o_"))
    queued_cte = queued.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(_OUTBOX.c.id).cte("queued")
    messages = Message.metadata.tables[Message.__tablename__]
    copy = bound_values(messages, "m_")
    recorded = insert(messages).from_select(list(copy), select(*copy.values()).select_from(queued_cte)).cte("recorded")
    return select(queued_cte.c.id).add_cte(recorded)


_QUEUED_WITH_COPY = _outbox_and_copy()  # built once


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

"""SQLAlchemy models: the whole persistent state of maildesk.

Times are stored as UTC without offset and come back as aware UTC datetimes (``store/base.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from maildesk.store.base import Base, UTCDateTime


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="new")
    priority: Mapped[str] = mapped_column(String(10))
    type: Mapped[str] = mapped_column(String(40))
    team: Mapped[str | None] = mapped_column(String(60))
    assignee: Mapped[str | None] = mapped_column(String(320))
    lead: Mapped[str | None] = mapped_column(String(320))  # 牵头人 of a collaboration ticket
    reporter: Mapped[str] = mapped_column(String(320))
    reporter_name: Mapped[str] = mapped_column(String(200), default="")
    reporter_department: Mapped[str] = mapped_column(String(200), default="")
    reporter_employee_id: Mapped[str] = mapped_column(String(60), default="")
    reporter_extension: Mapped[str] = mapped_column(String(60), default="")
    system: Mapped[str] = mapped_column(String(200), default="")  # system or device concerned
    impact: Mapped[str] = mapped_column(Text, default="")  # 影响范围
    # 发生时间 as the reporter or staff wrote it; occurred_at is the moment it names, where it names one clearly
    occurred: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(20), default="email")
    language: Mapped[str] = mapped_column(String(5), default="zh")  # of the mails we write to the reporter
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    watchers: Mapped[list[str]] = mapped_column(JSON, default=list)
    # the reply-address token of tickets made before the server secret (maildesk.tokens): proves nothing
    reply_token: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SLA: deadlines are kept on the row so the sweep is a handful of indexed queries
    start_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    # the ticket this one was merged into (#merge): replies to this one land there
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    messages: Mapped[list[Message]] = relationship(
        back_populates="ticket", order_by="Message.id", lazy="raise_on_sql"
    )
    events: Mapped[list[Event]] = relationship(order_by="Event.id", lazy="raise_on_sql")

    __table_args__ = (
        Index("ix_tickets_status", "status"),
        Index("ix_tickets_reporter", "reporter"),
        Index("ix_tickets_assignee_status", "assignee", "status"),
        Index("ix_tickets_created_at", "created_at"),
        Index("ix_tickets_next_escalation_at", "next_escalation_at"),
        Index("ix_tickets_next_progress_at", "next_progress_at"),
        Index("ix_tickets_resolve_due", "resolve_due"),
        # the SLA sweep: progress due or unscheduled per status, reminders, surveys after close
        Index("ix_tickets_status_next_progress_at", "status", "next_progress_at"),
        Index("ix_tickets_response_due", "response_due"),
        Index("ix_tickets_start_due", "start_due"),
        Index("ix_tickets_closed_at", "closed_at"),
    )


class TicketSequence(Base):
    """The last number handed out per prefix and day; one row per day."""

    __tablename__ = "ticket_sequences"

    day: Mapped[str] = mapped_column(String(40), primary_key=True)  # e.g. "TS-20261122"
    last: Mapped[int] = mapped_column(Integer)


class Message(Base):
    """One mail on a ticket, either way; incoming mail keeps its raw bytes."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    kind: Mapped[str] = mapped_column(String(20), default="normal")  # normal, note, auto_reply, ...
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    to_addrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    cc_addrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    defects: Mapped[list[str]] = mapped_column(JSON, default=list)
    rule_hits: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket | None] = relationship(back_populates="messages", lazy="raise_on_sql")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id", lazy="raise_on_sql")

    __table_args__ = (Index("ix_messages_ticket_id", "ticket_id"),)


class Blob(Base):
    """Attachment content as intake stored it before migration 0009, once per distinct content (sha256). Since
    then an attachment's content is decoded from its mail's raw bytes when wanted (``desk/attachment_bytes``)."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))  # the content's digest: which of its mail's parts it is

    __table_args__ = (Index("ix_attachments_message_id", "message_id"),)


class Event(Base):
    """The audit trail: every change to a ticket, by whom, from what to what."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(40))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_events_ticket_id", "ticket_id"),)


class TicketLink(Base):
    """A relation between two tickets: same incident, follow-up of, merged into, split from."""

    __tablename__ = "ticket_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(20))

    __table_args__ = (UniqueConstraint("ticket_id", "other_id", "kind"),)


class Team(Base):
    """Per-team assignment state (the round-robin cursor survives restarts)."""

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_assignee: Mapped[str | None] = mapped_column(String(320))


class ProcessedSource(Base):
    """A source message (mailbox UID or file) that has been handled: the exactly-once key."""

    __tablename__ = "processed_sources"

    source_id: Mapped[str] = mapped_column(String(500), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20))  # stored, duplicate, quarantined
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)  # kept for quarantined mail
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMail(Base):
    """An outgoing mail, stored in the transaction that caused it, sent later."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(20))
    sender: Mapped[str] = mapped_column(String(320))
    to_addrs: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # (ticket, kind, level, period): a second attempt to queue the same notice is a no-op
    dedup_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # the flusher sending the row (host:pid:random) and until when, unless it renews the lease
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_ticket_kind", "ticket_id", "kind"),
        Index("ix_outbox_claimed_by", "claimed_by"),  # a flusher renews its rows without reading the outbox
    )


class RuleHit(Base):
    """Which burst rule a new ticket matched, and for which key (department or "*"): counted per window."""

    __tablename__ = "rule_hits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    rule: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_rule_hits_rule_key_at", "rule", "key", "at"),)


# the other model modules, so that whoever uses Base sees the whole schema (they import Base from here)
from maildesk.store import (  # noqa: E402, F401
    models_conversation,
    models_kb,
    models_ops,
    models_people,
    models_requirements,
)

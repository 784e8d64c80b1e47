"""Saving an incoming mail: the message row with its raw bytes, and attachments stored once by content."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from maildesk.ingest.mail import InboundMail
from maildesk.store.bigbytes import write_big, written_later
from maildesk.store.models import Attachment, Blob, Message, Ticket

_STORED = "maildesk.stored_inbound"
# whether a content is stored already, without loading it (an attachment may be 50 MB)
_BLOB_KNOWN = select(Blob.sha256).where(Blob.sha256 == bindparam("digest"))
_BLOBS = Blob.metadata.tables[Blob.__tablename__]
# values as parameters, not in the statement: SQLAlchemy's statement cache would keep them alive
_INSERT_BLOB = insert(_BLOBS).values(sha256=bindparam("digest"), data=bindparam("data"))
_MESSAGES = Message.metadata.tables[Message.__tablename__]
# Attachment.content_type is String(200): PostgreSQL refuses more, SQLite would keep it; cut on both
_CONTENT_TYPE_CHARS = 200


def _stored(session: Session) -> dict[str, Message]:
    stored: dict[str, Message] = session.info.setdefault(_STORED, {})
    return stored


def take_stored(session: Session, message_id: str) -> Message | None:
    """The message ``store_inbound`` saved under ``message_id`` in this session, forgotten once taken.

    Lets the pipeline link its processed-source row to the stored mail without selecting it again;
    call it once before routing a mail too, so an entry left by a mail rolled back earlier never counts.
    """
    return _stored(session).pop(message_id, None)


def store_inbound(
    session: Session, mail: InboundMail, *, ticket: Ticket | None, kind: str, text: str, now: datetime,
    rule_hits: list[str] | None = None,
) -> Message:
    """The message row (raw bytes kept, so nothing is ever lost) and its attachments."""
    raw_later = written_later(session, mail.raw)
    message = Message(
        ticket_id=ticket.id if ticket is not None else None, direction="in", kind=kind,
        message_id=mail.message_id, in_reply_to=mail.in_reply_to,
        from_addr=mail.sender, from_name=mail.from_addr.name if mail.from_addr else "",
        to_addrs=[a.addr for a in mail.to], cc_addrs=[a.addr for a in mail.cc], subject=mail.subject,
        text=text, raw=None if raw_later else mail.raw, defects=list(mail.defects),
        rule_hits=list(rule_hits or []), created_at=now,
    )
    session.add(message)
    session.flush()
    if raw_later:
        write_big(session, _MESSAGES, "raw", _MESSAGES.c.id == message.id, mail.raw)
        set_committed_value(message, "raw", mail.raw)
    _stored(session)[mail.message_id] = message
    for part in mail.attachments:
        digest = part.sha256
        if session.scalar(_BLOB_KNOWN, {"digest": digest}) is None:
            data_later = written_later(session, part.data)
            session.execute(_INSERT_BLOB, {"digest": digest, "data": b"" if data_later else part.data})
            if data_later:
                write_big(session, _BLOBS, "data", _BLOBS.c.sha256 == digest, part.data)
        session.add(Attachment(message_id=message.id, filename=part.filename or "attachment",
                               content_type=part.content_type[:_CONTENT_TYPE_CHARS], size=part.size, sha256=digest))
    if ticket is not None:
        ticket.message_count = (ticket.message_count or 0) + 1
        ticket.last_public_at = now
        ticket.updated_at = now
    return message

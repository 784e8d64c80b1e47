"""Keeping an incoming mail: the message row with its raw bytes, and a row for each attachment (its name, type,
size and digest; the content is in the mail's bytes, ``desk/attachment_bytes``)."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm.attributes import set_committed_value

from maildesk.desk.context import Context
from maildesk.mail import InboundMail
from maildesk.outbound.pending_mail import NEW_TICKET
from maildesk.store.as_loaded import insert_as_loaded, none_pending
from maildesk.store.bigbytes import write_big, written_later
from maildesk.store.models import Attachment, Message, Ticket

_MESSAGES = Message.metadata.tables[Message.__tablename__]
_INSERT_MESSAGE = insert(_MESSAGES).returning(_MESSAGES.c.id)
# a new ticket's first message: mails queued before it need not be written first (``pending_mail``)
_INSERT_FIRST_MESSAGE = _INSERT_MESSAGE.execution_options(**NEW_TICKET)
# Attachment.content_type is String(200): PostgreSQL refuses more, SQLite would keep it; cut on both
_CONTENT_TYPE_CHARS = 200


def inbound_row(
    ctx: Context, mail: InboundMail, *, ticket: Ticket | None, kind: str, text: str,
    rule_hits: list[str] | None = None,
) -> Message:
    """The message row of an incoming mail, not yet written (for ``store_inbound``); its raw bytes are left out
    where they are written after the row (``store/bigbytes``)."""
    return Message(
        ticket_id=ticket.id if ticket is not None else None, direction="in", kind=kind,
        message_id=mail.message_id, in_reply_to=mail.in_reply_to,
        from_addr=mail.sender, from_name=mail.from_addr.name if mail.from_addr else "",
        to_addrs=[a.addr for a in mail.to], cc_addrs=[a.addr for a in mail.cc], subject=mail.subject,
        text=text, raw=None if written_later(ctx.session, mail.raw) else mail.raw, defects=list(mail.defects),
        rule_hits=list(rule_hits or []), created_at=ctx.now,
    )


def store_inbound(
    ctx: Context, mail: InboundMail, *, ticket: Ticket | None, kind: str, text: str,
    rule_hits: list[str] | None = None,
) -> Message:
    """The message row (raw bytes kept, so nothing is ever lost) and its attachments; ``ctx.stored`` is it."""
    return keep_inbound(ctx, mail, inbound_row(ctx, mail, ticket=ticket, kind=kind, text=text, rule_hits=rule_hits),
                        ticket)


def keep_inbound(ctx: Context, mail: InboundMail, message: Message, ticket: Ticket | None, *,
                 opening: bool = False) -> Message:
    """``store_inbound`` for a row made beforehand by ``inbound_row``, perhaps written already (with its ticket, by
    ``tickets.create_ticket``); ``opening``: the mail that opened ``ticket``, made in this transaction."""
    session, now = ctx.session, ctx.now
    raw_later = written_later(session, mail.raw)
    if message.id is None:  # not written with its ticket
        message.ticket_id = ticket.id if ticket is not None else None
        if (ticket is None or ticket.id is not None) and none_pending(session, Message):
            # One INSERT now, not an ORM flush of everything pending (a third of a new ticket's flushing):
            # the ticket's own pending changes go out with its next flush, in one UPDATE. The row becomes
            # the session's own as if loaded. Only with no Message pending, so ids keep the order in which
            # the mails were written.
            insert_as_loaded(session, message, _INSERT_FIRST_MESSAGE if opening else _INSERT_MESSAGE)
        else:
            session.add(message)
            session.flush()
    if raw_later:
        write_big(session, _MESSAGES, "raw", _MESSAGES.c.id == message.id, mail.raw)
        set_committed_value(message, "raw", mail.raw)
    ctx.stored = message
    for part in mail.attachments:
        session.add(Attachment(message_id=message.id, filename=part.filename or "attachment",
                               content_type=part.content_type[:_CONTENT_TYPE_CHARS], size=part.size,
                               sha256=part.sha256))
    if ticket is not None:
        ticket.message_count = (ticket.message_count or 0) + 1
        ticket.updated_at = now
    return message


def attachments_of(mail: InboundMail) -> tuple[tuple[str, str, bytes], ...]:
    """The mail's attachments as the outbox takes them: (file name, content type, bytes)."""
    return tuple((a.filename or "attachment", a.content_type, a.data) for a in mail.attachments)

"""Which ticket a mail names: its per-ticket reply address, the subject's tag, the ids it answers.

A mail names its ticket by the per-ticket reply address it was sent to (a valid
token, ``maildesk.tokens``), by the tag in its subject, or by In-Reply-To and
References matched against every stored Message-ID (the nearest ancestor
wins). A ticket merged into another (#merge) names the one it went into, as
django-helpdesk's ``merged_to`` does: its conversation goes on there.

None of this proves who wrote the mail: reply addresses travel in every mail to
the reporter, tags can be typed, Message-IDs are quoted in forwards. Whether the
sender may join the ticket is the desk's question (``desk/steps/belonging.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.mail import InboundMail
from maildesk.outbound.subjects import find_ticket_number
from maildesk.store.models import Message, Ticket
from maildesk.tokens import ReplyAddresses

MERGE_HOPS = 10  # a chain of merges longer than this is a loop someone made by hand


def _by_number(session: Session, number: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.number == number)).one_or_none()


def by_reply_address(session: Session, mail: InboundMail, addresses: ReplyAddresses, now: datetime) -> Ticket | None:
    """The ticket whose reply address (with a valid token) the mail was sent to."""
    for address in (a.addr for a in (*mail.to, *mail.cc)):
        parsed = addresses.parse(address)
        if parsed is None:
            continue
        ticket = _by_number(session, parsed[0])
        if ticket is not None and addresses.role(parsed[0], parsed[1], now=now,
                                                 legacy_token=ticket.reply_token) is not None:
            return ticket
    return None


def by_message_ids(session: Session, mail: InboundMail) -> tuple[Ticket, str] | None:
    """The ticket of the nearest stored ancestor in In-Reply-To, then References."""
    for via, ids in (("in-reply-to", [mail.in_reply_to] if mail.in_reply_to else []),
                     ("references", list(reversed(mail.references)))):
        if not ids:
            continue
        found = dict(session.execute(
            select(Message.message_id, Message.ticket_id).where(Message.message_id.in_(ids),
                                                                Message.ticket_id.is_not(None))
        ).all())
        for mid in ids:  # the nearest ancestor wins
            if mid in found and (ticket := session.get(Ticket, found[mid])) is not None:
                return ticket, via
    return None


def named_ticket(
    session: Session, mail: InboundMail, *, prefix: str, addresses: ReplyAddresses, now: datetime,
) -> tuple[Ticket, str] | None:
    """The ticket the mail is about, by reply address, subject tag or Message-ID, and how it was found."""
    found = _named(session, mail, prefix=prefix, addresses=addresses, now=now)
    if found is None:
        return None
    ticket, via = found
    for _ in range(MERGE_HOPS):
        if ticket.merged_into_id is None or (into := session.get(Ticket, ticket.merged_into_id)) is None:
            break
        ticket = into
    return ticket, via


def _named(
    session: Session, mail: InboundMail, *, prefix: str, addresses: ReplyAddresses, now: datetime,
) -> tuple[Ticket, str] | None:
    if (addressed := by_reply_address(session, mail, addresses, now)) is not None:
        return addressed, "address"
    number = find_ticket_number(mail.subject, prefix)
    if number and (tagged := _by_number(session, number)) is not None:
        return tagged, "tag"
    return by_message_ids(session, mail)

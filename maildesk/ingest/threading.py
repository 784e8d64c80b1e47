"""Which ticket a mail is about, and whether its sender may join that ticket's conversation.

A mail names its ticket by the per-ticket reply address it was sent to (a valid
token, ``maildesk.tokens``), by the tag in its subject, or by In-Reply-To and
References matched against every stored Message-ID (the nearest ancestor
wins). None of these proves who wrote the mail: reply addresses travel in every
mail to the reporter, tags can be typed, Message-IDs are quoted in forwards.

So a mail joins a ticket only when its sender is one of the ticket's people: the
reporter, a watcher, or staff (whose commands still need proof, see
``commands/proof``). Anyone else who names a ticket gets a ticket of their own,
linked to it and flagged ``foreign_thread``, and never sees or adds to the other
conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.ingest.mail import InboundMail
from maildesk.outbound.subjects import find_ticket_number
from maildesk.rules.directory import Directory
from maildesk.store.models import Message, Ticket
from maildesk.tokens import ReplyAddresses

FOREIGN_FLAG = "foreign_thread"


@dataclass(frozen=True)
class Thread:
    """The ticket a mail joins, how it was found, or the ticket it names but may not join."""

    ticket: Ticket | None
    via: str = ""  # "address", "tag", "in-reply-to", "references", or "" for a new conversation
    foreign: Ticket | None = None  # a ticket the mail names whose conversation its sender is no part of


def may_write_to(ticket: Ticket, sender: str, directory: Directory) -> bool:
    """Whether ``sender`` is one of the ticket's people: its reporter, a watcher, or staff."""
    sender = sender.lower()
    return sender == ticket.reporter or sender in (ticket.watchers or []) or directory.is_staff(sender)


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
    if (addressed := by_reply_address(session, mail, addresses, now)) is not None:
        return addressed, "address"
    number = find_ticket_number(mail.subject, prefix)
    if number and (tagged := _by_number(session, number)) is not None:
        return tagged, "tag"
    return by_message_ids(session, mail)


def find_thread(
    session: Session, mail: InboundMail, *, prefix: str, directory: Directory, addresses: ReplyAddresses,
    now: datetime,
) -> Thread:
    """The ticket ``mail`` joins, or the one it names but its sender may not join, or neither."""
    named = named_ticket(session, mail, prefix=prefix, addresses=addresses, now=now)
    if named is None:
        return Thread(None)
    ticket, via = named
    if may_write_to(ticket, mail.sender, directory):
        return Thread(ticket, via)
    return Thread(None, via, foreign=ticket)

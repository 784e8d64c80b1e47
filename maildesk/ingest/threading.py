"""Which ticket a mail belongs to: its per-ticket reply address, the subject's tag, the ids it answers.

A mail sent to a ticket's reply address (support+NUMBER-TOKEN@domain, the Reply-To
of our mails) belongs to that ticket whoever sends it: the secret token proves the
sender has a mail of the thread.

A tag is taken only from someone the ticket knows (its reporter, a watcher, or
staff): anyone can type a ticket number into a subject, and a stranger's mail
must not land in another person's conversation. In-Reply-To and References are
matched against every stored Message-ID, incoming and outgoing, which proves
the sender has a mail of the thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.config import Settings
from maildesk.ingest.mail import InboundMail
from maildesk.outbound.compose import find_ticket_number
from maildesk.outbound.notify import parse_reply_address, token_role
from maildesk.rules.directory import Directory
from maildesk.store.models import Message, Ticket


@dataclass(frozen=True)
class Thread:
    ticket: Ticket | None
    via: str = ""  # "address", "tag", "in-reply-to", "references", or "" for a new conversation
    foreign_tag: Ticket | None = None  # a tagged ticket the sender may not write to


def may_write_to(ticket: Ticket, sender: str, directory: Directory) -> bool:
    sender = sender.lower()
    return sender == ticket.reporter or sender in (ticket.watchers or []) or directory.is_staff(sender)


def by_reply_address(session: Session, mail: InboundMail, settings: Settings) -> Ticket | None:
    """The ticket whose reply address (with a valid token) the mail was sent to."""
    for address in (a.addr for a in (*mail.to, *mail.cc)):
        parsed = parse_reply_address(settings, address)
        if parsed is None:
            continue
        ticket = session.scalars(select(Ticket).where(Ticket.number == parsed[0])).one_or_none()
        if ticket is not None and token_role(ticket, parsed[1]) is not None:
            return ticket
    return None


def find_thread(
    session: Session, mail: InboundMail, *, prefix: str, directory: Directory, settings: Settings | None = None,
) -> Thread:
    if settings is not None and (addressed := by_reply_address(session, mail, settings)) is not None:
        return Thread(addressed, "address")
    foreign: Ticket | None = None
    number = find_ticket_number(mail.subject, prefix)
    if number:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one_or_none()
        if ticket is not None:
            if may_write_to(ticket, mail.sender, directory):
                return Thread(ticket, "tag")
            foreign = ticket
    for via, ids in (("in-reply-to", [mail.in_reply_to] if mail.in_reply_to else []),
                     ("references", list(reversed(mail.references)))):
        if not ids:
            continue
        found = session.execute(
            select(Message.message_id, Message.ticket_id).where(Message.message_id.in_(ids),
                                                                Message.ticket_id.is_not(None))
        ).all()
        by_id = {mid: tid for mid, tid in found}
        for mid in ids:  # the nearest ancestor wins
            if mid in by_id:
                ticket = session.get(Ticket, by_id[mid])
                if ticket is not None and (foreign is None or ticket.id == foreign.id):
                    return Thread(ticket, via)
    return Thread(None, "", foreign)

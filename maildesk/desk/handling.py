"""One mail's way through the desk's steps: what earlier steps found out, for the later ones to use.

The steps (``desk/steps``) run in order; each either ends the mail's way with a ``Handled``
or adds what it decided here and lets the next step go on. The fields are typed and named
(no free dictionary): a reader sees at once what a step may rely on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from maildesk.desk.context import Context
from maildesk.desk.on_behalf import OnBehalf
from maildesk.ingest.outcome import Handled, Inbound, Result
from maildesk.mail import InboundMail
from maildesk.people.directory import Person
from maildesk.rules.model import Decision
from maildesk.store.models import Ticket


@dataclass
class Handling:
    """A mail on its way through the steps."""

    inbound: Inbound
    mail: InboundMail  # the mail as the steps see it (#split gives the new ticket a mail of its own)
    text: str  # what the sender wrote this time, without the quoted conversation
    ticket: Ticket | None = None  # the ticket whose conversation the mail joins
    related: Ticket | None = None  # a ticket the new one is linked to ...
    link_kind: str = "related"  # ... and how: related, follow_up, split
    split_from: Ticket | None = None  # the reporter's ticket this new one was split from (#split)
    flags: list[str] = field(default_factory=list)  # for the new ticket
    person: Person | None = None  # the sender in the people directory
    decision: Decision | None = None  # the rules' classification of a new ticket
    assignee: str | None = None  # who will work the new ticket
    lead: str | None = None  # the lead (牵头人) of a collaboration ticket
    made: Ticket | None = None  # the new ticket, once made
    incident: tuple[Ticket, int] | None = None  # the burst incident it made or joined: its first ticket, its size
    kb_articles: list[dict[str, object]] = field(default_factory=list)
    # a ticket staff record for a reporter: ``mail`` then reads as the reporter's (``steps/recorded``)
    on_behalf: OnBehalf | None = None

    @classmethod
    def of(cls, inbound: Inbound) -> Handling:
        return cls(inbound, inbound.mail, inbound.text)

    @property
    def sender(self) -> str:
        return self.mail.sender


def done(ctx: Context, result: Result, ticket: Ticket | None = None, reason: str = "") -> Handled:
    """The end of a mail's way: what became of it, on which ticket, the incoming message kept, and what the
    work noted besides (``Context.notes``)."""
    return Handled(result, ticket.number if ticket is not None else None, reason,
                   ctx.stored.id if ctx.stored is not None else None, tuple(ctx.notes))

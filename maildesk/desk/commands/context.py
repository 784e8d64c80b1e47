"""What a command works on: the desk's context, the ticket, the acting staff member, the reply's public text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.desk.context import Context
from maildesk.desk.mailing import Files
from maildesk.errors import MaildeskError
from maildesk.store.models import Event, Message, Ticket


class CommandFailed(MaildeskError):
    """A command cannot be applied; the message is the reason the engineer reads."""


@dataclass
class CommandContext:
    """One staff mail's commands share this; handlers note what they did with the reply's text."""

    ctx: Context
    ticket: Ticket
    actor: str
    body: str = ""  # the text for the reporter (command lines removed); empty when #split takes it
    rest: str = ""  # the mail's words below the commands, whoever they are for (#split takes them)
    attachments: Files = ()
    body_sent: bool = False  # a handler already mailed the body to the reporter (confirm, closed)
    created: list[str] = field(default_factory=list)  # numbers of tickets made by #split

    @property
    def session(self) -> Session:
        return self.ctx.session

    def say(self, key: str, **values: object) -> str:
        """A phrase in the desk's language (staff read command replies)."""
        return self.ctx.say(key, **values)

    def fail(self, key: str, **values: object) -> NoReturn:
        raise CommandFailed(self.say(key, **values))

    def shown(self, arg: str) -> str:
        """An argument as a reply quotes it: "nothing" when it was empty."""
        return arg or self.say("command.nothing")

    def first_text(self) -> str:
        """The reporter's first mail on the ticket: the problem as described."""
        return self.session.scalar(
            select(Message.text).where(Message.ticket_id == self.ticket.id, Message.direction == "in")
            .order_by(Message.id).limit(1)
        ) or ""

    def last_progress(self) -> str:
        """The latest progress entry, for a resolution given without words of its own."""
        return self.session.scalar(
            select(Event.note).where(Event.ticket_id == self.ticket.id, Event.action == "progress")
            .order_by(Event.id.desc()).limit(1)
        ) or ""

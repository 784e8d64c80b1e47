"""What a command works on: the ticket, the acting staff member, the moment, the reply's public text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.app import App
from maildesk.errors import MaildeskError
from maildesk.store.models import Event, Message, Ticket


class CommandFailed(MaildeskError):
    """A command cannot be applied; the message is the reason the engineer reads."""


@dataclass
class CommandContext:
    """One staff mail's commands share this; handlers note what they did with the reply's text."""

    app: App
    session: Session
    ticket: Ticket
    actor: str
    now: datetime
    body: str = ""  # the text for the reporter (command lines removed)
    attachments: tuple[tuple[str, str, bytes], ...] = ()
    body_sent: bool = False  # a handler already mailed the body to the reporter (confirm, closed)
    created: list[str] = field(default_factory=list)  # numbers of tickets made by #split

    @property
    def lang(self) -> str:
        return self.app.settings.language

    def say(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    def fail(self, zh: str, en: str) -> NoReturn:
        raise CommandFailed(self.say(zh, en))

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

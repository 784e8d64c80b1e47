"""One piece of work of the desk: the desk's fixed parts, a database session, and the moment ``now``.

The intake makes one for each mail, the sweep one for each chunk of tickets, a command one for
its change. Everything that changes a ticket takes it, so no code below the CLI and the daemon
reads the wall clock: the business calendar too is the one for ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy.orm import Session

from maildesk.config import Settings
from maildesk.desk.setup import Desk
from maildesk.masking import Masker
from maildesk.outbound.templates import Templates
from maildesk.people.directory import Directory
from maildesk.people.presence import away_now
from maildesk.sla import BusinessHours, Clock, PriorityTargets
from maildesk.store.models import Message, Ticket
from maildesk.tokens import ReplyAddresses


class ClockError(ValueError):
    """The desk was given a moment without a time zone."""


@dataclass
class Context:
    """The desk, a session and ``now`` (an aware datetime); ``stored`` is the incoming mail it kept,
    ``notes`` what to log of the work once committed."""

    desk: Desk
    session: Session
    now: datetime
    stored: Message | None = field(default=None, repr=False)
    # what the work did besides its result, for the log once it is committed: said before, it could be
    # rolled back after (a later step failing, or intake storing the mail's group again)
    notes: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ClockError(f"the desk needs an aware datetime, got {self.now.isoformat()}")

    @property
    def settings(self) -> Settings:
        return self.desk.settings

    @cached_property
    def directory(self) -> Directory:
        """The people directory as it stands now: staff away by their own out-of-office reply are away
        (``people/presence``), so every rule about people away sees both kinds; the on-call rota's people
        of the moment are on call (role ``oncall``)."""
        return self.desk.directory_at(self.now, away_now(self.session))

    def presence_changed(self) -> None:
        """Someone left or came back in this piece of work: read who is away again."""
        self.__dict__.pop("directory", None)

    @property
    def templates(self) -> Templates:
        return self.desk.templates

    @property
    def addresses(self) -> ReplyAddresses:
        return self.desk.addresses

    @property
    def masker(self) -> Masker:
        return self.desk.masker

    @property
    def targets(self) -> dict[str, PriorityTargets]:
        return self.desk.targets

    def target_of(self, ticket: Ticket) -> PriorityTargets | None:
        """The SLA targets of ``ticket``: its priority's, or a requirement's own (``Desk.requirement_targets``)."""
        return self.desk.targets_for(ticket.type).get(ticket.priority)

    @cached_property
    def calendar(self) -> BusinessHours:
        """The business calendar of the day of ``now`` in the desk's zone."""
        return self.desk.calendar_on(self.now.astimezone(self.settings.tz).date())

    def clock(self, priority: str) -> Clock:
        """The clock of a ticket of ``priority`` (its SLA targets, pauses and ladder): 7×24 or business hours."""
        return self.desk.clock_on(priority, self.now.astimezone(self.settings.tz).date())

    def clock_of(self, ticket: Ticket) -> Clock:
        """The clock ``ticket``'s targets, pauses and ladder run on: its priority's, but business hours for a
        requirement (需求), whose evaluation is due in working days."""
        return self.desk.clock_of(ticket.type, ticket.priority, self.now.astimezone(self.settings.tz).date())

    @property
    def lang(self) -> str:
        """The language of mails to staff."""
        return self.settings.language

    def say(self, key: str, lang: str | None = None, /, **values: object) -> str:
        """A phrase of the phrase books in ``lang`` (default: the desk's language), filled in."""
        return self.templates.say(key, lang or self.lang, **values)

    def person_name(self, address: str | None) -> str:
        """The name the directory gives ``address``, else the address."""
        if not address:
            return ""
        person = self.directory.get(address)
        return person.name if person and person.name else address

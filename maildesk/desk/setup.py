"""The desk's fixed parts: what every step reads and nothing changes while the process runs.

Built once per process from the settings (by ``maildesk.app.App``), each part loaded when first
needed, so a command that never classifies a mail never reads the rules file. ``Context``
(``desk/context.py``) adds what belongs to one batch of work: the session and ``now``.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, datetime
from functools import cached_property

from maildesk.config import Settings
from maildesk.masking import Masker
from maildesk.outbound.templates import Templates
from maildesk.people.directory import Directory, load_directory
from maildesk.people.oncall import Rota, load_rota
from maildesk.rules.loader import load_rules
from maildesk.rules.model import Defaults, RuleSet
from maildesk.secret import ServerSecret, create_secret_file, read_secret_file, secret_from_env
from maildesk.sla import BusinessHours, Clock, EscalationStep, PriorityTargets, RoundTheClock
from maildesk.tokens import ReplyAddresses

log = logging.getLogger(__name__)


class Desk:
    """Settings, people, rules, templates, reply addresses, SLA targets and business calendars."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._calendars: dict[tuple[int, bool], BusinessHours] = {}
        self._present: tuple[frozenset[str], Directory] | None = None
        self._on_call: tuple[tuple[frozenset[str], tuple[str, ...]], Directory] | None = None

    @cached_property
    def directory(self) -> Directory:
        if not self.settings.directory:
            return Directory([])
        return load_directory(self.settings.path(self.settings.directory))

    def directory_with_away(self, away: frozenset[str]) -> Directory:
        """The directory with staff away by their own out-of-office reply marked away too (the last one
        asked for is kept: the set changes seldom)."""
        if not away:
            return self.directory
        if self._present is None or self._present[0] != away:
            self._present = (away, self.directory.with_away(away))
        return self._present[1]

    @cached_property
    def rota(self) -> Rota | None:
        """The on-call rota, when the config names one (``oncall``)."""
        if not self.settings.oncall:
            return None
        return load_rota(self.settings.path(self.settings.oncall), self.settings.tz, self.directory)

    def directory_at(self, now: datetime, away: frozenset[str]) -> Directory:
        """The directory at ``now``: staff away by their out-of-office reply marked away, and the people the
        rota puts on call marked on call (the last one asked for is kept: both change seldom)."""
        present = self.directory_with_away(away)
        if self.rota is None:
            return present
        on_call = tuple(self.rota.on_call(now, self.directory))
        key = (away, on_call)
        if self._on_call is None or self._on_call[0] != key:
            self._on_call = (key, present.with_on_call(on_call))
        return self._on_call[1]

    @cached_property
    def masker(self) -> Masker:
        """Masking (脱敏) that also knows every name in the people directory."""
        return Masker(p.name for p in self.directory)

    @cached_property
    def rules(self) -> RuleSet:
        s = self.settings
        return load_rules(s.path(s.rules), types=list(s.types), priorities=list(s.priorities),
                          teams=[t.name for t in s.teams])

    @property
    def rule_defaults(self) -> Defaults:
        return Defaults(type=self.settings.default_type, priority=self.settings.default_priority)

    @cached_property
    def secret(self) -> ServerSecret:
        """The server secret: from ``secret_env`` when set, else ``secret_file`` (made on first use)."""
        s = self.settings
        if s.secret_env:
            return secret_from_env(s.secret_env)
        path = s.path(s.secret_file)
        if create_secret_file(path):
            log.info("created the server secret %s (mode 0600): back it up with the database", path)
        return read_secret_file(path)

    @cached_property
    def addresses(self) -> ReplyAddresses:
        """The per-ticket reply addresses and their tokens."""
        return ReplyAddresses(self.settings.support_address, self.settings.ticket_prefix, self.secret)

    @cached_property
    def templates(self) -> Templates:
        folder = self.settings.templates
        return Templates(self.settings.path(folder) if folder else None,
                         defaults={"desk_name": self.settings.support_name})

    def calendar_on(self, today: date) -> BusinessHours:
        """The calendar for work done on ``today``: rebuilt when the year turns and in December, when
        next year's holiday schedule is out, so a daemon that runs for months never works through a
        holiday it was started too early to know, and a replay of any day uses that day's calendar."""
        key = (today.year, today.month == 12)
        if key not in self._calendars:
            self._calendars = {key: make_calendar(self.settings, today)}
        return self._calendars[key]

    def clock_on(self, priority: str, today: date) -> Clock:
        """The clock a ticket of ``priority`` runs on for work done on ``today``: 7×24 or business hours."""
        if self.settings.priority_clock(priority) == "24x7":
            return self.round_the_clock
        return self.calendar_on(today)

    @cached_property
    def round_the_clock(self) -> RoundTheClock:
        return RoundTheClock(self.settings.tz)

    @cached_property
    def round_the_clock_priorities(self) -> tuple[str, ...]:
        """The priorities whose deadlines and ladder run at night and at weekends too."""
        return tuple(code for code in self.settings.priorities if self.settings.priority_clock(code) == "24x7")

    @cached_property
    def targets(self) -> dict[str, PriorityTargets]:
        return {
            code: PriorityTargets(
                code=code, start_hours=p.start_hours, response_hours=p.response_hours or p.start_hours,
                progress_hours=p.progress_hours, resolve_hours=p.resolve_hours,
                escalation=tuple(EscalationStep(after_hours=e.after_hours, to_role=e.to) for e in p.escalation),
            )
            for code, p in self.settings.priorities.items()
        }

    @cached_property
    def requirement_targets(self) -> dict[str, PriorityTargets]:
        """The targets of a requirement (需求) ticket: its priority's start and response, the evaluation due
        ``requirements.evaluation_days`` working days after it came in in place of the resolution, and the
        requirements' own ladder (working days, as business hours of a full working day)."""
        req, bh = self.settings.requirements, self.settings.business_hours
        lunch = (bh.lunch_start, bh.lunch_end) if bh.lunch_start and bh.lunch_end else None
        day_hours = BusinessHours(tz=self.settings.tz, start=bh.start, end=bh.end, lunch=lunch).day_seconds / 3600
        ladder = tuple(EscalationStep(after_hours=step.after_days * day_hours, to_role=step.to)
                       for step in req.escalation)
        return {code: dataclasses.replace(target, resolve_hours=req.evaluation_days * day_hours, escalation=ladder)
                for code, target in self.targets.items()}

    def clock_of(self, ticket_type: str, priority: str, today: date) -> Clock:
        """The clock a ticket's targets, pauses and ladder run on, for work done on ``today``: its priority's,
        but business hours for a requirement (需求), whose evaluation is due in working days."""
        if self.is_requirement(ticket_type):
            return self.calendar_on(today)
        return self.clock_on(priority, today)

    def is_requirement(self, ticket_type: str) -> bool:
        """Whether tickets of ``ticket_type`` are requirements (需求), evaluated rather than resolved."""
        return ticket_type == self.settings.requirements.type

    def targets_for(self, ticket_type: str) -> dict[str, PriorityTargets]:
        """The targets by priority for tickets of ``ticket_type``: a requirement's are its own."""
        return self.requirement_targets if self.is_requirement(ticket_type) else self.targets


def make_calendar(settings: Settings, today: date) -> BusinessHours:
    """The business calendar for a few years around ``today``."""
    bh = settings.business_hours
    lunch = (bh.lunch_start, bh.lunch_end) if bh.lunch_start and bh.lunch_end else None
    extra_off = frozenset(date.fromisoformat(d) for d in bh.extra_holidays)
    extra_on = frozenset(date.fromisoformat(d) for d in bh.extra_workdays)
    if bh.holidays == "CN":
        # next year's schedule is published in November or December; ask for it only then
        years = range(today.year - 1, today.year + (2 if today.month == 12 else 1))
        return BusinessHours.china(
            settings.tz, years, start=bh.start, end=bh.end, lunch=lunch, extra_holidays=extra_off,
            extra_workdays=extra_on, workdays=frozenset(bh.workdays),
        )
    return BusinessHours(tz=settings.tz, start=bh.start, end=bh.end, lunch=lunch, workdays=frozenset(bh.workdays),
                         holidays=extra_off, extra_workdays=extra_on)

"""The figures of a report: a pure function of the database, the period and the business calendar.

The tickets counted are those created in the period; their status, response
and resolution are as the database has them when the report runs. Times are
hours on each ticket's own clock (business hours, or 7×24 for a priority that runs round the
clock), resolution without the time spent waiting on the reporter. A resolution target is met when the ticket was
resolved by its due time and missed when it was resolved later or is still
unresolved after it; a ticket not yet due and not resolved is not counted.
Satisfaction is every survey answer given in the period. What stayed unsolved is every ticket
created before the end of the period and open when the report runs (``reports/unsolved.py``).
Requirements (需求) are the period's tickets of the requirement type, counted by the outcome of their
evaluation as it stands (feasible, not_now, needs_change), or pending while not evaluated.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maildesk.masking import Masker
from maildesk.reports.recurring import Group, Item, find_groups
from maildesk.reports.unsolved import Unsolved, unsolved_tickets
from maildesk.sla import BusinessHours, Clock
from maildesk.statuses import DONE_STATUSES, OPEN_STATUSES, Status
from maildesk.store.models import Message, Ticket
from maildesk.store.models_conversation import SurveyAnswer
from maildesk.store.models_requirements import Requirement
from maildesk.words import CHANNELS, OUTCOMES

__all__ = ["DOMINANT_SHARE", "Engineer", "Figures", "Satisfaction", "Stats", "compute_figures"]

DOMINANT_SHARE = 0.3  # a type above this share of the volume is called out (需求 §7)
NO_TEAM = "none"
NO_SYSTEM = ""  # a ticket whose intake form names no system
PENDING = "pending"  # a requirement not evaluated yet
TOP_RECURRING = 10
_DONE = {s.value for s in DONE_STATUSES}
_OPEN = [s.value for s in OPEN_STATUSES]


@dataclass(frozen=True)
class Stats:
    avg: float | None
    median: float | None
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            return cls(None, None, 0)
        return cls(round(statistics.fmean(values), 2), round(statistics.median(values), 2), len(values))

    def as_json(self) -> dict[str, object]:
        return {"avg": self.avg, "median": self.median, "count": self.count}


@dataclass(frozen=True)
class Satisfaction:
    speed: float | None
    solving: float | None
    attitude: float | None
    overall: float | None
    answers: int

    def as_json(self) -> dict[str, object]:
        return {"speed": self.speed, "solving": self.solving, "attitude": self.attitude, "overall": self.overall,
                "answers": self.answers}


@dataclass(frozen=True)
class Engineer:
    address: str
    name: str
    assigned: int
    resolved: int
    open: int
    reopened: int
    open_now: int  # the engineer's load: every open ticket assigned, whenever it came in
    first_response_hours: float | None
    resolution_hours: float | None
    sla_compliance: float | None
    satisfaction: float | None

    def as_json(self) -> dict[str, object]:
        """The engineer in a report's JSON and CSV. A work address identifies the engineer (supervisors join
        reports on it); the masking is for reporters' personal data."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Figures:
    first: str
    last: str
    tickets: int
    by_type: dict[str, int]
    by_priority: dict[str, int]
    by_team: dict[str, int]
    by_status: dict[str, int]
    by_day: dict[str, int]
    first_response_hours: Stats
    resolution_hours: Stats
    sla_compliance: dict[str, float | None]
    response_compliance: dict[str, float | None]
    resolution_rate: float | None
    reopen_rate: float | None
    satisfaction: Satisfaction
    recurring: list[Group]
    dominant_types: list[tuple[str, float]]
    engineers: list[Engineer] = field(default_factory=list)
    by_channel: dict[str, int] = field(default_factory=dict)
    unsolved: list[Unsolved] = field(default_factory=list)  # the first of them, oldest first
    unsolved_total: int = 0
    by_system: dict[str, int] = field(default_factory=dict)  # 涉及系统 of the intake form, "" for none given
    requirements: dict[str, int] = field(default_factory=dict)  # outcome (or pending) → requirements

    def as_json(self) -> dict[str, object]:
        """The documented shape of ``report --format json`` (fields may be added, never renamed)."""
        return {
            "from": self.first, "to": self.last, "tickets": self.tickets,
            "by_type": self.by_type, "by_priority": self.by_priority, "by_team": self.by_team,
            "by_status": self.by_status, "by_day": self.by_day,
            "first_response_hours": self.first_response_hours.as_json(),
            "resolution_hours": self.resolution_hours.as_json(),
            "sla_compliance": self.sla_compliance, "response_compliance": self.response_compliance,
            "resolution_rate": self.resolution_rate, "reopen_rate": self.reopen_rate,
            "satisfaction": self.satisfaction.as_json(),
            "recurring": [g.as_json() for g in self.recurring],
            "dominant_types": [{"type": t, "share": s} for t, s in self.dominant_types],
            "engineers": [e.as_json() for e in self.engineers],
            "by_channel": self.by_channel,
            "unsolved": [u.as_json() for u in self.unsolved], "unsolved_total": self.unsolved_total,
            "by_system": self.by_system,
            "requirements": self.requirements,
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 2) if present else None


def _counted(values: Iterable[str], order: Sequence[str] = ()) -> dict[str, int]:
    counts = Counter(values)
    rank = {v: i for i, v in enumerate(order)}
    return dict(sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(rank)), -kv[1], kv[0])))


class _Clock:
    """Hours between moments on each ticket's clock, and the verdict on each target."""

    def __init__(self, clock_of: Callable[[Ticket], Clock], as_of: datetime) -> None:
        self.clock_of, self.as_of = clock_of, as_of

    def hours(self, t: Ticket, a: datetime, b: datetime, paused: float = 0.0) -> float:
        return max(0.0, self.clock_of(t).business_seconds_between(a, b) - paused) / 3600

    def first_response(self, t: Ticket) -> float | None:
        return None if t.first_response_at is None else self.hours(t, t.created_at, t.first_response_at)

    def resolution(self, t: Ticket) -> float | None:
        if t.resolved_at is None:
            return None
        return self.hours(t, t.created_at, t.resolved_at, t.paused_seconds or 0.0)

    def met(self, done_at: datetime | None, due: datetime | None) -> bool | None:
        """True met, False missed, None not known yet (or no target)."""
        if due is None:
            return None
        if done_at is not None:
            return done_at <= due
        return False if due < self.as_of else None


def _compliance(tickets: Iterable[Ticket], priorities: Sequence[str], verdict: Callable[[Ticket], bool | None],
                ) -> dict[str, float | None]:
    known: dict[str, list[bool]] = {p: [] for p in priorities}
    for t in tickets:
        v = verdict(t)
        if v is not None:
            known.setdefault(t.priority, []).append(v)
    return {p: _share(sum(vs), len(vs)) for p, vs in known.items()}


def _first_texts(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    first = (select(func.min(Message.id)).where(Message.ticket_id.in_(ids), Message.direction == "in")
             .group_by(Message.ticket_id))
    return {tid: text for tid, text in session.execute(
        select(Message.ticket_id, Message.text).where(Message.id.in_(first))) if tid is not None}


def compute_figures(
    session: Session, start: datetime, end: datetime, calendar: BusinessHours, *,
    priorities: Sequence[str] = (), names: Mapping[str, str] | None = None, as_of: datetime | None = None,
    masker: Masker | None = None, requirement_type: str | None = None,
    clock_of: Callable[[Ticket], Clock] | None = None,
) -> Figures:
    """Every figure of the report on tickets created in [start, end).

    ``priorities`` orders the per-priority figures (and lists those without tickets);
    ``names`` gives engineers' display names; ``as_of`` (default ``end``, pass
    min(end, now) for a period not over yet) is when an unresolved ticket past its
    due time counts as a missed target. Recurring-problem titles are masked by ``masker`` (give
    the desk's, which knows the directory's names). ``requirement_type``: the type code of requirements,
    counted by outcome (None: no requirement figures). ``clock_of`` gives a ticket's clock (default: ``calendar``
    for every ticket).
    """
    clock = _Clock(clock_of or (lambda _t: calendar), as_of or end)
    tickets = list(session.scalars(
        select(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end).order_by(Ticket.created_at, Ticket.id)
    ))
    total = len(tickets)
    by_type = _counted(t.type for t in tickets)
    ever_resolved = [t for t in tickets if t.status in _DONE or (t.reopen_count or 0) > 0]
    texts = _first_texts(session, [t.id for t in tickets])
    recurring = find_groups([Item(t.number, t.type, t.subject, texts.get(t.id, ""), t.created_at, t.reporter_name or "")
                             for t in tickets], masker=masker)
    answers = [(answer, assignee) for answer, assignee in session.execute(
        select(SurveyAnswer, Ticket.assignee).join(Ticket, Ticket.id == SurveyAnswer.ticket_id)
        .where(SurveyAnswer.at >= start, SurveyAnswer.at < end).order_by(SurveyAnswer.id)
    )]
    tz = calendar.tz
    days = {(start.astimezone(tz) + timedelta(days=n)).date().isoformat(): 0
            for n in range((end - start).days)}
    for t in tickets:
        day = t.created_at.astimezone(tz).date().isoformat()
        days[day] = days.get(day, 0) + 1
    unsolved, unsolved_total = unsolved_tickets(session, end, clock.as_of, masker or Masker(), tz)
    first_responses = [h for t in tickets if (h := clock.first_response(t)) is not None]
    resolutions = [h for t in tickets if (h := clock.resolution(t)) is not None]
    return Figures(
        first=start.astimezone(tz).date().isoformat(),
        last=(end - timedelta(microseconds=1)).astimezone(tz).date().isoformat(),
        tickets=total,
        by_type=by_type,
        by_priority=_counted((t.priority for t in tickets), priorities),
        by_team=_counted(t.team or NO_TEAM for t in tickets),
        by_status=_counted((t.status for t in tickets), [s.value for s in Status]),
        by_day=days,
        first_response_hours=Stats.of(first_responses),
        resolution_hours=Stats.of(resolutions),
        sla_compliance=_compliance(tickets, priorities, lambda t: clock.met(t.resolved_at, t.resolve_due)),
        response_compliance=_compliance(tickets, priorities,
                                        lambda t: clock.met(t.first_response_at, t.response_due)),
        resolution_rate=_share(sum(t.status in _DONE for t in tickets), total),
        reopen_rate=_share(sum((t.reopen_count or 0) > 0 for t in ever_resolved), len(ever_resolved)),
        satisfaction=Satisfaction(
            speed=_mean(a.speed for a, _ in answers), solving=_mean(a.solving for a, _ in answers),
            attitude=_mean(a.attitude for a, _ in answers), overall=_mean(a.overall for a, _ in answers),
            answers=len(answers),
        ),
        recurring=recurring[:TOP_RECURRING],
        dominant_types=[(k, s) for k, n in by_type.items() if (s := round(n / total, 4)) > DOMINANT_SHARE],
        engineers=_engineers(session, tickets, answers, clock, end, names or {}),
        by_channel=_counted((t.channel for t in tickets), CHANNELS),
        unsolved=unsolved, unsolved_total=unsolved_total,
        # the systems people wrote, masked like every free text of a report; the most frequent first
        by_system=_counted((masker or Masker()).text(t.system).strip() if t.system else NO_SYSTEM for t in tickets),
        requirements=_requirements(session, [t for t in tickets if t.type == requirement_type])
        if requirement_type else {},
    )


def _requirements(session: Session, tickets: list[Ticket]) -> dict[str, int]:
    """Requirements by the outcome of their evaluation, pending while they have none; every outcome listed."""
    outcomes: dict[int, str] = {}
    ids = [t.id for t in tickets]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        outcomes.update((tid, outcome) for tid, outcome in session.execute(
            select(Requirement.ticket_id, Requirement.outcome).where(Requirement.ticket_id.in_(chunk))))
    counts = Counter(outcomes.get(t.id, PENDING) for t in tickets)
    return {key: counts.get(key, 0) for key in (*OUTCOMES, PENDING)}


def _engineers(
    session: Session, tickets: list[Ticket], answers: list[tuple[SurveyAnswer, str | None]], clock: _Clock,
    end: datetime, names: Mapping[str, str],
) -> list[Engineer]:
    load: dict[str, int] = {address: n for address, n in session.execute(
        select(Ticket.assignee, func.count()).where(Ticket.status.in_(_OPEN), Ticket.assignee.is_not(None),
                                                   Ticket.created_at < end)
        .group_by(Ticket.assignee)
    ) if address}
    mine: dict[str, list[Ticket]] = {}
    for t in tickets:
        if t.assignee:
            mine.setdefault(t.assignee, []).append(t)
    scores: dict[str, list[float | None]] = {}
    for answer, assignee in answers:
        if assignee:
            scores.setdefault(assignee, []).append(answer.overall)
    result = []
    for address in sorted(set(mine) | set(load)):
        ts = mine.get(address, [])
        verdicts = [v for t in ts if (v := clock.met(t.resolved_at, t.resolve_due)) is not None]
        result.append(Engineer(
            address=address, name=names.get(address, ""), assigned=len(ts),
            resolved=sum(t.status in _DONE for t in ts), open=sum(t.status in _OPEN for t in ts),
            reopened=sum((t.reopen_count or 0) > 0 for t in ts), open_now=load.get(address, 0),
            first_response_hours=_mean(clock.first_response(t) for t in ts),
            resolution_hours=_mean(clock.resolution(t) for t in ts),
            sla_compliance=_share(sum(verdicts), len(verdicts)),
            satisfaction=_mean(scores.get(address, [])),
        ))
    return sorted(result, key=lambda e: (-e.assigned, -e.open_now, e.address))

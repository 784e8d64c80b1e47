"""A simulated fortnight: 200 tickets, the daemon sweeping every 15 minutes, checked against the written policy.

14–28 September 2026 holds a weekend, the make-up working Sunday of 20 September and the
Mid-Autumn holiday (Friday 25); the oracle's business calendar is a table of dates written out
in this file, so a calendar bug in maildesk cannot hide itself. Engineers answer, ask the
reporter and wait, resolve, close; supervisors raise priorities; some tickets are left alone
to climb the whole ladder. The daemon restarts mid-way and a second daemon sweeps beside it for a day. An oracle replays
the same script against the policy as written (not against the sweep's code) and lists every
escalation, progress, confirmation, closing and survey mail that must exist and when; the
outbox must hold exactly those. Reminders and digests are checked for their invariants.
SQLite only: the per-database contract is pinned by the other sweep tests.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial

import pytest

from maildesk.app import App
from maildesk.statuses import Status
from maildesk.sweep import Queued
from tests.desk import (
    ENGINEER,
    TZ,
    at,
    desks,
    moments,
    new_ticket,
    outbox,
    priorities_on,
    raise_priority,
    reporter_reply,
    set_status,
    staff_reply,
    sweep,
    ticket,
)

START, END = at("2026-09-14", 9), at("2026-09-28", 9)
RESTART = at("2026-09-21", 12)
SECOND_DAEMON = (at("2026-09-17", 0), at("2026-09-18", 0))
TICK = timedelta(minutes=15)
ENGINEERS = (ENGINEER, "sun.hao@example.com", "zhou.min@example.com")
CHECKED = ("escalation", "progress", "confirm", "closed", "survey")
ACTIVE = {Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS}


Span = tuple[datetime, datetime]

# The oracle's calendar, written out from the State Council's 2026 notice rather than taken from
# maildesk: 09:00-18:00 on these days and no others. Weekdays, less the Mid-Autumn Festival (Friday
# 25 September) and National Day (1-7 October); plus the make-up days Sunday 20 September and
# Saturday 10 October.
WORKING_DAYS = frozenset(
    [date(2026, 9, d) for d in (14, 15, 16, 17, 18, 20, 21, 22, 23, 24, 28, 29, 30)]
    + [date(2026, 10, d) for d in (8, 9, 10, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23, 26, 27, 28, 29, 30)]
)
OPENS, CLOSES = time(9), time(18)
LAST_DAY = date(2026, 10, 31)


class Written:
    """Business time by the table above: what the policy says, computed without maildesk's calendar."""

    @staticmethod
    def is_working_day(day: date) -> bool:
        assert day <= LAST_DAY, f"{day} is past the oracle's table"
        return day in WORKING_DAYS

    def is_business_time(self, moment: datetime) -> bool:
        local = moment.astimezone(TZ)
        return self.is_working_day(local.date()) and OPENS <= local.time() < CLOSES

    def _span(self, day: date) -> Span | None:
        if not self.is_working_day(day):
            return None
        return datetime.combine(day, OPENS, tzinfo=TZ), datetime.combine(day, CLOSES, tzinfo=TZ)

    def business_seconds_between(self, a: datetime, b: datetime) -> float:
        total, day = 0.0, a.astimezone(TZ).date()
        while day <= b.astimezone(TZ).date():
            span = self._span(day)
            if span is not None:
                start, end = max(span[0], a), min(span[1], b)
                total += max((end - start).total_seconds(), 0.0)
            day += timedelta(days=1)
        return total

    def add_business_seconds(self, moment: datetime, seconds: float) -> datetime:
        left, day = seconds, moment.astimezone(TZ).date()
        while True:
            span = self._span(day)
            if span is not None and span[1] > moment:
                start = max(span[0], moment)
                room = (span[1] - start).total_seconds()
                if left < room:
                    return start + timedelta(seconds=left)
                left -= room
            day += timedelta(days=1)

    def add_business_hours(self, moment: datetime, hours: float) -> datetime:
        return self.add_business_seconds(moment, hours * 3600)

    def add_working_days(self, moment: datetime, days: int) -> datetime:
        local, left = moment.astimezone(TZ), days
        day = local.date()
        while left:
            day += timedelta(days=1)
            left -= self.is_working_day(day)
        return datetime.combine(day, local.time(), tzinfo=TZ)


CALENDAR = Written()


@dataclass
class Plan:
    """One ticket's script: when it is opened, at what priority, and what people do to it."""

    index: int
    created: datetime
    priority: str
    language: str
    assignee: str | None
    actions: list[tuple[datetime, str, str]] = field(default_factory=list)  # (when, what, argument)
    number: str = ""


Run = tuple[App, list[Plan], list[Queued]]  # the desk after the fortnight, the script, what the sweeps said


def _script(seed: int = 20260914) -> list[Plan]:
    rnd = random.Random(seed)
    plans: list[Plan] = []
    span = (at("2026-09-24", 18) - START).total_seconds()
    for i in range(200):
        created = START + timedelta(minutes=rnd.randrange(int(span // 60)))
        priority = rnd.choices(["P1", "P2", "P3", "P4"], weights=[15, 25, 35, 25])[0]
        plan = Plan(i, created, priority, "en" if i % 10 == 0 else "zh",
                    None if i % 11 == 0 else ENGINEERS[i % len(ENGINEERS)])

        def later(base: datetime, lo: float, hi: float) -> datetime:
            return base + timedelta(minutes=rnd.randrange(int(lo * 60), int(hi * 60)))

        kind = rnd.choices(["silent", "answered", "waiting", "raised", "closed"], weights=[20, 30, 20, 15, 15])[0]
        if kind == "answered":
            reply = later(created, 0.5, 6)
            resolve = later(reply, 20, 60)
            plan.actions += [(reply, "reply", Status.IN_PROGRESS.value), (resolve, "resolve", "")]
            if rnd.random() < 0.5:
                plan.actions.append((later(resolve, 1, 20), "confirm", ""))
        elif kind == "waiting":
            ask = later(created, 0.5, 4)
            back = later(ask, 4, 48)
            plan.actions += [(ask, "reply", Status.WAITING_USER.value), (back, "resume", ""),
                             (later(back, 20, 40), "resolve", "")]
        elif kind == "raised" and priority in ("P3", "P4"):
            plan.actions.append((later(created, 1, 8), "raise", rnd.choice(["P1", "P2"])))
        elif kind == "closed":
            reply = later(created, 0.5, 3)
            plan.actions += [(reply, "reply", Status.IN_PROGRESS.value), (later(reply, 2, 30), "close", "")]
        plans.append(plan)
    return plans


def _timeline(plans: list[Plan]) -> list[tuple[datetime, int, Plan, str, str]]:
    events = [(p.created, 0, p, "create", "") for p in plans]
    events += [(when, 1, p, what, arg) for p in plans for when, what, arg in p.actions]
    return sorted(events, key=lambda e: (e[0], e[1], e[2].index))


def _act(app: App, plan: Plan, when: datetime, what: str, arg: str) -> None:
    if what == "create":
        plan.number = new_ticket(app, when, plan.priority, subject=f"问题 {plan.index}：系统报错",
                                 assignee=plan.assignee, language=plan.language)
    elif what == "reply":
        staff_reply(app, plan.number, when, sender=plan.assignee or ENGINEER, status=Status(arg))
    elif what == "resume":
        reporter_reply(app, plan.number, when)
    elif what == "resolve":
        set_status(app, plan.number, when, Status.RESOLVED, note="已处理")
    elif what == "confirm":  # the reporter answers 已解决 and the conversation closes the ticket
        reporter_reply(app, plan.number, when, resume=False)
        set_status(app, plan.number, when, Status.CLOSED)
    elif what == "close":
        set_status(app, plan.number, when, Status.CLOSED)
    elif what == "raise":
        raise_priority(app, plan.number, when, arg)


@pytest.fixture(scope="module")
def fortnight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Run the fortnight once for every check in this file."""
    tmp = tmp_path_factory.mktemp("fortnight")
    opener_gen = desks(tmp, f"sqlite:///{tmp / 'desk.db'}")
    # the fortnight pins the business clock for every priority (the 7×24 one: tests/test_urgent_clock.py)
    opener = partial(next(opener_gen), priorities=priorities_on(P1="business"))
    app, second = opener(), opener()
    plans = _script()
    pending = _timeline(plans)
    queued: list[Queued] = []
    for now in moments(START, END, TICK):
        while pending and pending[0][0] <= now:
            when, _, plan, what, arg = pending.pop(0)
            _act(app, plan, when, what, arg)
        if now == RESTART:
            app.close()
            app = opener()
        queued += sweep(app, now)
        if SECOND_DAEMON[0] <= now < SECOND_DAEMON[1]:
            queued += sweep(second, now)
    yield app, plans, queued
    next(opener_gen, None)


@dataclass
class _State:
    status: Status
    priority: str
    level: int = 0
    pauses: list[tuple[datetime, datetime]] = field(default_factory=list)
    paused_at: datetime | None = None
    heard: datetime | None = None  # last mail the reporter got, progress included
    heard_other: datetime | None = None  # ... progress excluded
    resumed: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reminded: bool = False
    surveyed: bool = False
    last_progress: datetime | None = None


def _active_due(cal: Written, created: datetime, hours: float, pauses: list[Span]) -> datetime:
    """When `hours` of business time have run since `created`, the clock standing still in each pause."""
    t, left = created, hours * 3600
    for start, end in pauses:
        run = cal.business_seconds_between(t, start)
        if run >= left:
            break
        left -= run
        t = end
    return cal.add_business_seconds(t, left)


def _oracle(app: App, plans: list[Plan]) -> tuple[Counter[tuple[str, str, int | None, datetime]], dict[str, list]]:
    """Replay the script against the policy: the mails that must exist, and each ticket's waiting spans."""
    cal, targets, daily_at = CALENDAR, app.desk.targets, app.settings.sla.daily_summary_at
    expected: Counter[tuple[str, str, int | None, datetime]] = Counter()
    states: dict[str, _State] = {}
    waits: dict[str, list] = {}
    pending = _timeline(plans)
    for tick in moments(START, END, TICK):
        while pending and pending[0][0] <= tick:
            when, _, plan, what, arg = pending.pop(0)
            s = states.get(plan.number)
            if what == "create":
                states[plan.number] = _State(Status.ASSIGNED if plan.assignee else Status.NEW, plan.priority)
                waits[plan.number] = []
            elif s is None:
                continue
            elif what == "reply":
                s.status, s.heard, s.heard_other = Status(arg), when, when
                if s.status == Status.WAITING_USER:
                    s.paused_at = when
            elif what == "resume":
                assert s.paused_at is not None
                s.pauses.append((s.paused_at, when))
                waits[plan.number].append((s.paused_at, when))
                s.status, s.resumed, s.paused_at = Status.IN_PROGRESS, when, None
            elif what == "resolve":
                s.status, s.resolved_at = Status.RESOLVED, when
            elif what in ("confirm", "close"):
                s.status, s.closed_at = Status.CLOSED, when
            elif what == "raise":
                s.priority = arg
        if not cal.is_business_time(tick):
            continue
        for plan in plans:
            s = states.get(plan.number)
            if s is None:
                continue
            n = plan.number
            target = targets[s.priority]
            if s.status in ACTIVE:
                while s.level < len(target.escalation) and \
                        _active_due(cal, plan.created, target.escalation[s.level].after_hours, s.pauses) <= tick:
                    s.level += 1
                    expected[("escalation", n, s.level, tick)] += 1
            if s.status == Status.RESOLVED and s.resolved_at is not None:
                if tick >= cal.add_working_days(s.resolved_at, 3):
                    expected[("closed", n, None, tick)] += 1
                    s.status, s.closed_at = Status.CLOSED, tick
                elif tick >= cal.add_working_days(s.resolved_at, 2) and not s.reminded:
                    expected[("confirm", n, None, tick)] += 1
                    s.reminded = True
            if s.status == Status.CLOSED and not s.surveyed and s.closed_at is not None:
                expected[("survey", n, None, tick)] += 1
                s.surveyed = True
            if s.status not in ACTIVE:
                continue
            if target.progress_hours is not None:
                anchor = max(a for a in (plan.created, s.heard, s.resumed) if a is not None)
                send = cal.add_business_hours(anchor, target.progress_hours) <= tick
            else:
                written = max(a for a in (plan.created, s.heard_other, s.resumed) if a is not None).astimezone(TZ)
                local = tick.astimezone(TZ)
                send = local.time() == daily_at and written.date() < local.date() and \
                    (s.last_progress is None or s.last_progress.astimezone(TZ).date() < local.date())
            if send:
                expected[("progress", n, None, tick)] += 1
                s.heard = s.last_progress = tick
    return expected, waits


def test_every_mail_the_policy_calls_for_is_sent_once_at_its_time(fortnight: Run) -> None:
    """Escalations, progress, confirmation reminders, closings and surveys: exactly the oracle's list, to the minute."""
    app, plans, _ = fortnight
    expected, _ = _oracle(app, plans)
    by_number = {p.number: p for p in plans}
    actual: Counter[tuple[str, str, int | None, datetime]] = Counter()
    for sent in outbox(app):
        if sent.kind in CHECKED and sent.ticket in by_number:
            level = int(sent.key.rsplit(":", 1)[1]) if sent.kind == "escalation" and sent.key else None
            actual[(sent.kind, sent.ticket, level, sent.at)] += 1
    missing, extra = expected - actual, actual - expected
    assert not missing and not extra, (sorted(missing)[:5], sorted(extra)[:5])
    kinds = Counter(kind for kind, *_ in expected.elements())
    assert all(kinds[k] > 0 for k in CHECKED), kinds  # the script exercises every kind


def test_nothing_twice_nothing_after_hours_nothing_while_waiting(fortnight: Run) -> None:
    """Across a restart and a second daemon: no mail twice, none outside business hours, none to a waiting ticket."""
    app, plans, queued = fortnight
    # a ticket closed after its target asks for a review (复盘) when a person closes it, not when a sweep runs
    mails = [m for m in outbox(app) if m.kind != "review"]
    assert len([q for q in queued if q.kind != "review"]) == len(mails)  # each mail reported by exactly one sweep
    keys = Counter(s.key for s in mails)
    assert max(keys.values()) == 1
    _, waits = _oracle(app, plans)
    for sent in mails:
        assert CALENDAR.is_business_time(sent.at), (sent.kind, sent.ticket, sent.at)
        if sent.ticket and sent.kind in ("progress", "reminder", "escalation"):
            assert not any(a < sent.at < b for a, b in waits[sent.ticket]), (sent.kind, sent.ticket, sent.at)
    reminders = Counter((s.ticket, s.key) for s in mails if s.kind == "reminder")
    assert reminders and max(reminders.values()) == 1


def test_digests_once_per_period_and_recipient(fortnight: Run) -> None:
    """Daily digests on each of the 11 working days to 3 supervisors; hourly ones at most once an hour each."""
    app, _, _ = fortnight
    digests = outbox(app, "digest")
    daily = [s for s in digests if s.key and ":daily:" in s.key]
    days = {s.at.date() for s in daily}
    assert len(days) == 11 and len(daily) == 33
    assert all(CALENDAR.is_working_day(d) for d in days)
    hourly = Counter((s.at.strftime("%m-%d %H"), s.to) for s in digests if s.key and ":hourly:" in s.key)
    assert hourly and max(hourly.values()) == 1


def test_raised_tickets_have_the_new_priority_deadlines(fortnight: Run) -> None:
    """A priority raised mid-way leaves the ticket with the new priority's resolution deadline from its creation."""
    app, plans, _ = fortnight
    raised = [p for p in plans if any(what == "raise" for _, what, _ in p.actions)]
    assert raised
    for plan in raised:
        t = ticket(app, plan.number)
        new = next(arg for _, what, arg in plan.actions if what == "raise")
        assert t.priority == new and t.resolve_due is not None
        assert t.resolve_due == CALENDAR.add_business_hours(plan.created, app.desk.targets[new].resolve_hours)

"""Business calendar and SLA deadlines: pure functions of aware datetimes, no database, no clock.

Every SLA and "working day" figure goes through `BusinessHours`, so that 国庆 or a Friday
evening does not count against an engineer, and a make-up Saturday (调休补班) does.
Business time is counted on the calendar's local wall clock, in whole microseconds, so that
`business_seconds_between` is the exact inverse of `add_business_seconds`; the arithmetic
walks day by day (never minute by minute) because the SLA sweep runs it for every open ticket.
A priority on the 7×24 clock (`RoundTheClock`, P1 by default) asks the same questions of a
clock on which every hour counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from maildesk.calendar_cn import china_days
from maildesk.errors import MaildeskError

_US = 1_000_000
_DAY_US = 86_400 * _US
_ONE_DAY = timedelta(days=1)
_END_OF_DAY = time(23, 59, 59)
_UTC = ZoneInfo("UTC")
_MON_FRI = frozenset({1, 2, 3, 4, 5})


class CalendarError(MaildeskError, ValueError):
    """A calendar, an SLA target or a datetime given to the SLA maths is unusable."""


def _us_of_day(t: datetime | time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US + t.microsecond


@dataclass(frozen=True)
class BusinessHours:
    """When the support team works: daily hours, optional lunch break, weekdays, holidays.

    `holidays` are days off even on a working weekday; `extra_workdays` are days worked even
    on a weekend (make-up days). Intervals are half-open: 18:00 is already after hours.
    """

    tz: ZoneInfo
    start: time = time(9, 0)
    end: time = time(18, 0)
    lunch: tuple[time, time] | None = None
    workdays: frozenset[int] = _MON_FRI
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    # Working intervals of a working day, in microseconds after local midnight.
    _spans: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("workdays", "holidays", "extra_workdays"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        times = [self.start, self.end, *(self.lunch or ())]
        if any(t.tzinfo is not None for t in times):
            raise CalendarError("business hours are local times: give them without a timezone")
        if self.end <= self.start:
            raise CalendarError(f"business hours: end {self.end} must be after start {self.start}")
        if not self.workdays or not self.workdays <= frozenset(range(1, 8)):
            raise CalendarError(f"workdays must be ISO weekdays 1..7, at least one: {sorted(self.workdays)}")
        if both := self.holidays & self.extra_workdays:
            raise CalendarError(f"days both off and working: {', '.join(map(str, sorted(both)))}")
        start, end = _us_of_day(self.start), _us_of_day(self.end)
        spans: tuple[tuple[int, int], ...] = ((start, end),)
        if self.lunch is not None:
            lunch_start, lunch_end = map(_us_of_day, self.lunch)
            if not start <= lunch_start < lunch_end <= end:
                raise CalendarError(f"lunch {self.lunch[0]}–{self.lunch[1]} must lie inside business hours")
            spans = tuple((a, b) for a, b in ((start, lunch_start), (lunch_end, end)) if a < b)
        object.__setattr__(self, "_spans", spans)

    @classmethod
    def china(
        cls,
        tz: ZoneInfo,
        years: Iterable[int],
        *,
        start: time = time(9, 0),
        end: time = time(18, 0),
        lunch: tuple[time, time] | None = None,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        workdays: frozenset[int] = _MON_FRI,
    ) -> BusinessHours:
        """A calendar with mainland China's public holidays and make-up working days for `years`.

        The operator's `extra_holidays` / `extra_workdays` win over the official table (a
        company closed on a make-up Saturday, or open on a public holiday).
        """
        off_extra, on_extra = frozenset(extra_holidays), frozenset(extra_workdays)
        if both := off_extra & on_extra:
            raise CalendarError(f"days both extra holidays and extra workdays: {sorted(map(str, both))}")
        off, make_up = china_days(years, filled={d.year for d in off_extra | on_extra})
        return cls(
            tz=tz,
            start=start,
            end=end,
            lunch=lunch,
            workdays=workdays,
            holidays=(off - on_extra) | off_extra,
            extra_workdays=(make_up - off_extra) | on_extra,
        )

    def _local(self, dt: datetime) -> datetime:
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise CalendarError(f"naive datetime {dt.isoformat()}: SLA maths needs an aware datetime")
        return dt.astimezone(self.tz)

    def _at(self, day: date, us: int) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(microseconds=us)

    def _overlap_us(self, day: date, lo: int, hi: int) -> int:
        if not self.is_working_day(day):
            return 0
        return sum(max(0, min(hi, b) - max(lo, a)) for a, b in self._spans)

    @property
    def day_seconds(self) -> float:
        """Business seconds in one full working day (lunch excluded)."""
        return sum(b - a for a, b in self._spans) / _US

    def is_working_day(self, d: date) -> bool:
        """Whether `d` is a working day: a make-up day, or a workday weekday that is no holiday."""
        if d in self.holidays:
            return False
        return d in self.extra_workdays or d.isoweekday() in self.workdays

    def is_business_time(self, dt: datetime) -> bool:
        """Whether the team is at work at `dt`."""
        local = self._local(dt)
        t = _us_of_day(local)
        return self.is_working_day(local.date()) and any(a <= t < b for a, b in self._spans)

    def next_business_moment(self, dt: datetime) -> datetime:
        """`dt` itself (in the calendar's zone) if in business time, else when business next resumes."""
        local = self._local(dt)
        day, t = local.date(), _us_of_day(local)
        while True:
            if self.is_working_day(day):
                for a, b in self._spans:
                    if t < b:
                        return local if t >= a else self._at(day, a)
            day, t = day + _ONE_DAY, 0

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of business time after `start`; a budget used up at closing ends there."""
        if seconds < 0:
            raise CalendarError(f"cannot add negative business time: {seconds}")
        local = self._local(start)
        remaining = round(seconds * _US)
        if remaining == 0:
            return local
        day, t = local.date(), _us_of_day(local)
        while True:
            if self.is_working_day(day):
                for a, b in self._spans:
                    if t < b:
                        begin = max(t, a)
                        if remaining <= b - begin:
                            return self._at(day, begin + remaining)
                        remaining -= b - begin
            day, t = day + _ONE_DAY, 0

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of business time after `start` (Friday 17:00 + 2 h = Monday 10:00)."""
        return self.add_business_seconds(start, hours * 3600)

    def business_seconds_between(self, a: datetime, b: datetime) -> float:
        """Business seconds from `a` to `b`; 0 when `b` is not after `a`."""
        la, lb = self._local(a), self._local(b)
        if lb <= la:
            return 0.0
        da, db = la.date(), lb.date()
        ta, tb = _us_of_day(la), _us_of_day(lb)
        if da == db:
            return self._overlap_us(da, ta, tb) / _US
        total = self._overlap_us(da, ta, _DAY_US) + self._overlap_us(db, 0, tb)
        full = sum(b - a for a, b in self._spans)
        day = da + _ONE_DAY
        while day < db:
            if self.is_working_day(day):
                total += full
            day += _ONE_DAY
        return total / _US

    def add_working_days(self, dt: datetime, n: int) -> datetime:
        """The same local time `n` working days later (earlier when `n` < 0)."""
        local = self._local(dt)
        day, step, left = local.date(), (_ONE_DAY if n >= 0 else -_ONE_DAY), abs(n)
        while left:
            day += step
            if self.is_working_day(day):
                left -= 1
        return datetime.combine(day, local.time(), tzinfo=self.tz)

    def next_local_time(self, dt: datetime, at: time, working_days_only: bool = True) -> datetime:
        """The first local `at` strictly after `dt`, on a working day unless told otherwise."""
        if at.tzinfo is not None:
            raise CalendarError(f"{at} is a local time: give it without a timezone")
        local = self._local(dt)
        day = local.date()
        while True:
            candidate = datetime.combine(day, at, tzinfo=self.tz)
            if candidate > local and (not working_days_only or self.is_working_day(day)):
                return candidate
            day += _ONE_DAY


ClockName = Literal["24x7", "business"]


class Clock(Protocol):
    """What SLA maths asks of a clock: business hours, or round the clock (7×24) for the most urgent work."""

    @property
    def tz(self) -> ZoneInfo: ...

    def is_working_day(self, d: date) -> bool: ...

    def is_business_time(self, dt: datetime) -> bool: ...

    def next_business_moment(self, dt: datetime) -> datetime: ...

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime: ...

    def add_business_hours(self, start: datetime, hours: float) -> datetime: ...

    def business_seconds_between(self, a: datetime, b: datetime) -> float: ...

    def next_local_time(self, dt: datetime, at: time, working_days_only: bool = True) -> datetime: ...


@dataclass(frozen=True)
class RoundTheClock:
    """The 7×24 clock: every hour of every day counts, nights, weekends and holidays alike.

    Same questions as `BusinessHours`, so a priority on this clock (P1 by default) runs its
    deadlines, pauses and escalation ladder through the same code, only without office hours.
    """

    tz: ZoneInfo

    def _local(self, dt: datetime) -> datetime:
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise CalendarError(f"naive datetime {dt.isoformat()}: SLA maths needs an aware datetime")
        return dt.astimezone(self.tz)

    @property
    def day_seconds(self) -> float:
        return 86_400.0

    def is_working_day(self, d: date) -> bool:
        return True

    def is_business_time(self, dt: datetime) -> bool:
        self._local(dt)
        return True

    def next_business_moment(self, dt: datetime) -> datetime:
        return self._local(dt)

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime:
        if seconds < 0:
            raise CalendarError(f"cannot add negative business time: {seconds}")
        # in UTC: a day that springs forward is 23 hours long on a 7×24 desk too
        return (self._local(start).astimezone(_UTC) + timedelta(microseconds=round(seconds * _US))).astimezone(self.tz)

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        return self.add_business_seconds(start, hours * 3600)

    def business_seconds_between(self, a: datetime, b: datetime) -> float:
        # in UTC: datetimes sharing a zone subtract as wall clocks, and miss a DST hour
        la, lb = self._local(a).astimezone(_UTC), self._local(b).astimezone(_UTC)
        return max(0.0, (lb - la).total_seconds())

    def next_local_time(self, dt: datetime, at: time, working_days_only: bool = True) -> datetime:
        if at.tzinfo is not None:
            raise CalendarError(f"{at} is a local time: give it without a timezone")
        local = self._local(dt)
        candidate = datetime.combine(local.date(), at, tzinfo=self.tz)
        return candidate if candidate > local else datetime.combine(local.date() + _ONE_DAY, at, tzinfo=self.tz)


@dataclass(frozen=True)
class EscalationStep:
    """Tell `to_role` (lead, manager, director) once a ticket is unresolved `after_hours` business hours."""

    after_hours: float
    to_role: str

    def __post_init__(self) -> None:
        if not self.after_hours > 0 or not self.to_role:
            raise CalendarError(f"escalation step needs positive hours and a role: {self}")


@dataclass(frozen=True)
class PriorityTargets:
    """Service targets of one priority, in business hours from creation.

    `progress_hours` is the cadence of progress mails; None means one daily summary at a fixed
    local time instead. The escalation ladder is climbed in order of `after_hours`.
    """

    code: str
    start_hours: float
    response_hours: float
    progress_hours: float | None
    resolve_hours: float
    escalation: tuple[EscalationStep, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "escalation", tuple(self.escalation))
        hours = [self.start_hours, self.response_hours, self.resolve_hours]
        if self.progress_hours is not None:
            hours.append(self.progress_hours)
        if not all(h > 0 for h in hours):
            raise CalendarError(f"{self.code}: SLA targets must be positive hours")
        ladder = [step.after_hours for step in self.escalation]
        if ladder != sorted(set(ladder)):
            raise CalendarError(f"{self.code}: escalation steps must have rising after_hours: {ladder}")


@dataclass(frozen=True)
class Deadlines:
    """When work must have started, the reporter been answered, and the ticket be resolved."""

    start_due: datetime
    response_due: datetime
    resolve_due: datetime


def _shifted(created_at: datetime, hours: float, calendar: Clock, paused_seconds: float) -> datetime:
    if paused_seconds < 0:
        raise CalendarError(f"paused time cannot be negative: {paused_seconds}")
    return calendar.add_business_seconds(created_at, hours * 3600 + paused_seconds)


def compute_deadlines(
    created_at: datetime, targets: PriorityTargets, calendar: Clock, paused_seconds: float = 0
) -> Deadlines:
    """Deadlines of a ticket; business time spent waiting on the reporter pushes each one back."""
    return Deadlines(
        start_due=_shifted(created_at, targets.start_hours, calendar, paused_seconds),
        response_due=_shifted(created_at, targets.response_hours, calendar, paused_seconds),
        resolve_due=_shifted(created_at, targets.resolve_hours, calendar, paused_seconds),
    )


def escalation_due(
    created_at: datetime, step: EscalationStep, calendar: Clock, paused_seconds: float = 0
) -> datetime:
    """When an unresolved ticket reaches `step` of its escalation ladder."""
    return _shifted(created_at, step.after_hours, calendar, paused_seconds)


def progress_due(
    last_update: datetime, targets: PriorityTargets, calendar: Clock, daily_at: time = time(17, 0)
) -> datetime:
    """When the next progress mail is due after `last_update` (cadence, or the daily summary time)."""
    if targets.progress_hours is None:
        return calendar.next_local_time(last_update, daily_at, working_days_only=True)
    return calendar.add_business_hours(last_update, targets.progress_hours)


def daily_summary_due(written: datetime, last_heard: datetime | None, calendar: Clock, daily_at: time) -> datetime:
    """When a ticket on the daily summary (a priority without a cadence) may next get one: at ``daily_at`` on a
    working day after the day it was last written to (``written``, the desk's day), and no earlier than the first
    ``daily_at`` after the last mail its reporter got (``last_heard``): one summary a day at most."""
    day = written.astimezone(calendar.tz).date()
    due = calendar.next_local_time(datetime.combine(day, _END_OF_DAY, tzinfo=calendar.tz), daily_at)
    if last_heard is not None:
        due = max(due, calendar.next_local_time(last_heard, daily_at))
    return due

"""Report periods: a week (Monday to Sunday), a month, or any run of days, in the desk's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from maildesk.errors import MaildeskError

__all__ = ["Period", "PeriodError", "custom_period", "last_complete", "month_of", "week_of"]


class Words(Protocol):
    """What a title is written with: the report's phrases (``reports.sections.Labels``)."""

    def t(self, key: str, **values: object) -> str: ...


class PeriodError(MaildeskError):
    """A report period that makes no sense (ends before it starts)."""


@dataclass(frozen=True)
class Period:
    """Whole local days ``first`` to ``last`` inclusive; ``start``/``end`` are the half-open instants."""

    kind: str  # week, month, custom
    first: date
    last: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=self.tz)

    @property
    def key(self) -> str:
        """A stable name of the period, for the idempotency key of its report mail."""
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"week:{year}-W{week:02d}"
        if self.kind == "month":
            return f"month:{self.first:%Y-%m}"
        return f"days:{self.first.isoformat()}..{self.last.isoformat()}"

    def title(self, labels: Words) -> str:
        """技术支持周报 2026 年第 47 周 / Support weekly report 2026-W47."""
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return labels.t("report.title_week", year=year, week=week)
        if self.kind == "month":
            return labels.t("report.title_month", year=self.first.year, month=self.first.month)
        return labels.t("report.title_days")


def week_of(day: date, tz: ZoneInfo) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period("week", monday, monday + timedelta(days=6), tz)


def month_of(day: date, tz: ZoneInfo) -> Period:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period("month", first, following - timedelta(days=1), tz)


def last_complete(kind: str, now: datetime, tz: ZoneInfo) -> Period:
    """The last whole week or month before ``now`` (what a Monday or a 1st-of-month report covers)."""
    today = now.astimezone(tz).date()
    if kind == "week":
        return week_of(today - timedelta(days=today.weekday() + 1), tz)
    if kind == "month":
        return month_of(today.replace(day=1) - timedelta(days=1), tz)
    raise PeriodError(f"unknown period {kind!r} (week or month)")


def custom_period(first: date, last: date, tz: ZoneInfo) -> Period:
    if last < first:
        raise PeriodError(f"the period ends ({last}) before it starts ({first})")
    return Period("custom", first, last, tz)

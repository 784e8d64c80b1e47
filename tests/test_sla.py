"""The business calendar and SLA deadlines: explicit datetimes, no sleeping, no database."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from maildesk import calendar_cn
from maildesk.config import parse_settings
from maildesk.desk.setup import Desk
from maildesk.errors import MaildeskError
from maildesk.sla import (
    BusinessHours,
    CalendarError,
    EscalationStep,
    PriorityTargets,
    compute_deadlines,
    escalation_due,
    progress_due,
)

SH = ZoneInfo("Asia/Shanghai")
LUNCH = (time(12, 0), time(13, 30))
NEW_YEAR = date(2026, 1, 1)

# the targets of the default configuration (config.py): P1 2 h … P4 24 h
TARGETS = Desk(parse_settings({}, Path("."))).targets


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


@pytest.fixture(scope="module")
def cal() -> BusinessHours:
    return BusinessHours.china(SH, years=range(2024, 2027))


@pytest.fixture(scope="module")
def cal_lunch() -> BusinessHours:
    return BusinessHours.china(SH, years=range(2024, 2027), lunch=LUNCH)


def test_friday_evening_plus_hours_lands_on_monday(cal: BusinessHours) -> None:
    """Two business hours from Friday 17:00 end on Monday 10:00; Friday evening counts from Monday 09:00."""
    assert cal.add_business_hours(at(2026, 11, 20, 17), 2) == at(2026, 11, 23, 10)
    assert cal.add_business_hours(at(2026, 11, 20, 19, 30), 1) == at(2026, 11, 23, 10)
    assert cal.add_business_hours(at(2026, 11, 21, 11), 0.5) == at(2026, 11, 23, 9, 30)


def test_budget_used_up_at_closing_time_ends_that_day(cal: BusinessHours) -> None:
    """A deadline that falls exactly at 18:00 stays on that day rather than jumping to the next morning."""
    assert cal.add_business_hours(at(2026, 11, 20, 17), 1) == at(2026, 11, 20, 18)
    assert cal.add_business_hours(at(2026, 11, 23, 9), 9) == at(2026, 11, 23, 18)
    assert not cal.is_business_time(at(2026, 11, 20, 18))


def test_lunch_break_is_skipped(cal_lunch: BusinessHours) -> None:
    """With a 12:00–13:30 lunch break, 11:30 + 1 h is 14:00 and lunch counts for nothing."""
    assert cal_lunch.add_business_hours(at(2026, 11, 23, 11, 30), 1) == at(2026, 11, 23, 14)
    assert cal_lunch.business_seconds_between(at(2026, 11, 23, 11), at(2026, 11, 23, 14)) == 1.5 * 3600
    assert not cal_lunch.is_business_time(at(2026, 11, 23, 12, 30))
    assert cal_lunch.next_business_moment(at(2026, 11, 23, 12, 30)) == at(2026, 11, 23, 13, 30)
    assert cal_lunch.day_seconds == 7.5 * 3600


def test_national_day_2026_span_is_off_and_make_up_days_work(cal: BusinessHours) -> None:
    """国庆 2026 is Oct 1–7 off (中秋 is Sep 25 this year); Sunday Sep 20 and Saturday Oct 10 are worked."""
    for day in range(1, 8):
        assert not cal.is_working_day(date(2026, 10, day)), day
    assert cal.is_working_day(date(2026, 10, 8))
    assert cal.is_working_day(date(2026, 9, 20))
    assert cal.is_working_day(date(2026, 10, 10))
    assert not cal.is_working_day(date(2026, 9, 25))
    assert not cal.is_working_day(date(2026, 10, 11))
    assert cal.add_business_hours(at(2026, 9, 30, 17), 2) == at(2026, 10, 8, 10)
    assert cal.add_business_hours(at(2026, 10, 9, 17), 2) == at(2026, 10, 10, 10)


def test_spring_festival_2026_span(cal: BusinessHours) -> None:
    """春节 2026 is Feb 15–23 off and the Saturdays Feb 14 and 28 are worked, so tickets wait."""
    for offset in range(9):
        assert not cal.is_working_day(date(2026, 2, 15) + timedelta(days=offset))
    assert cal.is_working_day(date(2026, 2, 14))
    assert cal.is_working_day(date(2026, 2, 24))
    assert cal.is_working_day(date(2026, 2, 28))
    assert cal.add_business_hours(at(2026, 2, 13, 17), 2) == at(2026, 2, 14, 10)
    assert cal.add_business_hours(at(2026, 2, 14, 17), 2) == at(2026, 2, 24, 10)
    assert cal.business_seconds_between(at(2026, 2, 14, 18), at(2026, 2, 24, 9)) == 0


@pytest.mark.parametrize(
    "day",
    [
        # State Council notices for 2024, 2025 and 2026 (国务院办公厅关于…部分节假日安排的通知).
        *(date(2024, m, d) for m, d in [(2, 4), (2, 18), (4, 7), (4, 28), (5, 11), (9, 14), (9, 29)]),
        date(2024, 10, 12),
        *(date(2025, m, d) for m, d in [(1, 26), (2, 8), (4, 27), (9, 28), (10, 11)]),
        *(date(2026, m, d) for m, d in [(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)]),
    ],
)
def test_official_make_up_days_are_working_days(cal: BusinessHours, day: date) -> None:
    """Every weekend make-up day (调休补班) announced for 2024–2026 is a working day."""
    assert day.isoweekday() in (6, 7)
    assert cal.is_working_day(day)


def test_operator_overrides_win_over_the_official_table() -> None:
    """An office closed on a make-up Saturday, or open on a public holiday, says so and is believed."""
    custom = BusinessHours.china(
        SH, years=[2026], extra_holidays=[date(2026, 10, 10)], extra_workdays=[date(2026, 10, 7)]
    )
    assert not custom.is_working_day(date(2026, 10, 10))
    assert custom.is_working_day(date(2026, 10, 7))
    with pytest.raises(CalendarError):
        same = [date(2026, 5, 6)]
        BusinessHours.china(SH, years=[2026], extra_holidays=same, extra_workdays=same)


@pytest.fixture
def schedule_warnings(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """The warnings about missing 调休 schedules so far, in a process that had said none."""
    monkeypatch.setattr(calendar_cn, "_warned", set())
    caplog.set_level(logging.WARNING, logger="maildesk.calendar_cn")
    return lambda: caplog.messages


def test_year_without_published_schedule_is_warned_about(schedule_warnings: Callable[[], list[str]]) -> None:
    """A year whose 调休 notice the holidays package lacks logs a warning naming the year and what to set."""
    BusinessHours.china(SH, years=[2026, 2040])
    [warning] = schedule_warnings()
    assert "for 2040" in warning and "extra_workdays" in warning


def test_the_missing_schedule_is_said_once_a_process(schedule_warnings: Callable[[], list[str]]) -> None:
    """Every command builds the calendar, the daemon again each December and New Year: the operator reads the
    warning once, not at each."""
    for _ in range(3):
        BusinessHours.china(SH, years=[2039, 2040])
    BusinessHours.china(SH, years=[2040, 2041])
    assert [m.split(" for ")[1][:4] for m in schedule_warnings()] == ["2039", "2040", "2041"]


def test_no_warning_for_a_year_the_operators_own_days_fill(schedule_warnings: Callable[[], list[str]]) -> None:
    """Having done what the warning asks (that year's make-up days, or days off, in the config), the operator
    hears no more of it; a year they left alone is still warned about."""
    BusinessHours.china(SH, years=[2040], extra_workdays=[date(2040, 2, 4)])
    BusinessHours.china(SH, years=[2040], extra_holidays=[date(2040, 10, 8)])
    assert schedule_warnings() == []
    BusinessHours.china(SH, years=[2040, 2041], extra_workdays=[date(2040, 2, 4)])
    [warning] = schedule_warnings()
    assert "for 2041" in warning


def test_between_is_the_inverse_of_add(cal_lunch: BusinessHours) -> None:
    """For many random starts and budgets, counting business time back gives the budget added."""
    rng = random.Random(20261123)
    origin = at(2024, 1, 1)
    for _ in range(2000):
        start = origin + timedelta(seconds=rng.randrange(3 * 365 * 86400), microseconds=rng.randrange(10**6))
        hours = rng.choice([0, 0.25, 1, 7.5, 9, 24, rng.uniform(0, 120)])
        end = cal_lunch.add_business_hours(start, hours)
        assert end >= start
        assert cal_lunch.business_seconds_between(start, end) == pytest.approx(hours * 3600, abs=1e-6)
        if hours:
            assert cal_lunch.business_seconds_between(start, end - timedelta(seconds=1)) < hours * 3600


def test_add_of_between_never_overshoots(cal: BusinessHours) -> None:
    """Adding the business time between a and b reaches b, or the last business moment before it."""
    rng = random.Random(7)
    origin = at(2025, 9, 1)
    for _ in range(1000):
        a = origin + timedelta(minutes=rng.randrange(200 * 1440))
        b = a + timedelta(minutes=rng.randrange(30 * 1440))
        reached = cal.add_business_seconds(a, cal.business_seconds_between(a, b))
        assert reached <= b
        assert cal.business_seconds_between(reached, b) == 0


def test_between_is_zero_when_b_not_after_a(cal: BusinessHours) -> None:
    """No business time passes backwards or in no time."""
    assert cal.business_seconds_between(at(2026, 11, 23, 12), at(2026, 11, 23, 10)) == 0
    assert cal.business_seconds_between(at(2026, 11, 23, 12), at(2026, 11, 23, 12)) == 0


def test_utc_datetimes_are_read_in_the_calendars_zone(cal: BusinessHours) -> None:
    """Friday 09:00 UTC is 17:00 in Shanghai, so two business hours later is Monday 10:00 Shanghai time."""
    friday_utc = datetime(2026, 11, 20, 9, tzinfo=UTC)
    due = cal.add_business_hours(friday_utc, 2)
    assert due == at(2026, 11, 23, 10)
    assert due.utcoffset() == timedelta(hours=8)
    assert cal.is_business_time(datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
    assert not cal.is_business_time(datetime(2026, 11, 23, 10, 30, tzinfo=UTC))
    assert cal.business_seconds_between(friday_utc, datetime(2026, 11, 23, 2, tzinfo=UTC)) == 7200


def test_naive_datetimes_are_rejected(cal: BusinessHours) -> None:
    """A datetime without a zone is refused with a ValueError (also a MaildeskError) instead of guessed."""
    naive = datetime(2026, 11, 23, 10)
    calls = [
        lambda: cal.is_business_time(naive),
        lambda: cal.next_business_moment(naive),
        lambda: cal.add_business_hours(naive, 1),
        lambda: cal.business_seconds_between(naive, at(2026, 11, 24)),
        lambda: cal.business_seconds_between(at(2026, 11, 22), naive),
        lambda: cal.add_working_days(naive, 1),
        lambda: cal.next_local_time(naive, time(17)),
        lambda: compute_deadlines(naive, TARGETS["P1"], cal),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="naive") as caught:
            call()
        assert isinstance(caught.value, MaildeskError)


def test_next_business_moment(cal: BusinessHours) -> None:
    """Inside hours it is the moment itself; otherwise the next opening, make-up Saturdays included."""
    inside = datetime(2026, 11, 23, 2, tzinfo=UTC)
    assert cal.next_business_moment(inside) == inside
    assert cal.next_business_moment(at(2026, 11, 21, 10)) == at(2026, 11, 23, 9)
    assert cal.next_business_moment(at(2026, 11, 23, 7)) == at(2026, 11, 23, 9)
    assert cal.next_business_moment(at(2026, 10, 9, 18)) == at(2026, 10, 10, 9)


def test_add_working_days_keeps_the_local_time(cal: BusinessHours) -> None:
    """Three working days after Sep 30 15:00 skip 国庆 and land on the make-up Saturday Oct 10 at 15:00."""
    assert cal.add_working_days(at(2026, 9, 30, 15), 3) == at(2026, 10, 10, 15)
    assert cal.add_working_days(at(2026, 11, 20, 15), 1) == at(2026, 11, 23, 15)
    assert cal.add_working_days(at(2026, 11, 23, 15), -1) == at(2026, 11, 20, 15)
    assert cal.add_working_days(at(2026, 11, 23, 15), 0) == at(2026, 11, 23, 15)


def test_daily_summary_time_is_strictly_next_and_on_working_days(cal: BusinessHours) -> None:
    """The 17:00 summary after Friday 17:00 is Monday 17:00; before it, it is the same day."""
    five = time(17)
    assert cal.next_local_time(at(2026, 11, 20, 16, 59), five) == at(2026, 11, 20, 17)
    assert cal.next_local_time(at(2026, 11, 20, 17), five) == at(2026, 11, 23, 17)
    assert cal.next_local_time(at(2026, 11, 20, 17), five, working_days_only=False) == at(2026, 11, 21, 17)
    assert cal.next_local_time(at(2026, 9, 30, 18), five) == at(2026, 10, 8, 17)


def test_default_deadlines_for_a_p1_ticket(cal: BusinessHours) -> None:
    """A P1 opened Friday 17:00 must start by Monday 10:00 and be resolved by Monday 16:00."""
    due = compute_deadlines(at(2026, 11, 20, 17), TARGETS["P1"], cal)
    assert due.start_due == at(2026, 11, 23, 10)
    assert due.response_due == at(2026, 11, 23, 10)
    assert due.resolve_due == at(2026, 11, 23, 16)
    p4 = compute_deadlines(at(2026, 11, 20, 17), TARGETS["P4"], cal)
    assert p4.start_due == at(2026, 11, 25, 14)


def test_pause_shifts_every_deadline(cal: BusinessHours) -> None:
    """Three business hours waiting on the reporter push each deadline back by three business hours."""
    created = at(2026, 11, 23, 9)
    plain = compute_deadlines(created, TARGETS["P2"], cal)
    paused = compute_deadlines(created, TARGETS["P2"], cal, paused_seconds=3 * 3600)
    assert plain.start_due == at(2026, 11, 23, 13)
    assert paused.start_due == at(2026, 11, 23, 16)
    for before, after in [
        (plain.start_due, paused.start_due),
        (plain.response_due, paused.response_due),
        (plain.resolve_due, paused.resolve_due),
    ]:
        assert cal.business_seconds_between(before, after) == 3 * 3600
    with pytest.raises(CalendarError):
        compute_deadlines(created, TARGETS["P2"], cal, paused_seconds=-1)


def test_escalation_ladder_due_times(cal: BusinessHours) -> None:
    """A P1 opened Monday 09:00 reaches the lead at 10:00, the manager at 13:00 and the director at 17:00 (later if
    paused), counted here on business hours."""
    created = at(2026, 11, 23, 9)
    lead, manager, director = TARGETS["P1"].escalation
    assert (lead.to_role, manager.to_role, director.to_role) == ("lead", "manager", "director")
    assert escalation_due(created, lead, cal) == at(2026, 11, 23, 10)
    assert escalation_due(created, manager, cal) == at(2026, 11, 23, 13)
    assert escalation_due(created, director, cal) == at(2026, 11, 23, 17)
    assert escalation_due(created, director, cal, paused_seconds=3600) == at(2026, 11, 23, 18)


def test_progress_cadence_by_priority(cal: BusinessHours) -> None:
    """P1 progress is due one business hour later; P3 waits for the next 17:00 summary on a working day."""
    last = at(2026, 11, 20, 17, 30)
    assert progress_due(last, TARGETS["P1"], cal) == at(2026, 11, 23, 9, 30)
    assert progress_due(last, TARGETS["P3"], cal) == at(2026, 11, 23, 17)
    assert progress_due(last, TARGETS["P3"], cal, daily_at=time(18)) == at(2026, 11, 20, 18)


@pytest.mark.parametrize(
    "build",
    [
        lambda: BusinessHours(SH, start=time(18), end=time(9)),
        lambda: BusinessHours(SH, lunch=(time(8), time(9, 30))),
        lambda: BusinessHours(SH, lunch=(time(13), time(12))),
        lambda: BusinessHours(SH, workdays=frozenset()),
        lambda: BusinessHours(SH, workdays=frozenset({0, 1})),
        lambda: BusinessHours(SH, holidays=frozenset({NEW_YEAR}), extra_workdays=frozenset({NEW_YEAR})),
        lambda: PriorityTargets("P9", 0, 1, None, 1),
        lambda: PriorityTargets("P9", 1, 1, None, 8, (EscalationStep(8, "boss"), EscalationStep(4, "lead"))),
        lambda: EscalationStep(0, "manager"),
    ],
)
def test_bad_calendars_and_targets_are_refused(build: Callable[[], object]) -> None:
    """Hours ending before they start, lunch outside hours, no workdays or a falling ladder are refused."""
    with pytest.raises(CalendarError):
        build()


def test_plain_calendar_without_holidays_counts_weekdays_only() -> None:
    """A calendar built by hand with a lunch break works every Monday–Friday and nothing else."""
    plain = BusinessHours(SH, lunch=LUNCH)
    assert plain.is_working_day(date(2026, 10, 1))
    assert not plain.is_working_day(date(2026, 10, 10))
    assert plain.business_seconds_between(at(2026, 11, 16), at(2026, 11, 23)) == 5 * 7.5 * 3600


def test_a_long_running_daemon_learns_next_years_holidays_in_december(tmp_path: Path) -> None:
    """Started in November, the desk does not yet know 2027; from December (and after New Year) it does."""
    from maildesk.app import App
    from maildesk.config import parse_settings

    app = App(parse_settings({"database": f"sqlite:///{tmp_path / 'd.db'}"}, tmp_path))
    new_year_2027 = date(2027, 1, 1)  # a Friday: a working day only to a calendar that has no 2027
    november = app.desk.calendar_on(date(2026, 11, 23))
    assert november.is_working_day(new_year_2027)
    assert app.desk.calendar_on(date(2026, 11, 30)) is november  # not rebuilt every call
    assert not app.desk.calendar_on(date(2026, 12, 1)).is_working_day(new_year_2027)
    assert not app.desk.calendar_on(date(2027, 1, 4)).is_working_day(new_year_2027)

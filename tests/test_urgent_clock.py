"""The clock per priority: P1 on the 7×24 clock by default, at night and at weekends, on every database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maildesk.app import App
from maildesk.statuses import Status
from tests.desk import (
    DIRECTOR,
    LEAD,
    MANAGER,
    at,
    desks,
    new_ticket,
    outbox,
    priorities_on,
    reporter_reply,
    staff_reply,
    sweep_through,
    ticket,
    utc,
)

WED, THU = "2026-09-16", "2026-09-17"
SAT, SUN, MON = "2026-11-28", "2026-11-29", "2026-11-30"  # an ordinary weekend


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Iterator[App]:
    """A desk with the default settings: P1 on the 7×24 clock, the others on business hours."""
    for opener in desks(tmp_path, db_url):
        yield opener()


def test_a_p1_at_night_climbs_its_ladder_at_night_and_a_p2_waits_for_the_morning(desk: App) -> None:
    """P1 at Wednesday 22:00: the lead told at 23:00, the manager at 02:00, the director at 06:00; the P2 beside
    it is quiet till 9:00."""
    p1 = new_ticket(desk, at(WED, 22), "P1")
    p2 = new_ticket(desk, at(WED, 22), "P2")
    assert utc(ticket(desk, p1).response_due) == utc(at(THU, 0))
    assert utc(ticket(desk, p1).resolve_due) == utc(at(THU, 6))
    assert utc(ticket(desk, p2).response_due) == utc(at(THU, 13))  # 4 business hours from Thursday 9:00
    sweep_through(desk, at(WED, 22), at(THU, 8, 45))
    escalations = outbox(desk, "escalation")
    assert [(s.ticket, s.to, s.at) for s in escalations] == [
        (p1, (LEAD,), at(WED, 23)), (p1, (MANAGER,), at(THU, 2)), (p1, (DIRECTOR,), at(THU, 6))]
    assert "响应时限" in escalations[1].text
    night = [s for s in outbox(desk) if s.ticket == p2]
    assert night == []
    # the reporter of the P1 hears hourly through the night as well; the assignee was reminded before 0:00
    assert [s.at.hour for s in outbox(desk, "progress") if s.ticket == p1][:3] == [23, 0, 1]
    assert next(s.at for s in outbox(desk, "reminder") if s.ticket == p1) == at(WED, 23)


def test_a_weekend_p1_pauses_and_resumes_on_the_7x24_clock(desk: App) -> None:
    """P1 on Saturday 10:00, waiting on the reporter 11:00–13:00: resolution due Saturday 20:00, not Monday."""
    number = new_ticket(desk, at(SAT, 10), "P1")
    staff_reply(desk, number, at(SAT, 11), status=Status.WAITING_USER)
    reporter_reply(desk, number, at(SAT, 13))
    t = ticket(desk, number)
    assert t.status == Status.IN_PROGRESS.value
    assert utc(t.resolve_due) == utc(at(SAT, 20))  # 8 hours + the 2 hours paused
    sweep_through(desk, at(SAT, 10), at(SUN, 9))
    assert [(s.to, s.at) for s in outbox(desk, "escalation")] == [
        ((LEAD,), at(SAT, 13)), ((MANAGER,), at(SAT, 16)), ((DIRECTOR,), at(SAT, 20))]  # each 2 h later
    assert ticket(desk, number).escalation_level == 3


def test_a_p1_put_on_business_hours_waits_for_monday(tmp_path: Path, db_url: str) -> None:
    """`clock = "business"` on P1 restores office hours: a Saturday P1 escalates on Monday only."""
    for opener in desks(tmp_path, db_url):
        app = opener(priorities=priorities_on(P1="business"))
        number = new_ticket(app, at(SAT, 10), "P1")
        sweep_through(app, at(SAT, 10), at(MON, 8, 45))
        assert outbox(app, "escalation") == []
        assert utc(ticket(app, number).resolve_due) == utc(at(MON, 17))


def test_the_7x24_clock_counts_real_hours_across_a_dst_change() -> None:
    """In a zone that springs forward, 3 hours on the 7×24 clock are 3 real hours, and the measure is its inverse."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from maildesk.sla import RoundTheClock

    berlin = ZoneInfo("Europe/Berlin")
    clock = RoundTheClock(berlin)
    start = datetime(2026, 3, 29, 1, 30, tzinfo=berlin)  # 02:00 → 03:00 that night
    end = clock.add_business_hours(start, 3)
    assert end == datetime(2026, 3, 29, 5, 30, tzinfo=berlin)
    assert clock.business_seconds_between(start, end) == 3 * 3600
    assert clock.next_business_moment(start) == start and clock.is_working_day(start.date())


def test_a_p1_requirement_keeps_to_working_days(desk: App) -> None:
    """A requirement (需求) is evaluated in working days: even at P1 its targets and ladder wait for Monday."""
    from maildesk.desk.tickets import NewTicket, create_ticket
    from tests.desk import context

    with desk.store.session() as s:
        number = create_ticket(context(desk, s, at(SAT, 10)), NewTicket(
            subject="新增报表需求", reporter="zhang.wei@example.com", priority="P1", type="requirement",
            team="product", assignee="xu.ting@example.com")).number
    assert utc(ticket(desk, number).start_due) == utc(at(MON, 11))
    sweep_through(desk, at(SAT, 10), at(MON, 8, 45))
    assert [s for s in outbox(desk) if s.ticket == number and s.kind in ("escalation", "mobilise", "reminder")] == []


def test_the_report_measures_a_night_p1_on_its_own_clock(desk: App) -> None:
    """A P1 at Wednesday 22:00 answered at 23:30 and resolved at 03:00 took 1.5 h and 5 h, as the reporter lived
    them, not 0 h of office time; a P2 of the same night answered at 10:00 counts its 1 business hour."""
    from maildesk.reports.mailing import build_figures
    from maildesk.reports.period import week_of

    p1 = new_ticket(desk, at(WED, 22), "P1")
    p2 = new_ticket(desk, at(WED, 22), "P2")
    staff_reply(desk, p1, at(WED, 23, 30))
    staff_reply(desk, p1, at(THU, 3), status=Status.RESOLVED)
    staff_reply(desk, p2, at(THU, 10))
    week = week_of(at(WED, 12).date(), desk.settings.tz)
    figures = build_figures(desk.desk, desk.store, week, at(THU, 12))
    assert (figures.first_response_hours.count, figures.resolution_hours.count) == (2, 1)
    assert sorted([figures.first_response_hours.avg, figures.first_response_hours.median]) == [1.25, 1.25]
    assert figures.resolution_hours.avg == 5.0

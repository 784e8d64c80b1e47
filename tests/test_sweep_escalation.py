"""Escalation up the ladder and reminders to the assignee, with an explicit clock, on every database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.app import App
from maildesk.desk.tickets import get_ticket
from maildesk.statuses import Status
from maildesk.store.models import Event, OutboxMail
from tests.desk import (
    DIRECTOR,
    ENGINEER,
    MANAGER,
    TZ,
    at,
    desks,
    new_ticket,
    outbox,
    priorities_on,
    raise_priority,
    reporter_reply,
    staff_reply,
    sweep,
    sweep_through,
    ticket,
)


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Iterator[App]:
    """A desk with the default settings but P1 on business hours (this file pins the business clock;
    tests/test_urgent_clock.py pins the 7×24 one) and a P1 ladder of manager and director, closed after the test."""
    priorities = priorities_on(P1="business")
    priorities["P1"]["escalation"] = [{"after_hours": 4, "to": "manager"}, {"after_hours": 8, "to": "director"}]
    for opener in desks(tmp_path, db_url):
        yield opener(priorities=priorities)


MON = "2026-09-14"  # an ordinary Monday
TUE = "2026-09-15"


def test_each_level_is_told_once_at_its_time_saying_what_was_missed(desk: App) -> None:
    """P1 unanswered: the manager hears at 4 working hours, the director at 8, each once, with the overdue time."""
    app = desk
    number = new_ticket(app, at(MON, 9), "P1")
    queued = sweep_through(app, at(MON, 9), at(MON, 18))
    escalations = [q for q in queued if q.kind == "escalation"]
    assert [(q.ticket, q.level, q.to) for q in escalations] == [(number, 1, (MANAGER,)), (number, 2, (DIRECTOR,))]
    first, second = outbox(app, "escalation")
    assert (first.at, second.at) == (at(MON, 13), at(MON, 17))
    assert first.key == f"escalation:{number}:1"
    assert "首次响应时限（2026-09-14 11:00）已超时 2 小时" in first.text and "技术支持经理" in first.text
    assert "解决时限" in second.subject and "第 2 级" in second.subject
    with app.store.session() as s:
        raw = s.scalars(select(OutboxMail.raw).where(OutboxMail.dedup_key == first.key)).one()
        t = get_ticket(s, number)
        # answered at the staff address, so a manager's reply can carry commands
        assert message_from_bytes(raw)["Reply-To"] == app.desk.addresses.staff(t.number)
    later = sweep(app, at(MON, 17)) + sweep(app, at(MON, 17, 30)) + sweep(app, at(TUE, 10))
    assert [q for q in later if q.kind == "escalation"] == []
    t = ticket(app, number)
    assert (t.escalation_level, t.next_escalation_at) == (2, None)
    with app.store.session() as s:
        notes = [e.note for e in s.query(Event).filter_by(ticket_id=t.id, action="escalated").order_by(Event.id)]
    assert notes[0].startswith("manager: first response target overdue by 2 h")


def test_rungs_missed_while_the_daemon_was_down_are_each_sent_once(desk: App) -> None:
    """A sweep the next morning announces both missed levels at once; the next sweep nothing."""
    app = desk
    number = new_ticket(app, at(MON, 9), "P1")
    first = [q for q in sweep(app, at(TUE, 10)) if q.kind == "escalation"]
    assert [(q.ticket, q.level) for q in first] == [(number, 1), (number, 2)]
    assert [q for q in sweep(app, at(TUE, 10)) if q.kind == "escalation"] == []
    assert [q for q in sweep(app, at(TUE, 11)) if q.kind == "escalation"] == []


def test_waiting_on_the_reporter_stops_the_clock(desk: App) -> None:
    """While the ticket waits on the reporter nothing is sent about it; afterwards the ladder starts later."""
    app = desk
    number = new_ticket(app, at(MON, 9), "P1")
    staff_reply(app, number, at(MON, 10), status=Status.WAITING_USER)
    waiting = sweep_through(app, at(MON, 10), at(TUE, 9, 45))
    assert [q for q in waiting if q.ticket == number] == []
    reporter_reply(app, number, at(TUE, 10))
    resumed = [q for q in sweep_through(app, at(TUE, 10), at(TUE, 18)) if q.kind == "escalation"]
    assert [q.level for q in resumed] == [1, 2]
    # one working hour ran before the pause: 3 more reach the 4-hour rung, 7 more the 8-hour one
    assert [s.at for s in outbox(app, "escalation")] == [at(TUE, 13), at(TUE, 17)]


def test_nothing_is_sent_outside_business_hours_and_make_up_sundays_count(desk: App) -> None:
    """P1 on Friday 16:00: the 4-hour rung falls on the make-up Sunday 20 Sept 11:00, nothing goes at night."""
    app = desk
    number = new_ticket(app, at("2026-09-18", 16), "P1")
    queued = sweep_through(app, at("2026-09-18", 16), at("2026-09-20", 12))
    assert [q.level for q in queued if q.kind == "escalation"] == [1]
    assert [s.at for s in outbox(app, "escalation")] == [at("2026-09-20", 11)]
    for sent in outbox(app):
        assert app.desk.calendar_on(sent.at.date()).is_business_time(sent.at), (sent.kind, sent.at)
    assert ticket(app, number).escalation_level == 1


def test_a_role_nobody_holds_is_recorded_and_the_ladder_goes_on(desk: App, tmp_path: Path) -> None:
    """Without a director in the directory the second rung sends nothing but is recorded in the history."""
    app = desk
    people = (tmp_path / "people.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "people.csv").write_text("\n".join(p for p in people if ",director," not in p) + "\n",
                                         encoding="utf-8")
    number = new_ticket(app, at(MON, 9), "P1")
    queued = sweep_through(app, at(MON, 9), at(MON, 18))
    assert [q.level for q in queued if q.kind == "escalation"] == [1]
    with app.store.session() as s:
        t = get_ticket(s, number)
        events = s.query(Event).filter_by(ticket_id=t.id, action="escalated").order_by(Event.id).all()
        assert t.escalation_level == 2
        assert "nobody holds this role" in events[1].note


def test_assignee_is_reminded_before_each_target_once(desk: App) -> None:
    """P2: the assignee hears an hour before the response target; an answered ticket gets no such reminder."""
    app = desk
    silent = new_ticket(app, at(MON, 9), "P2")
    answered = new_ticket(app, at(MON, 9), "P2")
    staff_reply(app, answered, at(MON, 11))
    queued = sweep_through(app, at(MON, 9), at(MON, 18), step=timedelta(minutes=5))
    reminders = [q for q in queued if q.kind == "reminder"]
    assert [(q.ticket, q.to) for q in reminders] == [(silent, (ENGINEER,))]
    [mail] = outbox(app, "reminder")
    assert mail.at == at(MON, 12) and "首次响应" in mail.subject and "还剩 1 小时" in mail.text
    assert mail.key == f"reminder:{silent}:response:P2"


def test_raising_the_priority_recomputes_deadlines_and_the_ladder(desk: App) -> None:
    """P3 raised to P1 at 10:00: P1's deadlines apply from creation, so reminders and rungs come P1-early."""
    app = desk
    number = new_ticket(app, at(MON, 9), "P3")
    assert ticket(app, number).resolve_due is not None
    p3_resolve = ticket(app, number).resolve_due
    sweep_through(app, at(MON, 9), at(MON, 9, 45))
    raise_priority(app, number, at(MON, 10), "P1")
    t = ticket(app, number)
    assert t.resolve_due is not None and p3_resolve is not None
    assert t.resolve_due.astimezone(TZ) == at(MON, 17) and t.resolve_due < p3_resolve
    queued = sweep_through(app, at(MON, 10), at(MON, 18))
    assert [(q.kind, q.level) for q in queued if q.kind == "escalation"] == [("escalation", 1), ("escalation", 2)]
    assert [s.key for s in outbox(app, "reminder")] == [f"reminder:{number}:response:P1",
                                                         f"reminder:{number}:resolve:P1"]


def test_a_sweep_at_national_day_2027_uses_that_days_calendar(desk: App) -> None:
    """Swept with now = 2027-10-01, whatever the machine's date: National Day is no working day, so a P1 from
    the evening before is not escalated on it."""
    app = desk
    assert not app.desk.calendar_on(date(2027, 10, 1)).is_working_day(date(2027, 10, 1))
    new_ticket(app, at("2027-09-30", 17), "P1")
    sweep_through(app, at("2027-09-30", 17), at("2027-10-01", 23))
    assert outbox(app, "escalation") == []

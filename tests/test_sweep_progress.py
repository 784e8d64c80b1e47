"""Progress mails to the reporter on the priority's cadence, with an explicit clock, on every database."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select, update

from maildesk.app import App
from maildesk.desk.tickets import NewTicket, add_note, create_ticket, get_ticket
from maildesk.statuses import Status
from maildesk.store.models import Ticket
from maildesk.sweep import Queued
from tests.desk import (
    ENGINEER,
    REPORTER,
    at,
    context,
    desks,
    moments,
    new_ticket,
    outbox,
    priorities_on,
    reporter_reply,
    set_status,
    staff_reply,
    sweep,
    sweep_through,
)

MON, TUE, WED = "2026-09-14", "2026-09-15", "2026-09-16"


@pytest.fixture
def open_desk(tmp_path: Path, db_url: str) -> Iterator[Callable[..., App]]:
    """Open one or more desks on the test's database, P1 on business hours (the 7×24 clock:
    tests/test_urgent_clock.py)."""
    for opener in desks(tmp_path, db_url):
        yield partial(opener, priorities=priorities_on(P1="business"))


@pytest.fixture
def desk(open_desk: Callable[..., App]) -> App:
    """A desk with the default settings."""
    return open_desk()


def _progress(app: App, number: str) -> list[str]:
    return [f"{s.at:%m-%d %H:%M}" for s in outbox(app, "progress") if s.ticket == number]


def test_p1_reporter_hears_hourly_while_nobody_writes(desk: App) -> None:
    """P1: a progress mail every working hour of silence; an engineer's reply restarts the hour; none at night."""
    number = new_ticket(desk, at(MON, 9), "P1")
    english = new_ticket(desk, at(MON, 9), "P1", reporter="li.na@example.com", language="en")
    sweep_through(desk, at(MON, 9), at(MON, 12, 15))
    staff_reply(desk, number, at(MON, 12, 30))
    staff_reply(desk, english, at(MON, 12, 30))
    sweep_through(desk, at(MON, 12, 30), at(TUE, 10))
    assert _progress(desk, number) == ["09-14 10:00", "09-14 11:00", "09-14 12:00", "09-14 13:30", "09-14 14:30",
                                       "09-14 15:30", "09-14 16:30", "09-14 17:30", "09-15 09:30"]
    mails = [s for s in outbox(desk, "progress") if s.ticket == number]
    assert mails[0].key == f"progress:{number}:2026-09-14T10" and mails[0].to == (REPORTER,)
    assert "处理进度" in mails[0].subject and "下次进度通知：2026-09-14 11:00" in mails[0].text
    assert "Progress" in next(s.subject for s in outbox(desk, "progress") if s.ticket == english)


def test_p3_daily_summary_at_five_on_working_days_only(desk: App) -> None:
    """P3: a summary at 17:00 on each working day nobody wrote to the reporter (make-up Sunday yes, 中秋 no)."""
    number = new_ticket(desk, at("2026-09-18", 10), "P3")
    sweep_through(desk, at("2026-09-18", 10), at("2026-09-22", 15), step=timedelta(hours=1))
    staff_reply(desk, number, at("2026-09-22", 16))
    sweep_through(desk, at("2026-09-22", 16), at("2026-09-28", 18), step=timedelta(hours=1))
    # not on Friday 18 (opened that day), nor on Tuesday 22 (answered that day)
    assert _progress(desk, number) == ["09-20 17:00", "09-21 17:00", "09-23 17:00", "09-24 17:00", "09-28 17:00"]
    assert outbox(desk, "progress")[0].key == f"progress:{number}:2026-09-20"


def test_waiting_on_the_reporter_silences_progress_and_entries_hide_notes(desk: App) -> None:
    """P2: the update lists status changes but not internal notes; nothing while waiting on the reporter."""
    number = new_ticket(desk, at(MON, 9), "P2")
    set_status(desk, number, at(MON, 10), Status.IN_PROGRESS)
    with desk.store.session() as s:
        add_note(context(desk, s, at(MON, 10)), get_ticket(s, number), "内部备注：怀疑是交换机问题",
                 actor="liu.yang@example.com")
    sweep_through(desk, at(MON, 9), at(MON, 13))
    [mail] = outbox(desk, "progress")
    assert mail.at == at(MON, 13) and "已分配 → 处理中" in mail.text and "内部备注" not in mail.text
    staff_reply(desk, number, at(MON, 13, 30), status=Status.WAITING_USER)
    assert [q for q in sweep_through(desk, at(MON, 13, 30), at(WED, 9, 45)) if q.ticket == number] == []
    reporter_reply(desk, number, at(WED, 10))
    sweep_through(desk, at(WED, 10), at(WED, 15))
    assert _progress(desk, number) == ["09-14 13:00", "09-16 14:00"]


def test_restarts_and_a_second_daemon_never_send_twice(open_desk: Callable[..., App]) -> None:
    """Two daemons sweeping the same moments at the same time, restarted at noon, send each mail once."""
    first, second = open_desk(), open_desk()
    numbers = [new_ticket(first, at(MON, 9), p) for p in ("P1", "P1", "P2", "P3", "P4")]
    queued: list[Queued] = []

    def both(a: App, b: App, now_: object) -> None:
        results: list[list[Queued]] = [[], []]
        threads = [threading.Thread(target=lambda i=i, app=app: results[i].extend(sweep(app, now_)))  # type: ignore[misc]
                   for i, app in enumerate((a, b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        queued.extend(results[0] + results[1])

    for now in moments(at(MON, 9), at(MON, 12)):
        both(first, second, now)
    first.close()
    second.close()
    third, fourth = open_desk(), open_desk()  # restarted at noon
    for now in moments(at(MON, 12), at(TUE, 18)):
        both(third, fourth, now)
    keys = Counter(s.key for s in outbox(third))
    assert keys and max(keys.values()) == 1
    assert len(queued) == len(outbox(third))  # what the sweeps reported is what is in the outbox
    assert _progress(third, numbers[0])[:3] == ["09-14 10:00", "09-14 11:00", "09-14 12:00"]
    assert _progress(third, numbers[3]) == ["09-15 17:00"]  # P3: not on the day it was opened


def test_a_new_ticket_carries_the_first_progress_time_the_sweep_would_work_out(tmp_path: Path, db_url: str) -> None:
    """A new ticket is made with the time its progress mails are first looked at (so the sweep need not read every
    new ticket back to find it out): at every seventh hour of ten days with a weekend, a make-up working Sunday
    and 中秋, for each priority (P1 on the 7×24 clock), a requirement (business hours) and a priority no longer
    configured, it is the time the sweep's progress phase sets on the same ticket when it finds none."""
    for opener in desks(tmp_path, db_url):
        desk = opener()
        made: dict[str, tuple[datetime, str]] = {}
        kinds = [("hardware", p) for p in ("P1", "P2", "P3", "P4")] + [("requirement", "P2"), ("hardware", "P9")]
        for now in moments(at("2026-09-18", 0), at("2026-09-28", 0), step=timedelta(hours=7)):
            for kind, priority in kinds:
                with desk.store.session() as s:
                    t = create_ticket(context(desk, s, now), NewTicket(
                        subject="服务器无法访问", reporter=REPORTER, priority=priority, type=kind, team="hardware",
                        assignee=ENGINEER, reporter_name="张伟"))
                    made[t.number] = (now, f"{kind} {priority} {now:%a %m-%d %H:%M}")
        kept = _first_progress(desk)
        assert None not in kept.values()
        for now in sorted({when for when, _ in made.values()}):  # what the sweep sets, at the moment each was made
            numbers = [n for n, (when, _) in made.items() if when == now]
            with desk.store.session() as s:
                s.execute(update(Ticket).where(Ticket.number.in_(numbers)).values(next_progress_at=None))
            sweep(desk, now)
            worked_out = _first_progress(desk)
            assert {made[n][1]: worked_out[n] for n in numbers} == {made[n][1]: kept[n] for n in numbers}


def _first_progress(app: App) -> dict[str, datetime | None]:
    with app.store.session() as s:
        return {number: at for number, at in s.execute(select(Ticket.number, Ticket.next_progress_at))}

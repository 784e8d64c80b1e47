"""Confirmation reminder, auto-close after N working days, and the survey after close, on every database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from maildesk.app import App
from maildesk.desk.tickets import get_ticket, record
from maildesk.statuses import Status
from maildesk.store.models import Event
from tests.desk import (
    ENGINEER,
    REPORTER,
    at,
    context,
    desks,
    new_ticket,
    outbox,
    reporter_reply,
    set_status,
    sweep,
    sweep_through,
    ticket,
)

HOURLY = timedelta(hours=1)


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Iterator[App]:
    """A desk with the default settings (confirm_close_days = 3)."""
    for opener in desks(tmp_path, db_url):
        yield opener()


def test_unanswered_resolution_is_reminded_then_closed_then_surveyed(desk: App) -> None:
    """Resolved Thursday 15:00: reminder after 2 working days (the make-up Sunday), closed after 3, then the survey."""
    number = new_ticket(desk, at("2026-09-14", 9), "P3")
    set_status(desk, number, at("2026-09-17", 15), Status.RESOLVED, note="已更换硒鼓，打印恢复正常")
    queued = sweep_through(desk, at("2026-09-17", 15), at("2026-09-22", 12), step=HOURLY)
    mine = [(q.kind, q.to) for q in queued if q.ticket == number and q.kind != "progress"]
    assert mine == [("confirm", (REPORTER,)), ("closed", (REPORTER,)), ("survey", (REPORTER,))]
    confirm, closed, survey = (outbox(desk, k)[0] for k in ("confirm", "closed", "survey"))
    assert confirm.at == at("2026-09-20", 15) and "已更换硒鼓" in confirm.text and "1 个工作日" in confirm.text
    assert closed.at == survey.at == at("2026-09-21", 15)
    assert "3 个工作日内未收到您的确认" in closed.text and "满意度" in survey.subject
    assert survey.key == f"survey:{number}"
    with desk.store.session() as s:
        t = get_ticket(s, number)
        assert t.status == Status.CLOSED and t.closed_at is not None
        last = s.query(Event).filter_by(ticket_id=t.id).order_by(Event.id.desc()).first()
        assert last is not None and last.actor == "system" and "3 working days" in last.note


def test_a_reply_without_verdict_restarts_the_clock(desk: App) -> None:
    """The reporter writes "thanks, I'll try" on Friday: the reminder and the close count from that reply."""
    number = new_ticket(desk, at("2026-09-14", 9), "P3")
    set_status(desk, number, at("2026-09-17", 15), Status.RESOLVED)
    reporter_reply(desk, number, at("2026-09-18", 10), resume=False)
    queued = sweep_through(desk, at("2026-09-17", 15), at("2026-09-24", 12), step=HOURLY)
    assert [q.kind for q in queued if q.ticket == number] == ["confirm", "closed", "survey"]
    mine = [(s.kind, f"{s.at:%m-%d %H:%M}") for s in outbox(desk) if s.ticket == number]
    assert mine == [("confirm", "09-21 10:00"), ("closed", "09-22 10:00"), ("survey", "09-22 10:00")]
    assert ticket(desk, number).status == Status.CLOSED


def test_merged_tickets_get_no_survey(desk: App) -> None:
    """A ticket merged into another is closed without a survey; the one it went into keeps its own."""
    number = new_ticket(desk, at("2026-09-14", 9), "P4")
    with desk.store.session() as s:
        record(context(desk, s, at("2026-09-14", 10)), get_ticket(s, number), actor=ENGINEER, action="merged",
               new="TS-X")
    set_status(desk, number, at("2026-09-14", 10), Status.CLOSED)
    assert [q for q in sweep_through(desk, at("2026-09-14", 10), at("2026-09-14", 12), step=HOURLY)
            if q.kind == "survey"] == []


def test_every_close_gets_one_survey_in_business_hours(desk: App) -> None:
    """An engineer closes on Saturday: the survey goes Sunday 09:00 (a make-up day), once; old closes get none."""
    old = new_ticket(desk, at("2026-09-07", 9), "P4")
    set_status(desk, old, at("2026-09-08", 10), Status.CLOSED)
    number = new_ticket(desk, at("2026-09-18", 9), "P4")
    set_status(desk, number, at("2026-09-19", 10), Status.CLOSED)
    queued = sweep_through(desk, at("2026-09-19", 10), at("2026-09-21", 18), step=HOURLY)
    assert [(q.ticket, q.kind) for q in queued if q.kind == "survey"] == [(number, "survey")]
    [survey] = outbox(desk, "survey")
    assert survey.at == at("2026-09-20", 9)
    assert [q for q in sweep(desk, at("2026-09-21", 18)) if q.kind == "survey"] == []


def test_english_reporter_gets_english_closing_mails(desk: App) -> None:
    """A ticket in English: the reminder, the closing mail and the survey are in English."""
    number = new_ticket(desk, at("2026-09-14", 9), "P3", reporter="li.na@example.com", language="en")
    set_status(desk, number, at("2026-09-14", 15), Status.RESOLVED, note="Replaced the toner.")
    sweep_through(desk, at("2026-09-14", 15), at("2026-09-17", 16), step=HOURLY)
    subjects = [s.subject for s in outbox(desk) if s.ticket == number and s.kind in ("confirm", "closed", "survey")]
    assert [s.split("] ")[1].split(":")[0].split("?")[0] for s in subjects] == [
        "Please confirm the solution", "Closed", "How did we do"]

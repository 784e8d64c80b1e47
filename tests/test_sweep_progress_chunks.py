"""Progress mails of a whole chunk of tickets, queued together: each once, threaded as one at a time, and one bad
ticket costing only its own mail; on every database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select, update

from maildesk.app import App
from maildesk.store.models import Message, OutboxMail, Ticket
from maildesk.sweep import runner
from tests.desk import REPORTER, at, desks, new_ticket, outbox, priorities_on, sweep

MON, TUE = "2026-09-14", "2026-09-15"


@pytest.fixture
def desk(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """A desk whose sweep works two tickets a chunk, so five tickets make three chunks."""
    monkeypatch.setattr(runner, "CHUNK", 2)
    for opener in desks(tmp_path, db_url):
        yield partial(opener, priorities=priorities_on(P1="business"))()


def _summaries_due(desk: App, count: int) -> list[str]:
    """``count`` P3 tickets opened on Monday morning, each due a daily summary on Tuesday at 17:00."""
    numbers = [new_ticket(desk, at(MON, 9), "P3") for _ in range(count)]
    sweep(desk, at(MON, 9, 15))  # schedules their summaries
    return numbers


def _key(number: str) -> str:
    """The dedup key of the ticket's summary of Tuesday."""
    return f"progress:{number}:2026-09-15"


def _ticket(desk: App, number: str) -> Ticket:
    with desk.store.session() as s:
        return s.scalars(select(Ticket).where(Ticket.number == number)).one()


def _messages(desk: App, number: str) -> list[Message]:
    with desk.store.session() as s:
        return list(s.scalars(select(Message).join(Ticket, Ticket.id == Message.ticket_id)
                              .where(Ticket.number == number).order_by(Message.id)))


def test_a_chunks_summaries_are_queued_once_threaded_and_recorded(desk: App) -> None:
    """Every ticket of every chunk gets one summary, in ticket order, answering the reporter's mail and recorded
    on the ticket; a second sweep at the same moment queues nothing."""
    numbers = _summaries_due(desk, 5)
    counts = [_ticket(desk, n).message_count for n in numbers]
    queued = [q for q in sweep(desk, at(TUE, 17)) if q.kind == "progress"]
    assert [q.ticket for q in queued] == numbers and {q.to for q in queued} == {(REPORTER,)}
    assert sweep(desk, at(TUE, 17)) == []
    mails = outbox(desk, "progress")
    assert [m.ticket for m in mails] == numbers and [m.key for m in mails] == [_key(n) for n in numbers]
    with desk.store.session() as s:
        rows = {r.ticket_id: r for r in s.scalars(select(OutboxMail).where(OutboxMail.kind == "progress"))}
    for number, count in zip(numbers, counts, strict=True):
        first, summary = _messages(desk, number)
        row = rows[_ticket(desk, number).id]
        assert summary.direction == "out" and summary.message_id == row.message_id
        assert summary.in_reply_to == first.message_id and f"In-Reply-To: <{first.message_id}>" in row.raw.decode()
        assert _ticket(desk, number).message_count == count + 1


def test_a_ticket_whose_summary_fails_costs_only_its_own(desk: App, caplog: pytest.LogCaptureFixture) -> None:
    """A ticket whose summary cannot be rendered (its language has no templates) is logged once and stays due;
    the other tickets of its chunk get theirs."""
    numbers = _summaries_due(desk, 5)
    bad = numbers[2]
    with desk.store.session() as s:
        s.execute(update(Ticket).where(Ticket.number == bad).values(language="fr"))
    due = _ticket(desk, bad).next_progress_at
    with caplog.at_level(logging.ERROR, logger="maildesk.sweep.runner"):
        queued = [q for q in sweep(desk, at(TUE, 17)) if q.kind == "progress"]
    assert [q.ticket for q in queued] == [n for n in numbers if n != bad]
    assert [r.getMessage() for r in caplog.records] == [f"sla sweep: _progress failed on {bad}"]
    assert _ticket(desk, bad).next_progress_at == due and len(_messages(desk, bad)) == 1


def test_a_summary_another_daemon_queued_is_not_queued_again(desk: App) -> None:
    """A summary whose dedup key is in the outbox already (another daemon's) is neither queued, reported nor
    recorded on its ticket; the chunk's others are."""
    numbers = _summaries_due(desk, 3)
    count = _ticket(desk, numbers[1]).message_count
    with desk.store.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == numbers[1])).one()
        s.add(OutboxMail(ticket_id=ticket.id, kind="progress", sender="support@example.com", to_addrs=[REPORTER],
                         subject="", text="", message_id="other@example.com", raw=b"", dedup_key=_key(numbers[1]),
                         status="pending", attempts=0, next_attempt_at=at(TUE, 17), last_error="",
                         created_at=at(TUE, 17)))
    queued = [q for q in sweep(desk, at(TUE, 17)) if q.kind == "progress"]
    assert [q.ticket for q in queued] == [numbers[0], numbers[2]]
    assert [m.key for m in outbox(desk, "progress")] == [_key(numbers[1]), _key(numbers[0]), _key(numbers[2])]
    assert len(_messages(desk, numbers[1])) == 1 and _ticket(desk, numbers[1]).message_count == count

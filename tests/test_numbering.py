"""Ticket numbers: format, daily sequence in the configured zone, uniqueness under concurrency."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from maildesk.desk.tickets import NewTicket, create_ticket
from maildesk.store.db import Store
from maildesk.store.models import Ticket
from tests.desk import bare_context

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROCESSES = 8
PER_PROCESS = 50


def _make(store: Store, now: datetime, subject: str = "打印机卡纸") -> str:
    with store.session() as session:
        ticket = create_ticket(bare_context(session, now), NewTicket(subject=subject, reporter="a@example.com",
                                                                    priority="P3", type="hardware"))
        return ticket.number


def test_number_has_prefix_local_date_and_four_digit_sequence(store: Store) -> None:
    """The first ticket of a day is PREFIX-YYYYMMDD-0001, the next one 0002."""
    now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    assert _make(store, now) == "TS-20261122-0001"
    assert _make(store, now) == "TS-20261122-0002"


def test_day_follows_the_configured_time_zone_and_restarts_the_sequence(store: Store) -> None:
    """16:30 UTC is already the next day in Shanghai, so its sequence starts again at 0001."""
    _make(store, datetime(2026, 11, 22, 15, 59, tzinfo=UTC))
    assert _make(store, datetime(2026, 11, 22, 16, 30, tzinfo=UTC)) == "TS-20261123-0001"


def _worker(url: str, now_iso: str, count: int) -> None:
    store = Store(url)
    now = datetime.fromisoformat(now_iso)
    for i in range(count):
        _make(store, now, subject=f"并发 {i}")
    store.close()


def test_eight_processes_get_400_distinct_consecutive_numbers(store: Store, db_url: str) -> None:
    """Eight processes creating 50 tickets each at once get numbers 0001..0400, none twice."""
    now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(db_url, now.isoformat(), PER_PROCESS)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with store.session() as session:
        numbers = session.scalars(select(Ticket.number)).all()
    expected = {f"TS-20261122-{i:04d}" for i in range(1, PROCESSES * PER_PROCESS + 1)}
    assert len(numbers) == PROCESSES * PER_PROCESS
    assert set(numbers) == expected

"""Ticket numbers: format, daily sequence in the configured zone, uniqueness under concurrency."""

from __future__ import annotations

import contextlib
import multiprocessing
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from sqlalchemy.orm import Session

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


NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def _new(session: Session, subject: str = "打印机卡纸") -> str:
    return create_ticket(bare_context(session, NOW), NewTicket(subject=subject, reporter="a@example.com",
                                                               priority="P3", type="hardware")).number


def _numbers(*ns: int) -> list[str]:
    return [f"TS-20261122-{n:04d}" for n in ns]


def test_tickets_made_in_one_transaction_are_numbered_on_and_the_next_transaction_goes_on_after_them(
        store: Store) -> None:
    """Intake makes up to 25 tickets in a transaction: the sequence's row is written at the first and brought up
    to the last before the commit, not once for each (two writes of the row, not five), and nothing is skipped or
    given twice by the next transaction."""
    writes: list[str] = []

    def on_execute(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if "ticket_sequences" in statement:
            writes.append(statement.split(maxsplit=1)[0])

    event.listen(store.engine, "before_cursor_execute", on_execute)
    try:
        with store.session() as session:
            made = [_new(session) for _ in range(5)]
    finally:
        event.remove(store.engine, "before_cursor_execute", on_execute)
    assert made == _numbers(1, 2, 3, 4, 5)
    assert writes == ["INSERT", "UPDATE"]
    assert _make(store, NOW) == "TS-20261122-0006"


def test_a_savepoint_rolled_back_gives_back_the_numbers_taken_in_it(store: Store) -> None:
    """A mail that fails is rolled back to its savepoint, the number of its ticket with it: the next ticket takes
    that number, so the day's numbers stay without gaps, whether the savepoint took the transaction's first number
    or a later one."""
    with store.session() as session:
        with contextlib.suppress(LookupError), session.begin_nested():
            assert _new(session) == "TS-20261122-0001"
            raise LookupError("the mail failed")
        made = [_new(session), _new(session)]
        with contextlib.suppress(LookupError), session.begin_nested():
            made.append(_new(session))
            raise LookupError("the mail failed")
        made.append(_new(session))
    assert made == _numbers(1, 2, 3, 3)
    assert _make(store, NOW) == "TS-20261122-0004"
    with store.session() as session:
        assert sorted(session.scalars(select(Ticket.number))) == _numbers(1, 2, 3, 4)


def test_a_savepoint_released_inside_one_rolled_back_gives_back_its_numbers_too(store: Store) -> None:
    """The row written when the inner savepoint was released goes back with the outer one, and so does the count."""
    with store.session() as session:
        made = [_new(session)]
        with contextlib.suppress(LookupError), session.begin_nested():
            with session.begin_nested():
                made.append(_new(session))
            made.append(_new(session))
            raise LookupError("the mail failed")
        made.append(_new(session))
    assert made == _numbers(1, 2, 3, 2)
    assert _make(store, NOW) == "TS-20261122-0003"


def test_a_transaction_rolled_back_gives_back_every_number_it_took(store: Store) -> None:
    with contextlib.suppress(LookupError), store.session() as session:
        _new(session), _new(session)
        raise LookupError("the batch failed")
    assert _make(store, NOW) == "TS-20261122-0001"

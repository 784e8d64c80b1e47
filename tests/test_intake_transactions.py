"""A batch is stored a few mails to a transaction, so that the outbox's sender, which needs SQLite's one write lock
to claim the acknowledgements just queued, gets it while the rest of the batch is still being stored. A database
failing in a later transaction leaves the earlier ones committed, said in the log, and taken as such next time.
A mail failing in its group's transaction takes none of the group's other mails with it, on the first pass."""

from __future__ import annotations

import itertools
import logging
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import SQLAlchemyError

from maildesk.app import App
from maildesk.daemon import intake_pipeline
from maildesk.desk.mailing import to_reporter
from maildesk.desk.tickets import NewTicket, create_ticket
from maildesk.ingest.outcome import Result
from maildesk.ingest.pipeline import TRANSACTION_MAILS
from maildesk.ingest.source import SourceMessage
from maildesk.store.db import Store
from maildesk.store.models import Event, Message, OutboxMail, Ticket
from tests.databases import empty_store
from tests.desk import context, desk_settings, fail_new_tickets, mail, make_app
from tests.test_templates import SAMPLES

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
MAILS = 6 * TRANSACTION_MAILS


# another process's sender, as SQLite sees it: once the batch's first mails are committed, it takes the write lock
# (trying every 2 ms, as the store does) and counts the acknowledgements queued by then
_OTHER_WRITER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
print("ready", flush=True)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        if conn.execute("SELECT count(*) FROM outbox WHERE kind = 'ack'").fetchone()[0]:
            conn.execute("BEGIN IMMEDIATE")
            print(conn.execute("SELECT count(*) FROM outbox WHERE kind = 'ack'").fetchone()[0])
            conn.execute("COMMIT")
            break
    except sqlite3.OperationalError:  # locked: the batch is storing mails
        pass
    time.sleep(0.002)
"""


def test_another_writer_gets_the_lock_while_a_batch_is_being_stored(tmp_path: Path) -> None:
    app = make_app(tmp_path, desk_settings(f"sqlite:///{tmp_path / 'desk.db'}"))
    app.upgrade()
    raws = [mail(f"user{i}@example.com", f"打印机卡纸 #{i}", "三楼的打印机又卡纸了。") for i in range(MAILS)]
    other = subprocess.Popen([sys.executable, "-c", _OTHER_WRITER, str(tmp_path / "desk.db")], stdout=subprocess.PIPE,
                             text=True)
    assert other.stdout is not None and other.stdout.readline() == "ready\n"
    outcomes = intake_pipeline(app, lambda: NOW).process([SourceMessage(f"t:{i}", r) for i, r in enumerate(raws)])
    seen = [int(line) for line in other.communicate(timeout=60)[0].split()]
    app.close()
    assert [o.result for o in outcomes] == [Result.CREATED] * MAILS
    # it got in between two of the batch's transactions: some acknowledgements were there to claim, not all
    assert len(seen) == 1 and 0 < seen[0] < MAILS, seen


def test_the_senders_wait_for_the_lock_ends_intakes_transaction_after_the_mail_in_hand(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """The daemon's own sender (here a thread with a store of its own, as the forked sender has; the want of the
    lock is shared the same way) asks for SQLite's write lock while intake stores a group: intake commits after
    the mail in hand, the sender writes, and intake stores the rest of the group in a transaction of its own.
    Every mail is stored once and logged once."""
    db = tmp_path / "desk.db"
    app = make_app(tmp_path, desk_settings(f"sqlite:///{db}"))
    app.upgrade()
    sender = Store(f"sqlite:///{db}")
    messages = [SourceMessage(f"w:{i}", mail(f"user{i}@example.com", f"网络断了 #{i}", "整层楼没有网络。"))
                for i in range(TRANSACTION_MAILS)]
    asked, seen = threading.Event(), []

    def send() -> None:
        asked.wait()
        with sender.session() as session:  # waits: intake holds the lock
            seen.append(session.scalar(select(func.count()).select_from(Ticket)))

    def after_third_ticket(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO tickets") and not asked.is_set() and len(ticket_inserts) == 2:
            asked.set()
            deadline = time.monotonic() + 10
            while not app.store.writer_waiting() and time.monotonic() < deadline:
                time.sleep(0.001)  # until the sender is polling for the lock
        elif statement.startswith("INSERT INTO tickets"):
            ticket_inserts.append(statement)

    ticket_inserts: list[str] = []
    waiting = threading.Thread(target=send)
    waiting.start()
    event.listen(app.store.engine, "after_cursor_execute", after_third_ticket)
    with caplog.at_level(logging.INFO, logger="maildesk.ingest.pipeline"):
        outcomes = intake_pipeline(app, lambda: NOW).process(messages)
    waiting.join()
    assert seen == [3]  # in right after the third mail, not after the group's twenty-fifth
    assert [o.result for o in outcomes] == [Result.CREATED] * TRANSACTION_MAILS
    said = [r.getMessage() for r in caplog.records if r.name == "maildesk.ingest.pipeline"]
    assert said == [f"w:{i}: created TS-20261123-{i + 1:04d}" for i in range(TRANSACTION_MAILS)]
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == TRANSACTION_MAILS
    sender.close()
    app.close()


def test_a_database_failing_mid_batch_keeps_and_logs_what_was_committed(
    app: App, caplog: pytest.LogCaptureFixture,
) -> None:
    """The batch's second transaction is refused by the database itself (read-only), after the first committed:
    the first transaction's mails are logged with their tickets, and the next pass takes them as stored."""
    raws = [mail(f"user{i}@example.com", f"邮箱满了 #{i}", "收不到邮件。") for i in range(2 * TRANSACTION_MAILS)]
    messages = [SourceMessage(f"f:{i}", r) for i, r in enumerate(raws)]
    begun = itertools.count(1)

    def second_read_only(conn: Any) -> None:
        if next(begun) == 2:
            sqlite = app.store.dialect == "sqlite"
            conn.exec_driver_sql("PRAGMA query_only = 1" if sqlite else "SET TRANSACTION READ ONLY")

    def writable_again(conn: Any) -> None:  # SQLite's read-only is the connection's, PostgreSQL's the transaction's
        if app.store.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = 0")

    pipeline = intake_pipeline(app, lambda: NOW)
    event.listen(app.store.engine, "begin", second_read_only)
    event.listen(app.store.engine, "rollback", writable_again)
    try:
        with caplog.at_level(logging.INFO, logger="maildesk.ingest.pipeline"), pytest.raises(SQLAlchemyError):
            pipeline.process(messages)
    finally:
        event.remove(app.store.engine, "begin", second_read_only)
        event.remove(app.store.engine, "rollback", writable_again)
    said = [r.getMessage() for r in caplog.records if r.name == "maildesk.ingest.pipeline"]
    assert said == [f"f:{i}: created TS-20261123-{i + 1:04d}" for i in range(TRANSACTION_MAILS)]
    again = pipeline.process(messages)
    assert [o.result for o in again] == [Result.ALREADY] * TRANSACTION_MAILS + [Result.CREATED] * TRANSACTION_MAILS
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 2 * TRANSACTION_MAILS


def _statements(app: App) -> list[str]:
    seen: list[str] = []
    event.listen(app.store.engine, "before_cursor_execute", lambda *a: seen.append(a[2].split(None, 1)[0].upper()))
    return seen


def test_a_mail_failing_unforeseen_is_quarantined_alone_and_the_group_stored_once(
    app: App, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fault nobody foresaw in one mail of a group (injected: a real one would be a bug) rolls back the group's
    transaction, and the group is stored again with a savepoint a mail: the others get one ticket and one
    acknowledgement each, numbered without gaps, and the log says each mail's outcome and the fault once."""
    fail_new_tickets(monkeypatch, "坏", "injected fault")
    labels = ["好"] * 7 + ["坏"] + ["好"] * 4
    messages = [SourceMessage(f"g:{i}", mail(f"user{i}@example.com", f"打印机{label} #{i}", "三楼的打印机又卡纸了。"))
                for i, label in enumerate(labels)]
    with caplog.at_level(logging.INFO, logger="maildesk.ingest.pipeline"):
        outcomes = intake_pipeline(app, lambda: NOW).process(messages)
    assert [o.result for o in outcomes] == [Result.CREATED] * 7 + [Result.QUARANTINED] + [Result.CREATED] * 4
    assert "injected fault" in outcomes[7].reason
    numbers = [f"TS-20261123-{n:04d}" for n in range(1, 12)]
    assert [o.ticket for o in outcomes if o.ticket] == numbers
    said = [r.getMessage() for r in caplog.records if r.name == "maildesk.ingest.pipeline"]
    assert said.count("mail g:7 could not be processed; quarantined") == 1
    assert [line for line in said if line.startswith("g:") and "created" in line] == [
        f"g:{i}: created {n}" for i, n in zip([*range(7), *range(8, 12)], numbers, strict=True)]
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 11
        acks = s.scalars(select(OutboxMail.to_addrs).where(OutboxMail.kind == "ack")).all()
    assert sorted(a[0] for a in acks) == sorted(f"user{i}@example.com" for i in range(12) if i != 7)


def test_a_group_takes_a_savepoint_only_for_a_mail_foreseen_to_fail(app: App) -> None:
    """A group of good mails is stored without a savepoint a mail (two statements each, and a good part of a mail's
    work); a mail without a sender is stored in one of its own and quarantined alone."""
    good = [SourceMessage(f"s:{i}", mail(f"user{i}@example.com", f"登录不了 #{i}", "密码正确也登录不了。"))
            for i in range(5)]
    seen = _statements(app)
    pipeline = intake_pipeline(app, lambda: NOW)
    assert [o.result for o in pipeline.process(good)] == [Result.CREATED] * 5
    assert "SAVEPOINT" not in seen
    seen.clear()
    no_sender = mail("user9@example.com", "没有发件人", "正文").replace(b"From: user9@example.com\n", b"")
    mixed = [SourceMessage("s:5", mail("user5@example.com", "又登录不了", "还是不行。")),
             SourceMessage("s:6", no_sender), SourceMessage("s:7", mail("user7@example.com", "打印机", "卡纸。"))]
    outcomes = pipeline.process(mixed)
    assert [o.result for o in outcomes] == [Result.CREATED, Result.QUARANTINED, Result.CREATED]
    assert outcomes[1].reason == "no sender: the mail has no From header"
    assert seen.count("SAVEPOINT") == 2  # the mail's own, and the one its quarantine row is written in
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 7


def test_a_mail_failing_after_its_ticket_was_written_takes_no_other_mail_with_it(app: App) -> None:
    """A mail whose ticket is written before it fails (its sender has no domain, so its acknowledgement cannot be
    composed) is quarantined; the mail after it gets its ticket. On SQLite that ticket has the id the rolled-back
    one had, which the session must have forgotten."""
    nobody = mail("user9@example.com", "无域名", "正文").replace(b"From: user9@example.com", b"From: nobody")
    messages = [SourceMessage("n:0", mail("user0@example.com", "网络慢", "很慢。")), SourceMessage("n:1", nobody),
                SourceMessage("n:2", mail("user2@example.com", "打印机", "卡纸。"))]
    outcomes = intake_pipeline(app, lambda: NOW).process(messages)
    assert [o.result for o in outcomes] == [Result.CREATED, Result.QUARANTINED, Result.CREATED]
    assert [o.ticket for o in outcomes] == ["TS-20261123-0001", None, "TS-20261123-0002"]
    with app.store.session() as s:
        assert s.scalars(select(Ticket.reporter).order_by(Ticket.id)).all() == ["user0@example.com",
                                                                                 "user2@example.com"]


@pytest.mark.pg
def test_another_daemon_storing_a_mail_first_leaves_it_stored_once(tmp_path: Path, pg_database: str) -> None:
    """PostgreSQL: another daemon commits the first mail of this daemon's group just after the group read which of
    its mails are stored (forced at that moment through the database's own statement hook; any later, and the other
    would wait for the rows this group locks). This daemon's rows for the mail meet the other's keys, its group is
    stored again, and the mail is taken as handled: one ticket, one acknowledgement. (SQLite has one writer at a
    time for the whole transaction, so the race cannot happen there.)"""
    empty_store(pg_database).close()
    settings = desk_settings(pg_database)
    ours, other = make_app(tmp_path / "ours", settings), make_app(tmp_path / "other", settings)
    raws = [mail(f"user{i}@example.com", f"网络断了 #{i}", "整层楼没有网络。") for i in range(3)]
    messages = [SourceMessage(f"r:{i}", r) for i, r in enumerate(raws)]
    raced = []

    def other_first(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if not raced and " ".join(statement.split()).startswith("SELECT messages.message_id, messages.id FROM"):
            raced.append(intake_pipeline(other, lambda: NOW).process(messages[:1]))

    event.listen(ours.store.engine, "after_cursor_execute", other_first)
    outcomes = intake_pipeline(ours, lambda: NOW).process(messages)
    assert [o.result for o in raced[0]] == [Result.CREATED]
    assert outcomes[0].result in (Result.ALREADY, Result.DUPLICATE)  # taken as handled, not stored again
    assert [o.result for o in outcomes[1:]] == [Result.CREATED, Result.CREATED]
    with ours.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 3
        acks = s.scalars(select(OutboxMail.to_addrs).where(OutboxMail.kind == "ack")).all()
    assert sorted(a[0] for a in acks) == [f"user{i}@example.com" for i in range(3)]
    ours.close()
    other.close()


def test_a_groups_mails_and_their_copies_on_the_tickets_are_written_together_at_commit(app: App) -> None:
    """Each new ticket queues its acknowledgement and assignment mails, each with a copy among the ticket's messages
    (what a reply to it is threaded by). Those of a whole group are written as it commits: one statement for the
    outbox rows and one for the copies, however many tickets, each copy after the reporter's mail on its ticket
    and the rows in the order queued. A notice with a dedup key is written at once (on PostgreSQL with its copy,
    in one statement), and one whose key was queued before writes neither the mail nor a copy."""
    seen: list[str] = []
    event.listen(app.store.engine, "before_cursor_execute", lambda *a: seen.append(" ".join(a[2].split())))
    senders = [f"user{i}@example.com" for i in range(3)]
    outcomes = intake_pipeline(app, lambda: NOW).process([
        SourceMessage(f"c:{i}", mail(sender, f"VPN 连不上 {i}", "在家连不上公司 VPN。",
                                     message_id=f"<c{i}@client.example.com>"))
        for i, sender in enumerate(senders)])
    assert [o.result for o in outcomes] == [Result.CREATED] * 3
    outbox_writes = [s for s in seen if "INSERT INTO outbox" in s]
    # the reporters' mails are written with RETURNING (on PostgreSQL, in their tickets' statements); the copies not
    copy_writes = [s for s in seen if s.startswith("INSERT INTO messages") and "RETURNING" not in s]
    assert len(outbox_writes) == 1 and len(copy_writes) == 1
    with app.store.session() as s:
        queued = s.execute(select(OutboxMail.kind, OutboxMail.ticket_id, OutboxMail.message_id)
                           .order_by(OutboxMail.id)).all()
        tickets = s.scalars(select(Ticket).order_by(Ticket.id)).all()
        # in the order queued: ticket by ticket, each one's acknowledgement first
        assert [t for _, t, _ in queued] == sorted(t for _, t, _ in queued) and {t for _, t, _ in queued} == {
            t.id for t in tickets}
        assert all(queued[i][0] == "ack" for i, (_, t, _) in enumerate(queued) if i == 0 or queued[i - 1][1] != t)
        for ticket, sender in zip(tickets, senders, strict=True):
            copies = s.execute(select(Message.direction, Message.kind, Message.message_id)
                               .where(Message.ticket_id == ticket.id).order_by(Message.id)).all()
            assert copies[0][:2] == ("in", "normal") and copies[0][2].startswith(f"c{senders.index(sender)}@")
            assert copies[1:] == [("out", k, m) for k, t, m in queued if t == ticket.id]
            assert ticket.message_count == len(copies)
    # a notice with a dedup key queued twice: written at once; the second writes no outbox row and no copy
    for attempt in range(2):
        seen.clear()
        with app.store.session() as s:
            ticket = s.scalars(select(Ticket).order_by(Ticket.id)).first()
            assert ticket is not None
            values = {k: v for k, v in SAMPLES["progress"].items() if k != "ticket"}
            queued_now = to_reporter(context(app, s, NOW), ticket, "progress", values,
                                     dedup_key=f"progress:{ticket.id}")
            assert (queued_now is not None) == (attempt == 0)
            writes = [w for w in seen if "INSERT INTO" in w]
            if attempt == 0:
                assert len(writes) == (1 if app.store.dialect == "postgresql" else 2)
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == "progress")) == 1
        assert s.scalar(select(func.count()).select_from(Message).where(Message.kind == "progress")) == 1


def test_a_new_tickets_first_events_and_message_are_written_with_it_in_their_order(app: App) -> None:
    """A new ticket's first events (created, its assignee, the rules that classified it) and the mail that opened
    it are written with it, the events in their order; on PostgreSQL in the ticket's own statement, two round trips
    less a new ticket. A ticket made without a mail (``tickets new``) has its events all the same."""
    seen: list[str] = []
    event.listen(app.store.engine, "before_cursor_execute", lambda *a: seen.append(" ".join(a[2].split())))
    outcome, = intake_pipeline(app, lambda: NOW).process([SourceMessage("f:1", mail(
        "User1@Example.com", "打印机卡纸", "三楼打印机卡纸。", message_id="<f1@client.example.com>"))])
    with app.store.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == outcome.ticket)).one()
        events = s.execute(select(Event.action).where(Event.ticket_id == ticket.id).order_by(Event.id)).all()
        first = s.execute(select(Message.ticket_id, Message.direction, Message.message_id, Message.text)
                          .order_by(Message.id)).first()
    assert events[0] == ("created",)
    assert first == (ticket.id, "in", "f1@client.example.com", "三楼打印机卡纸。")
    writes = [s for s in seen if "INSERT INTO tickets" in s or "INSERT INTO events" in s]
    if app.store.dialect == "postgresql":
        assert len(writes) == 1 and "INSERT INTO events" in writes[0] and "INSERT INTO messages" in writes[0]
    else:  # the ticket, its events, then the mail
        assert len(writes) == 2 and seen[seen.index(writes[1]) + 1].startswith("INSERT INTO messages")
    seen.clear()
    with app.store.session() as s:
        made = create_ticket(context(app, s, NOW), NewTicket(
            subject="打印机卡纸", reporter="User2@Example.com", priority="P3", type="hardware", team="hardware",
            assignee="lead@example.com", extra_events=(("rules", "hit printer"), ("rules", "hit paper"))))
        number = made.number
    with app.store.session() as s:
        stored = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        events = s.execute(select(Event.action, Event.to_value, Event.note, Event.at)
                           .where(Event.ticket_id == stored.id).order_by(Event.id)).all()
        assert (stored.reporter, stored.assignee, stored.status) == ("user2@example.com", "lead@example.com",
                                                                     "assigned")
    assert [tuple(e[:3]) for e in events] == [
        ("created", "assigned", "hardware P3"), ("assignee", "lead@example.com", ""),
        ("rules", None, "hit printer"), ("rules", None, "hit paper")]
    assert all(e.at == NOW for e in events)
    writes = [s for s in seen if "INSERT INTO tickets" in s or "INSERT INTO events" in s]
    assert len(writes) == (1 if app.store.dialect == "postgresql" else 2)


def test_a_group_reads_its_acknowledgement_limits_and_knowledge_base_counts_once(app: App) -> None:
    """What each new ticket's acknowledgement asks the database (its sender's acknowledgements of the last hour, how
    many articles hold each of its words) is read once for a group of mails, not once a mail."""
    seen: list[str] = []
    event.listen(app.store.engine, "before_cursor_execute", lambda *a: seen.append(" ".join(a[2].split())))
    outcomes = intake_pipeline(app, lambda: NOW).process([
        SourceMessage(f"g:{i}", mail(f"user{i}@example.com", f"打印机卡纸 {i}", "三楼的打印机卡纸了，打不出来。",
                                     message_id=f"<g{i}@client.example.com>")) for i in range(5)])
    assert [o.result for o in outcomes] == [Result.CREATED] * 5
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == "ack")) == 5
    assert len([s for s in seen if "FROM outbox JOIN tickets" in s]) == 1
    assert len([s for s in seen if "FROM kb_terms" in s and "count(*)" in s]) == 1

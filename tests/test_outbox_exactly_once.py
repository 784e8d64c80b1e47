"""Exactly-once sending against a real aiosmtpd server whose DATA takes a while, on SQLite and PostgreSQL:
flushers running at once, the daemon's own two flushes, a flusher killed while it sends, several connections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import event

from maildesk.daemon import Daemon
from maildesk.ingest.file_source import MaildirSource
from maildesk.outbound import claims
from maildesk.outbound.sender import FlushResult, flush_outbox_sync
from maildesk.scheduler import start_scheduler
from maildesk.store.db import Store
from tests.desk import desk_settings, make_app
from tests.outbox_rows import outbox_rows, queue, received_ids, smtp_config, transports, utc_now
from tests.smtp_sink import SmtpSink

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def _pending(store: Store) -> int:
    return sum(1 for r in outbox_rows(store) if r.status == "pending")


def _flush_until_done(url: str, sink: SmtpSink, lease: float, results: list[FlushResult], errors: list[BaseException],
                      deadline: float) -> None:
    """What a daemon does: flush, and flush again a moment later, until nothing is left to send."""
    store = Store(url)
    try:
        while _pending(store) and time.monotonic() < deadline:
            results.append(flush_outbox_sync(store, transports(sink), smtp_config(sink, connections=2,
                                                                                  lease_seconds=lease), utc_now))
            time.sleep(0.05)  # a daemon's next flush comes later; this one is just sooner
    except BaseException as exc:
        errors.append(exc)
    finally:
        store.close()


def test_a_claim_takes_one_group_oldest_first_and_leaves_the_rest_to_others(db_url: str) -> None:
    """Of 60 due mails a flusher claims the 25 due first; the next flusher the next 25, the third the last 10."""
    store = Store(db_url)
    queue(store, 30, NOW)
    queue(store, 30, NOW - timedelta(minutes=1))  # due earlier, queued later
    ids = [r.id for r in sorted(outbox_rows(store), key=lambda r: (r.next_attempt_at, r.id))]
    lease = timedelta(minutes=2)
    taken = [[c.id for c in claims.claim(store, f"host:{n}:abcd", NOW, lease, 25)] for n in range(4)]
    by = {r.id: r.claimed_by for r in outbox_rows(store)}
    store.close()
    assert taken == [ids[:25], ids[25:50], ids[50:], []]
    assert [by[i] for i in ids] == ["host:0:abcd"] * 25 + ["host:1:abcd"] * 25 + ["host:2:abcd"] * 10


def test_the_results_written_with_the_next_claim_are_only_on_the_rows_still_held(db_url: str) -> None:
    """Writing a group's results in the transaction that claims the next group: a row taken over by another
    flusher after the lease ended keeps the other's claim, and the next group is claimed all the same."""
    store = Store(db_url)
    queue(store, 30, NOW)
    lease = timedelta(minutes=2)
    mine = [c.id for c in claims.claim(store, "host:1:mine", NOW, lease, 3)]
    later = NOW + lease + timedelta(seconds=1)  # this flusher's lease ran out; another took the third row
    (taken,) = [c.id for c in claims.claim(store, "host:2:other", later, lease, 1)]
    assert taken == mine[0]
    sent = [claims.Result(i, {"status": "sent", "attempts": 1, "sent_at": later}) for i in mine]
    written, claimed = claims.record_and_claim(store, "host:1:mine", sent, later, lease, 25)
    rows = {r.id: r for r in outbox_rows(store)}
    store.close()
    assert written == set(mine[1:])
    assert [rows[i].status for i in mine] == ["pending", "sent", "sent"]
    assert rows[taken].claimed_by == "host:2:other"
    assert len(claimed) == 25 and all(rows[c.id].claimed_by == "host:1:mine" for c in claimed)
    assert not set(mine) & {c.id for c in claimed}


def test_two_flushers_with_a_lease_shorter_than_their_sending_send_every_mail_once(db_url: str) -> None:
    """Two flushers sharing an outbox of 60 mails, each sending longer than the 1-second lease it holds
    the mails for, share the work, deliver every Message-ID exactly once and leave every row sent."""
    store = Store(db_url)
    ids = queue(store, 60, utc_now())
    results: tuple[list[FlushResult], list[FlushResult]] = ([], [])
    errors: list[BaseException] = []
    with SmtpSink(delay=0.2) as sink:
        deadline = time.monotonic() + 60
        threads = [threading.Thread(target=_flush_until_done, args=(db_url, sink, 1.0, mine, errors, deadline))
                   for mine in results]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        got = received_ids(sink)
    assert errors == []
    assert got == dict.fromkeys(ids, 1)
    rows = outbox_rows(store)
    store.close()
    assert {r.status for r in rows} == {"sent"} and all(r.claimed_by is None for r in rows)
    sent = [sum(r.sent for r in mine) for mine in results]
    assert sum(sent) == 60 and min(sent) > 0


def test_a_flusher_sending_longer_than_its_lease_keeps_its_mails_from_others(db_url: str) -> None:
    """A flusher sending 20 mails for 4 seconds under a 2-second lease renews it and sends all 20 in one
    flush, while another flusher flushing every tenth of a second meanwhile gets none of them.
    (A lease of 2 s, not the minimum 1 s: a renewal more than half a lease late makes the flusher stop
    sending, which a loaded 2-core CI machine can cause at 1 s.)"""
    store = Store(db_url)
    ids = queue(store, 20, utc_now())
    other: list[FlushResult] = []
    with SmtpSink(delay=0.2) as sink:
        smtp = smtp_config(sink, connections=1, lease_seconds=2.0)
        first: list[FlushResult] = []
        sender = threading.Thread(target=lambda: first.append(flush_outbox_sync(store, transports(sink), smtp,
                                                                                utc_now)))
        sender.start()
        deadline = time.monotonic() + 30
        while not sink.messages and time.monotonic() < deadline:  # the first has claimed and is sending
            time.sleep(0.01)
        while sender.is_alive():
            other.append(flush_outbox_sync(store, transports(sink), smtp, utc_now))
            time.sleep(0.1)
        sender.join()
        got = received_ids(sink)
    store.close()
    assert [r.sent for r in first] == [20] and sum(r.sent for r in other) == 0 and len(other) >= 10
    assert got == dict.fromkeys(ids, 1)


def test_the_daemons_main_loop_and_its_scheduler_job_flushing_at_once_send_nothing_twice(
    tmp_path: Path, db_url: str,
) -> None:
    """The daemon's flush after intake and the scheduler's outbox job (which runs as the scheduler starts),
    flushing 40 slow mails at the same time, deliver each Message-ID once."""
    with SmtpSink(delay=0.2) as sink:
        settings = desk_settings(db_url, smtp=(sink.host, sink.port))
        # a lease the renewal keeps under CI load (one late by half a lease stops that flusher's sending)
        settings["smtp"] |= {"connections": 2, "lease_seconds": 4.0}
        app = make_app(tmp_path / "desk", settings)
        ids = queue(app.store, 40, utc_now())
        for sub in ("cur", "new", "tmp"):
            (tmp_path / "inbox" / sub).mkdir(parents=True)
        daemon = Daemon(app, MaildirSource(tmp_path / "inbox"), utc_now)
        flushed: list[FlushResult] = []
        main_loop = threading.Thread(target=lambda: flushed.append(daemon.flush()))
        main_loop.start()
        job_done = threading.Event()
        job_failed: list[JobExecutionEvent] = []

        def on_job(event: JobExecutionEvent) -> None:
            if event.job_id == "outbox":
                if event.exception is not None:
                    job_failed.append(event)
                job_done.set()

        deadline = time.monotonic() + 10
        while not sink.messages and time.monotonic() < deadline:  # until the main loop's flush is sending
            time.sleep(0.01)
        scheduler = start_scheduler(app, utc_now, daemon.flush)  # its outbox job runs at once
        scheduler.add_listener(on_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        try:
            assert job_done.wait(30)
            main_loop.join(30)
        finally:
            scheduler.shutdown(wait=True)
            daemon.source.close()
        got = received_ids(sink)
    rows = outbox_rows(app.store)
    app.close()
    assert job_failed == []
    assert got == dict.fromkeys(ids, 1)
    assert {r.status for r in rows} == {"sent"}
    assert flushed[0].sent > 0  # the main loop's flush did send, not only wait


def test_a_dead_flushers_mails_wait_for_its_lease_then_go_out_once(db_url: str, smtp_sink: SmtpSink) -> None:
    """Mails another flusher claimed and never sent (it died) are left alone while its lease runs, then
    sent once each by the next flush."""
    store = Store(db_url)
    ids = queue(store, 5, NOW)
    smtp = smtp_config(smtp_sink)
    lease = timedelta(seconds=smtp.lease_seconds)
    assert len(claims.claim(store, "gone.example.com:4242:deadbeef", NOW, lease, 25)) == 5

    inside = flush_outbox_sync(store, transports(smtp_sink), smtp, lambda: NOW + lease - timedelta(seconds=1))
    assert (inside.sent, received_ids(smtp_sink)) == (0, {})
    after = flush_outbox_sync(store, transports(smtp_sink), smtp, lambda: NOW + lease + timedelta(seconds=1))
    assert after.sent == 5
    assert received_ids(smtp_sink) == dict.fromkeys(ids, 1)
    assert {r.status for r in outbox_rows(store)} == {"sent"}
    store.close()


_FLUSHER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from maildesk.config import SmtpConfig
    from maildesk.outbound.sender import flush_outbox_sync
    from maildesk.outbound.transport import SmtpTransport
    from maildesk.store.db import Store

    url, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    smtp = SmtpConfig(host=host, port=port, security="plain", timeout=5.0, connections=1, lease_seconds=60)
    flush_outbox_sync(Store(url), lambda: SmtpTransport(host, port, security="plain", timeout=5.0), smtp,
                      lambda: datetime.now(UTC))
""")


@pytest.mark.slow
def test_a_flusher_killed_while_sending_leaves_its_mails_to_the_next_after_the_lease(db_url: str) -> None:
    """A flusher process killed with SIGKILL mid-way: within its lease nobody sends its mails; after it,
    every mail goes out, those the server had not yet taken exactly once, the rest at most twice with
    the same Message-ID."""
    store = Store(db_url)
    ids = queue(store, 12, utc_now())
    with SmtpSink(delay=0.3) as sink:
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        flusher = subprocess.Popen([sys.executable, "-c", _FLUSHER, db_url, sink.host, str(sink.port)], env=env)
        try:
            deadline = time.monotonic() + 30
            while len(sink.messages) < 2 and time.monotonic() < deadline and flusher.poll() is None:
                time.sleep(0.02)
            flusher.send_signal(signal.SIGKILL)
        finally:
            flusher.wait(10)
        time.sleep(0.6)  # the mail the dead flusher was sending may still be taken by the server
        before = received_ids(sink)
        assert 2 <= sum(before.values()) < 12

        smtp = smtp_config(sink, lease_seconds=60)
        within = flush_outbox_sync(store, transports(sink), smtp, utc_now)
        assert within.sent == 0 and received_ids(sink) == before
        after = flush_outbox_sync(store, transports(sink), smtp, lambda: utc_now() + timedelta(seconds=61))
        got = received_ids(sink)
    rows = outbox_rows(store)
    store.close()
    assert after.sent == 12  # the dead flusher wrote no result: it writes them a group at a time
    assert set(got) == set(ids) and {r.status for r in rows} == {"sent"}
    assert all(got[i] == 1 for i in ids if i not in before)
    assert all(got[i] <= 2 for i in before)


def test_four_connections_send_four_mails_at_a_time(db_url: str) -> None:
    """With smtp.connections = 4 the server is answering four mails at once, over four connections."""
    store = Store(db_url)
    ids = queue(store, 12, NOW)
    with SmtpSink(delay=0.2) as sink:
        result = flush_outbox_sync(store, transports(sink), smtp_config(sink, connections=4), lambda: NOW)
        peak, peers, got = sink.peak_data, {m.peer for m in sink.messages}, received_ids(sink)
    store.close()
    assert result.sent == 12 and got == dict.fromkeys(ids, 1)
    assert peak == 4 and len(peers) == 4


def test_a_group_s_results_go_with_the_next_claim_in_one_transaction(db_url: str, smtp_sink: SmtpSink) -> None:
    """100 mails over four connections take six transactions: the first claim, four that each write the
    results so far and claim the next group (the last finding none), and one for the mails still being sent
    then. Every transaction is a wait for SQLite's one write lock, which intake shares; a group's results
    written apart from the next claim made it eight."""
    store = Store(db_url)
    ids = queue(store, 100, NOW)
    begun: list[int] = []
    event.listen(store.engine, "begin", lambda conn: begun.append(1))
    result = flush_outbox_sync(store, transports(smtp_sink), smtp_config(smtp_sink, connections=4), lambda: NOW)
    transactions = len(begun)
    rows = outbox_rows(store)
    store.close()
    assert result.sent == 100 and received_ids(smtp_sink) == dict.fromkeys(ids, 1)
    assert {r.status for r in rows} == {"sent"}
    assert transactions == 6

"""The sender alongside intake is a process of its own: it flushes on each kick, says what it sent, and ends
when told, when its parent dies, or on SIGTERM, cutting a running flush short in the last three cases.

The flushes here are stand-ins that write what they saw to a file (the real flush, over a real SMTP server,
is in tests/test_sending_alongside_e2e.py): what is tested is the process around it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from maildesk.outbound.alongside import Flush, MakeFlush, SendingAlongside
from maildesk.outbound.sender import FlushResult
from maildesk.store.db import Store
from tests.daemon_process import ended
from tests.waiting import wait_for


def _recording(log: Path, *, hold: float = 0.0) -> MakeFlush:
    """A ``make_flush`` whose flush notes the process it ran in, and waits up to ``hold`` s for its stop event
    (a long flush), noting whether it was cut short."""

    def make() -> tuple[Flush, threading.Event]:
        stop = threading.Event()
        with log.open("a") as out:
            out.write(f"made {os.getpid()}\n")

        def flush() -> FlushResult:
            with log.open("a") as out:
                out.write(f"begin {os.getpid()}\n")
            cut = stop.wait(hold) if hold else False
            with log.open("a") as out:
                out.write(f"flush {os.getpid()} {'cut' if cut else 'whole'}\n")
            return FlushResult(sent=2, retrying=1)

        return flush, stop

    return make


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_each_kick_flushes_in_another_process_and_stop_returns_what_all_the_flushes_sent(tmp_path: Path) -> None:
    log = tmp_path / "log"
    sending = SendingAlongside(_recording(log)).start()
    sending.kick()
    assert wait_for(lambda: sum(line.startswith("flush") for line in _lines(log)) == 1)
    sending.kick()
    assert wait_for(lambda: sum(line.startswith("flush") for line in _lines(log)) == 2)
    total = sending.stop()
    assert (total.sent, total.retrying, total.failed) == (4, 2, 0)
    pids = {line.split()[1] for line in _lines(log)}
    assert len(pids) == 1 and str(os.getpid()) not in pids


def test_the_parents_stop_request_cuts_the_running_flush_short(tmp_path: Path) -> None:
    log, stopping = tmp_path / "log", threading.Event()
    sending = SendingAlongside(_recording(log, hold=30.0), stopping=stopping).start()
    sending.kick()
    assert wait_for(lambda: any(line.startswith("begin") for line in _lines(log)))  # inside the flush
    stopping.set()  # SIGTERM in the daemon
    begun = time.monotonic()
    total = sending.stop()
    assert time.monotonic() - begun < 5
    assert [line.split()[2] for line in _lines(log) if line.startswith("flush")] == ["cut"]
    assert total.sent == 2


def test_a_stop_without_a_stop_request_lets_the_running_flush_finish(tmp_path: Path) -> None:
    log = tmp_path / "log"
    sending = SendingAlongside(_recording(log, hold=1.0)).start()
    sending.kick()
    assert wait_for(lambda: any(line.startswith("begin") for line in _lines(log)))
    sending.stop()
    assert [line.split()[2] for line in _lines(log) if line.startswith("flush")] == ["whole"]


def _parent(log: str) -> None:
    """A parent that starts a sender, kicks it, and is then killed while the sender's flush runs."""
    sending = SendingAlongside(_recording(Path(log), hold=60.0)).start()
    sending.kick()
    time.sleep(60)


def test_the_sender_ends_and_cuts_its_flush_short_when_its_parent_dies(tmp_path: Path) -> None:
    import multiprocessing

    log = tmp_path / "log"
    parent = multiprocessing.get_context("fork").Process(target=_parent, args=(str(log),))
    parent.start()
    assert wait_for(lambda: any(line.startswith("begin") for line in _lines(log)))  # inside the flush
    child = int(next(line for line in _lines(log) if line.startswith("made")).split()[1])
    os.kill(parent.pid or 0, signal.SIGKILL)  # no goodbye: the pipe to the sender just closes
    parent.join()
    assert wait_for(lambda: any(line.startswith("flush") for line in _lines(log)), 5)
    assert [line.split()[2] for line in _lines(log) if line.startswith("flush")] == ["cut"]
    assert wait_for(lambda: ended(child))


def test_sigterm_to_the_sender_cuts_its_flush_short_and_the_parent_still_hears_the_total(tmp_path: Path) -> None:
    log = tmp_path / "log"
    sending = SendingAlongside(_recording(log, hold=60.0)).start()
    sending.kick()
    assert wait_for(lambda: any(line.startswith("begin") for line in _lines(log)))  # inside the flush
    child = int(next(line for line in _lines(log) if line.startswith("made")).split()[1])
    os.kill(child, signal.SIGTERM)  # systemd sends it to every process of the service
    assert wait_for(lambda: any(line.startswith("flush") for line in _lines(log)), 5)
    total = sending.stop()
    assert [line.split()[2] for line in _lines(log) if line.startswith("flush")] == ["cut"]
    assert total.sent == 2


def _writing_to(url: str) -> MakeFlush:
    """A ``make_flush`` whose flush commits one row to the table ``t`` of ``url``, from the child's own store."""

    def make() -> tuple[Flush, threading.Event]:
        store = Store(url)

        def flush() -> FlushResult:
            with store.engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            return FlushResult(sent=1)

        return flush, threading.Event()

    return make


def _rows_seen_by_another_process(db: Path) -> int:
    """What a process opening the database now sees (it closes it again: the last one out folds the
    write-ahead log into the database and removes it)."""
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "print(c.execute('SELECT count(*) FROM t').fetchone()[0]); c.close()")
    return int(subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True,
                              check=True).stdout)


def test_the_senders_commits_last_after_its_parent_closed_the_database_and_another_process_opened_it(
    tmp_path: Path,
) -> None:
    """SQLite keeps lock state per process: a sender forked while its parent had the database open thought it
    held the parent's locks, and once the parent let go, a process that opened and closed the database
    reset the write-ahead log under it, so its next commit was lost. The parent's connections are closed
    before the fork."""
    db = tmp_path / "desk.db"
    url = f"sqlite:///{db}"
    parents = Store(url)
    with parents.engine.begin() as conn:  # open, in write-ahead mode, and kept open in the pool
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    sending = SendingAlongside(_writing_to(url), before_fork=parents.before_fork).start()
    try:
        parents.close()  # the daemon's parent goes on with fresh connections, or dies
        sending.kick()
        assert wait_for(lambda: _rows_seen_by_another_process(db) == 1)
        sending.kick()  # after another process opened and closed the database
        assert wait_for(lambda: _rows_seen_by_another_process(db) == 2, 3)
    finally:
        total = sending.stop()
    assert total.sent == 2

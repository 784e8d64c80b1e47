"""Sending alongside intake (`run --once` and `run`): the outbox flushed by a process of its own while the next
batch is read and stored.

Intake kicks the sender after each committed batch (the serving daemon's periodic outbox job
does too); the sender flushes whatever is due, then waits for the next kick. The flush is the
ordinary one (``maildesk.outbound.sender``), so its claims and leases keep every mail to one
copy whichever process or daemon sends it. When the sender has ended (it failed, or someone
killed it), ``kick`` says so and the caller sends the mail itself.

Why a process and not a thread: intake is CPU-bound Python, and a sending thread beside it got
the interpreter lock only at its switch interval, so it sent a few dozen mails a second while
intake ran and the rest after it (measured: of 4,000 mails, almost all were still queued when
the mailbox was empty). A forked process uses the second core: on PostgreSQL it keeps pace with
intake; on SQLite each of its transactions waits for the gap between two intake batches, which
hold the one write lock, so it sends about a group a batch and the rest once the mailbox is empty.

The child is forked, so it has the parent's settings and clock without re-reading anything; it
opens database connections of its own (``make_flush`` runs in the child), never the parent's, and
``before_fork`` closes the parent's first (``Store.before_fork``: SQLite's lock state is per
process, and a child forked with connections open can lose its writes).
It ends when told (``stop``), when the parent's pipe closes (the parent died: its flush is told
to stop, and what it has not sent goes out at the next flush, after the lease), or on SIGTERM or
SIGINT (the same). A failing flush is logged and left to the next kick; whoever started the
sender does the last flush itself after ``stop()``, so its failure is reported where a flush's
failure always was.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import FrameType, TracebackType

from sqlalchemy.exc import SQLAlchemyError

from maildesk.errors import MaildeskError
from maildesk.outbound.sender import FlushResult
from maildesk.store.dberrors import describe_failure

log = logging.getLogger(__name__)

Flush = Callable[[], FlushResult]
# the sender's parts, made in the child: the flush, and the event that tells a running flush to stop
MakeFlush = Callable[[], tuple[Flush, threading.Event]]

KICK, CLOSE, HALT = "kick", "close", "halt"
JOIN_SECONDS = 30.0  # a flush told to stop ends within its STOP_GRACE; this only bounds a wedged child


class SendingAlongside:
    """A process that runs a flush after each ``kick()`` until ``stop()``; ``total`` adds up what it sent."""

    def __init__(self, make_flush: MakeFlush, *, stopping: threading.Event | None = None,
                 before_fork: Callable[[], None] | None = None) -> None:
        self._make_flush = make_flush
        self._before_fork = before_fork
        self._stopping = stopping  # the parent's stop request: the child's flush is cut short too
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._orders = threading.Lock()  # the daemon's main loop and its scheduler both kick
        self.total = FlushResult()

    def start(self) -> SendingAlongside:
        if self._before_fork is not None:
            self._before_fork()
        fork = multiprocessing.get_context("fork")
        ours, theirs = fork.Pipe()
        self._process = fork.Process(
            target=_serve, args=(theirs, ours, self._make_flush), name="maildesk sending", daemon=True)
        self._process.start()
        theirs.close()
        self._conn = ours
        return self

    def kick(self) -> bool:
        """New mail is committed to the outbox: flush (again) when the current flush is done. False when
        the sender has ended (it failed, or was killed): the caller sends the mail itself."""
        with self._orders:
            if self._process is None or not self._process.is_alive():
                return False
        self._send(self._unless_stopping(KICK))
        return True

    def exit_code(self) -> int | None:
        """The sender's exit code once it has ended, else None."""
        return None if self._process is None else self._process.exitcode

    def stop(self) -> FlushResult:
        """End the sender after the flush it is doing (no new one); returns what it sent in all."""
        if self._conn is None or self._process is None:
            return self.total
        self._send(self._unless_stopping(CLOSE))
        try:
            if self._conn.poll(JOIN_SECONDS):
                sent, retrying, failed = self._conn.recv()
                self.total = FlushResult(sent, retrying, failed)
            else:
                log.error("outbox: the sender alongside intake did not end within %.0f s; ending it", JOIN_SECONDS)
        except EOFError:
            log.error("outbox: the sender alongside intake ended without saying what it sent")
        finally:
            with self._orders:
                self._conn.close()
                self._process.join(1.0)
                if self._process.is_alive():
                    self._process.kill()  # its claims end with their lease; the mails go out at the next flush
                    self._process.join()
                self._conn = self._process = None
        return self.total

    def _unless_stopping(self, order: str) -> str:
        """``order``, or HALT once the parent was asked to stop: the child's flush is cut short too."""
        return HALT if self._stopping is not None and self._stopping.is_set() else order

    def _send(self, message: str) -> None:
        with self._orders, contextlib.suppress(OSError):  # the child is gone: stop() says so
            if self._conn is not None:
                self._conn.send(message)

    def __enter__(self) -> SendingAlongside:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _serve(conn: Connection, parents_end: Connection, make_flush: MakeFlush) -> None:
    """The child: flush after each kick; on close, say what was sent; on halt, signal or EOF, cut the flush short."""
    parents_end.close()  # its copy, forked along: kept open here, the parent's death would not close the pipe
    flush, halted = make_flush()
    due = threading.Event()
    closing = threading.Event()

    def halt(_signum: int | None = None, _frame: FrameType | None = None) -> None:
        halted.set()
        closing.set()
        due.set()

    # the parent's handlers and wake-up pipe came along with the fork; the child has its own way to stop
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, halt)

    def listen() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the parent is gone
                halt()
                return
            if message == HALT:
                halt()
            elif message == CLOSE:
                closing.set()
            due.set()

    threading.Thread(target=listen, name="maildesk sending: orders", daemon=True).start()
    total = FlushResult()
    while True:
        due.wait()
        if closing.is_set():
            break
        due.clear()
        try:
            total = total + flush()
        except (SQLAlchemyError, MaildeskError) as exc:  # the next kick, or the parent's last flush, tries again
            log.error("outbox: a flush alongside intake failed, trying again after the next batch: %s",
                      describe_failure(exc))
        except Exception:
            log.exception("outbox: a flush alongside intake failed; trying again after the next batch")
    with contextlib.suppress(OSError):  # the parent is gone
        conn.send((total.sent, total.retrying, total.failed))

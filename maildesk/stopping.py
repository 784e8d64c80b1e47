"""SIGTERM and SIGINT for the daemon: stop soon, and for certain within STOP_SECONDS.

The main thread is told in two ways. Its Python handler sets ``requested`` and, while the
daemon is in an interruptible stretch (waiting for mail, talking to the mailbox before
anything is stored, sitting out an outage), raises ``Interrupted`` there and then: a socket
read or a back-off sleep ends at once. Elsewhere (storing a batch, moving stored mail) the
daemon finishes the step and sees ``requested`` at its next check.

That handler only runs when the main thread runs Python. A thread blocked inside C (SQLite
waiting for another process's write lock, a library's own retry loop) would keep it waiting,
so the signal also goes to a watchdog thread through ``signal.set_wakeup_fd``: it sets
``requested`` at once and, if the process is still alive STOP_SECONDS later, ends it. Nothing is
lost that way: mail leaves the inbox only after the transactions storing it committed, so the
mail in hand is either stored or still in the inbox. A second signal ends it at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

# systemd's default stop timeout is 90 s; the issue asked for 10
STOP_SECONDS = 8.0
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(BaseException):
    """Raised in the main thread by the signal handler to end an interruptible wait or read.

    A BaseException, so that no ``except Exception`` on the way (a reconnect loop, a per-mail
    guard) mistakes it for a failure and carries on.
    """


class StopSignal:
    """The stop request of one daemon run: ``requested`` is set by the first SIGTERM or SIGINT."""

    def __init__(self, requested: threading.Event, *, deadline: float = STOP_SECONDS) -> None:
        self.requested = requested
        self.deadline = deadline
        self._interruptible = 0
        self._signals = 0
        self._previous: dict[int, Any] = {}
        self._pipe: tuple[int, int] | None = None
        self._old_wakeup = -1

    def install(self) -> None:
        """Take over SIGTERM and SIGINT (main thread only) and start the watchdog."""
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        self._pipe = (read_end, write_end)
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        self._old_wakeup = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, args=(read_end,), name="maildesk-stop-watchdog", daemon=True).start()

    def uninstall(self) -> None:
        """Give the signals back. A watchdog already counting down keeps counting: the process is ending."""
        if self._pipe is None:
            return
        signal.set_wakeup_fd(self._old_wakeup)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        if not self._signals:
            os.close(self._pipe[1])  # the watchdog reads the end of the pipe and leaves
        self._pipe = None

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """A stretch the signal may cut short with Interrupted (nothing of it is stored yet)."""
        if self.requested.is_set():
            raise Interrupted
        self._interruptible += 1
        try:
            yield
        finally:
            self._interruptible -= 1

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("signal %d again: stopping now", signum)
            os._exit(0)
        log.info("signal %d: finishing the mail in hand, then stopping (at most %.0f s)", signum, self.deadline)
        self.requested.set()
        if self._interruptible:
            raise Interrupted

    def _watch(self, read_end: int) -> None:
        try:
            got = os.read(read_end, 1)
        finally:
            os.close(read_end)
        if not got:  # uninstalled without a signal
            return
        self.requested.set()
        timer = threading.Timer(self.deadline, self._overdue)
        timer.daemon = True
        timer.start()

    def _overdue(self) -> None:
        log.warning("still not stopped %.0f s after the signal (a thread is blocked, e.g. on a database lock or "
                    "a server that does not answer); ending now: the mail in hand was either stored or is still "
                    "in the inbox", self.deadline)
        os._exit(0)

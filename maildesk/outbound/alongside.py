"""Sending alongside intake (`run --once`): the outbox flushed on a thread of its own while the next batch is
read and stored.

Intake kicks the thread after each committed batch; the thread flushes whatever is due, then
waits for the next kick. The flush is the ordinary one (``maildesk.outbound.sender``), so its
claims and leases keep every mail to one copy whichever thread or daemon sends it. What the
overlap buys: while the sender waits on the SMTP server and the main thread waits on the mail
server or the database (neither holds the interpreter lock), the other one works, and the mail a
batch queued is on its way before the whole mailbox is drained.

A failing flush is logged and left to the next kick; whoever started the thread does the last
flush itself after ``stop()``, so its failure is reported where a flush's failure always was.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from sqlalchemy.exc import SQLAlchemyError

from maildesk.errors import MaildeskError
from maildesk.outbound.sender import FlushResult
from maildesk.store.dberrors import describe_failure

log = logging.getLogger(__name__)


class SendingAlongside:
    """A thread that runs ``flush`` after each ``kick()`` until ``stop()``; ``total`` adds up what it sent."""

    def __init__(self, flush: Callable[[], FlushResult]) -> None:
        self._flush = flush
        self._due = threading.Event()
        self._closing = False
        self.total = FlushResult()
        self._thread = threading.Thread(target=self._run, name="maildesk sending", daemon=True)

    def start(self) -> SendingAlongside:
        self._thread.start()
        return self

    def kick(self) -> None:
        """New mail is committed to the outbox: flush (again) when the current flush is done."""
        self._due.set()

    def stop(self) -> FlushResult:
        """End the thread after the flush it is doing (no new one); returns what it sent in all."""
        self._closing = True
        self._due.set()
        self._thread.join()
        return self.total

    def __enter__(self) -> SendingAlongside:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _run(self) -> None:
        while True:
            self._due.wait()
            if self._closing:
                return
            self._due.clear()
            try:
                result = self._flush()
            except (SQLAlchemyError, MaildeskError) as exc:  # the next kick, or the caller's last flush, tries again
                log.error("outbox: a flush alongside intake failed, trying again after the next batch: %s",
                          describe_failure(exc))
                continue
            except Exception:
                log.exception("outbox: a flush alongside intake failed; trying again after the next batch")
                continue
            self.total = self.total + result


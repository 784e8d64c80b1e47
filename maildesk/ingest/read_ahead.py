"""The mailbox read one batch ahead: while intake stores a batch, a thread fetches the next.

Over IMAP each batch costs a wait for the server twice: fetching it, and moving the batch
before it out of the inbox once stored. Both are waits on a socket, and the daemon's one
core of Python has other work then (storing the batch in hand), so a thread of its own does
them: when the pipeline takes a batch, the next one is asked for at once, and the moves of a
stored batch are done after it, in order. Every call to the mailbox goes through that one
thread, one at a time, so the connection is never used by two threads at once.

What changes for the guarantees: nothing is moved before the pipeline asks (after the commit),
and a batch fetched ahead that is never taken (the pass ends, a stop, a failure) stays in the
inbox, handed out in this pass only, so the next pass offers it again. The batch read ahead gets
what the batch in hand leaves of the bytes a batch may hold, so the two together stay within them
but for one mail (a source hands out its first mail however large); a batch that fills them is read
alone, as before. ``upcoming`` shows the batch read ahead once it is there, so that the parsing
process can begin on it before it is taken. A failure of a fetch or a move is raised to the caller
on its next call (``fetch_batch``, ``settle``, ``wait_for_mail``), as it would have been raised by
the call itself.

``settle`` ends a drain: it waits for the moves, drops a batch fetched ahead, ends the thread
(so that nothing of it is running when the daemon forks a process or waits for mail) and raises
what failed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from maildesk.ingest.source import MailSource, SourceMessage, SourceWrapper

_Work = tuple[Callable[[], Any], "Future[Any]"] | None  # None: the thread ends


class ReadAhead(SourceWrapper):
    """``source`` read a batch ahead and moved behind, in a thread of its own (module docstring)."""

    def __init__(self, source: MailSource) -> None:
        super().__init__(source)
        self._work: queue.SimpleQueue[_Work] | None = None
        self._thread: threading.Thread | None = None
        self._ahead: Future[list[SourceMessage]] | None = None
        self._ready: list[SourceMessage] = []
        self._moves: list[Future[None]] = []

    # --- MailSource ------------------------------------------------------------------------

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        self._raise_failed_moves()
        if not self._ready:
            ahead, self._ahead = self._ahead, None
            if ahead is None:  # the pass's first batch: nothing was asked for ahead of it
                ahead = self._submit(lambda: self.source.fetch_batch(limit, max_bytes))
            self._ready = ahead.result()  # a failed fetch raises here, as the call itself would have
        batch, self._ready = self._ready[:limit], self._ready[limit:]
        # The next batch, fetched while this one is stored, in what this one leaves of ``max_bytes``: the two
        # are in memory together. An empty batch ends the drain; one that fills the bytes is read alone.
        room = None if max_bytes is None else max_bytes - sum(len(m.raw) for m in batch)
        if batch and not self._ready and (room is None or room > 0):
            self._ahead = self._submit(lambda: self.source.fetch_batch(limit, room))
        return batch

    def upcoming(self, limit: int) -> list[SourceMessage]:
        """What the next ``fetch_batch(limit)`` hands out, if it has been read already; else nothing (no wait)."""
        if self._ready:
            return self._ready[:limit]
        ahead = self._ahead
        if ahead is None or not ahead.done() or ahead.exception() is not None:
            return []
        return ahead.result()[:limit]

    def mark_done(self, source_ids: Sequence[str]) -> None:
        ids = list(source_ids)
        self._moves.append(self._submit(lambda: self.source.mark_done(ids)))

    def quarantine(self, source_id: str, reason: str) -> None:
        self._moves.append(self._submit(lambda: self.source.quarantine(source_id, reason)))

    def wait_for_mail(self, timeout: float) -> None:
        self.settle()
        self.source.wait_for_mail(timeout)  # in the caller's thread: a stop may cut the wait short there

    def close(self) -> None:
        self.settle(raising=False)
        self.source.close()

    # --- the thread ------------------------------------------------------------------------

    def settle(self, *, timeout: float | None = None, raising: bool = True) -> None:
        """End the drain: the moves done, a batch read ahead dropped, the thread ended; the first failure of a
        move raised. With ``timeout`` (the daemon is stopping) wait no longer than that: what still runs then
        ends with the process, and a stored mail not moved yet is moved by the next pass."""
        work, thread, moves = self._work, self._thread, self._moves
        self._work, self._thread, self._ahead, self._ready, self._moves = None, None, None, [], []
        if work is None or thread is None:
            return
        work.put(None)
        thread.join(timeout)
        if raising and not thread.is_alive():
            for move in moves:
                move.result()

    def _submit(self, call: Callable[[], Any]) -> Future[Any]:
        if self._work is None:
            work: queue.SimpleQueue[_Work] = queue.SimpleQueue()
            # a daemon thread: a process ending with a read stuck on a silent server does not wait for it
            thread = threading.Thread(target=_serve, args=(work,), name="maildesk-read-ahead", daemon=True)
            try:
                thread.start()
            except BaseException:
                # a stop's Interrupted, raised by the signal handler while the thread was starting: kept out of
                # ``settle``, which could not join a thread not yet started; if it did start, it ends
                work.put(None)
                raise
            self._work, self._thread = work, thread
        done: Future[Any] = Future()
        self._work.put((call, done))
        return done

    def _raise_failed_moves(self) -> None:
        """The first move that failed, raised; the moves done are forgotten."""
        moves, self._moves = self._moves, []
        failed = None
        for move in moves:
            if not move.done():
                self._moves.append(move)
            elif failed is None and move.exception() is not None:
                failed = move
        if failed is not None:
            failed.result()


def _serve(work: queue.SimpleQueue[_Work]) -> None:
    while (item := work.get()) is not None:
        call, done = item
        if not done.set_running_or_notify_cancel():
            continue
        try:
            done.set_result(call())
        except BaseException as exc:  # handed to the caller whatever it is (a stop, a lost connection)
            done.set_exception(exc)

"""Delivering the outbox: claim due rows a small group at a time, send them over several SMTP
connections at once, record the outcomes a group at a time.

Exactly once. Each run of the sender (a flusher) has its own identity and claims rows for
itself under a lease it renews while it sends (``maildesk.outbound.claims``): a row held by a
live flusher is never claimed by another, whether that is the same daemon's other flush or
another daemon on the database. A flusher that dies (SIGKILL, power cut) stops renewing; when
its lease (``smtp.lease_seconds``) ends another flusher sends its rows, with the same
Message-ID. A flusher sends a row only while its last renewal leaves more than half a lease
to run, so one cut off from the database stops sending well before anyone else may start.
The lease is measured by each flusher's clock: hosts sharing a database must agree on the time
to within a fraction of the lease.

The one window for a second copy. Results are written one group at a time, in one
transaction (not one commit per mail): with the claim of the next group, or on their own once
a group's worth has gathered while claimed rows are still waiting to be sent. A mail
the SMTP server accepted whose result was not yet written when its flusher died is sent once
more after the lease, with the same Message-ID: at most one group (``GROUP`` mails) plus one
mail per connection.

Stopping. A flush given a ``stop`` event (the daemon's SIGTERM) or a ``time_limit`` claims
nothing more once it is set or over, lets the mails being sent finish for STOP_GRACE seconds,
then cancels them (a slow or silent server cannot hold the daemon). A mail cancelled in the
middle of its SMTP dialogue stays claimed until its lease ends and then goes out again with the
same Message-ID; the mails claimed but not started are given back at once.

Outcomes. Temporary failures back off exponentially until ``smtp.max_attempts``; permanent
ones are marked failed with the server's reason at once; a partial refusal counts as sent,
with the refused recipients noted. Per-mail failure is handled here and only here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from maildesk.config import SmtpConfig
from maildesk.outbound import claims
from maildesk.outbound.claims import Claimed, Result
from maildesk.outbound.transport import PermanentFailure, TemporaryFailure, Transport
from maildesk.store.db import Store

log = logging.getLogger(__name__)

GROUP = 25  # rows claimed, and results written, per transaction
STOP_GRACE = 2.0  # seconds the mails being sent get to finish once a flush is told to stop
STOP_POLL = 0.1  # how often a flush looks at its stop event

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class FlushResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __add__(self, other: FlushResult) -> FlushResult:
        return FlushResult(self.sent + other.sent, self.retrying + other.retrying, self.failed + other.failed)

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"


def _backoff(smtp: SmtpConfig, attempts: int) -> timedelta:
    seconds = min(smtp.retry_base_seconds * 2 ** max(attempts - 1, 0), smtp.retry_max_seconds)
    return timedelta(seconds=seconds)


class _Flush:
    """One flusher: ``connections`` workers take claimed rows from a shared queue and send them;
    whichever worker finds the queue empty claims the next group while the others keep sending."""

    def __init__(
        self, store: Store, transport_factory: Callable[[], Transport], smtp: SmtpConfig,
        clock: Callable[[], datetime], *, tz: tzinfo, group: int, me: str,
        stop: threading.Event | None = None, time_limit: float | None = None,
    ) -> None:
        self.store, self.smtp, self.clock, self.tz, self.group, self.me = store, smtp, clock, tz, group, me
        self.new_transport = transport_factory
        # file and console transports write one mail at a time
        self.connections = smtp.connections if smtp.transport == "smtp" else 1
        self.lease = timedelta(seconds=smtp.lease_seconds)
        self.result = FlushResult()
        self._queue: deque[Claimed] = deque()  # claimed, not yet started
        self._done: list[Result] = []  # sent or failed, not yet written
        self._unsent: list[int] = []  # claimed but left alone: given back at the end
        self._exhausted = False  # no more due rows (or no more claiming)
        self._held_until: datetime | None = None  # the earliest lease end of the rows held
        self._db_lock = asyncio.Lock()
        self._claim_lock = asyncio.Lock()
        self._transports: list[Transport] = []
        self._stop_event, self._time_limit = stop, time_limit
        self._stopped = False  # told to stop: claim and start nothing more

    async def _db(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run one transaction off the event loop (SQLite may wait for another writer's lock),
        one at a time for this flusher."""
        async with self._db_lock:
            return await asyncio.to_thread(fn, *args, **kwargs)

    async def run(self) -> FlushResult:
        stop = asyncio.Event()
        renewer = asyncio.create_task(self._renew_until(stop))
        workers = [asyncio.create_task(self._worker()) for _ in range(self.connections)]
        watcher = None
        if self._stop_event is not None and self._stop_event.is_set():
            self._stopped = True  # asked to stop before it began: send nothing
        if self._stop_event is not None or self._time_limit is not None:
            watcher = asyncio.create_task(self._watch(workers))
        try:
            try:
                await asyncio.gather(*workers)
            except BaseException as exc:
                for w in workers:  # a mail cancelled mid-dialogue stays claimed until its lease ends
                    w.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                task = asyncio.current_task()
                ours = isinstance(exc, asyncio.CancelledError) and self._stopped
                if not ours or (task is not None and task.cancelling()):
                    raise
            finally:
                stop.set()
                if watcher is not None:
                    watcher.cancel()
                await renewer
                await self._record()
        finally:
            self._unsent.extend(row.id for row in self._queue)
            self._queue.clear()
            try:
                await self._db(claims.release, self.store, self.me, self._unsent)
            except SQLAlchemyError as exc:  # they become free when the lease ends
                log.warning("outbox: could not give back %d unsent mails: %s", len(self._unsent), exc)
            await asyncio.gather(*(t.close() for t in self._transports), return_exceptions=True)
        return self.result

    async def _worker(self) -> None:
        transport: Transport | None = None
        while (row := await self._next()) is not None:
            if not self._lease_holds():
                self._give_up(row)
                continue
            if transport is None:  # a worker that never gets a row never connects
                # off the loop: making an SMTP transport looks up this host's name, which may be slow
                transport = await asyncio.to_thread(self.new_transport)
                self._transports.append(transport)
            result = await self._send(transport, row)
            # appended only now: ``self._done`` may have been handed to _record during the send
            self._done.append(result)
            if len(self._done) >= self.group and self._queue:
                # written now only while rows are left to send: with none left, this worker's next row is
                # claimed at once, in the same transaction (two transactions a group were twice the waits for
                # SQLite's lock, here and in intake, which ends its transaction early to let this one in)
                await self._record()

    async def _watch(self, workers: list[asyncio.Task[None]]) -> None:
        """Stop claiming when told to or when the time is up; cancel what is still sending after STOP_GRACE."""
        loop = asyncio.get_running_loop()
        end = None if self._time_limit is None else loop.time() + self._time_limit
        while not ((self._stop_event is not None and self._stop_event.is_set())
                   or (end is not None and loop.time() >= end)):
            await asyncio.sleep(STOP_POLL)
        self._stopped = self._exhausted = True
        grace = loop.time() + STOP_GRACE
        while any(not w.done() for w in workers) and loop.time() < grace:
            await asyncio.sleep(STOP_POLL)
        if any(not w.done() for w in workers):
            log.warning("outbox: stopping; %d mail(s) still being sent are cut off and go out again later",
                        sum(not w.done() for w in workers))
        for w in workers:
            w.cancel()

    async def _next(self) -> Claimed | None:
        async with self._claim_lock:
            if self._stopped:
                return None
            if not self._queue and not self._exhausted:
                now = self.clock()
                rows = await self._record(claim_at=now)
                self._exhausted = self._exhausted or len(rows) < self.group
                if rows and self._held_until is None:
                    # rows held before this claim end their lease no later than these
                    self._held_until = now + self.lease
                self._queue.extend(rows)
            if self._stopped:  # told to stop while claiming: the rows are given back at the end
                return None
            return self._queue.popleft() if self._queue else None

    def _lease_holds(self) -> bool:
        """True while the lease, as last written, has more than half of it to run."""
        return self._held_until is not None and self.clock() + self.lease / 2 < self._held_until

    def _give_up(self, row: Claimed) -> None:
        if not self._unsent:  # said once per flush
            ends = (self._held_until or self.clock()).astimezone(self.tz).isoformat()
            log.warning("outbox: could not renew the claim on the mails being sent (it ends at %s); leaving "
                        "the rest to the next flush", ends)
        self._exhausted = True
        self._unsent.append(row.id)

    async def _renew_until(self, stop: asyncio.Event) -> None:
        interval = self.lease.total_seconds() / 4
        while True:
            try:
                await asyncio.wait_for(stop.wait(), interval)
                return
            except TimeoutError:
                pass
            until = self.clock() + self.lease
            try:
                await self._db(claims.renew, self.store, self.me, until)
            except SQLAlchemyError as exc:
                log.warning("outbox: could not renew the lease of the mails being sent: %s", exc)
                continue
            self._held_until = until

    async def _record(self, *, claim_at: datetime | None = None) -> list[Claimed]:
        """Write the results so far; given ``claim_at``, claim the next group in the same transaction (one
        wait for SQLite's lock instead of two) and return it."""
        results, self._done = self._done, []
        if not results and claim_at is None:
            return []
        rows: list[Claimed] = []
        try:
            if claim_at is None:
                written = await self._db(claims.record, self.store, self.me, results)
            else:
                written, rows = await self._db(claims.record_and_claim, self.store, self.me, results, claim_at,
                                               self.lease, self.group)
        except BaseException:
            self._done[:0] = results  # tried again at the end of the flush
            raise
        for r in results:
            if r.row_id not in written:
                log.warning("outbox %d: another sender took this mail over after this one's lease ended; "
                            "its result here (%s) is not recorded", r.row_id, r.values.get("status", "retry"))
        return rows

    async def _send(self, transport: Transport, row: Claimed) -> Result:
        attempts = row.attempts + 1
        try:
            sent = await transport.send(row.raw, row.sender, row.to_addrs)
        except TemporaryFailure as exc:
            if attempts >= self.smtp.max_attempts:
                log.error("outbox %d (%s to %s) failed after %d attempts: %s", row.id, row.kind,
                          ", ".join(row.to_addrs), attempts, exc)
                self.result.failed += 1
                return Result(row.id, {"status": "failed", "attempts": attempts, "last_error": str(exc)})
            retry_at = self.clock() + _backoff(self.smtp, attempts)
            log.warning("outbox %d: temporary failure, retry at %s: %s", row.id,
                        retry_at.astimezone(self.tz).isoformat(), exc)
            self.result.retrying += 1
            return Result(row.id, {"attempts": attempts, "next_attempt_at": retry_at, "last_error": str(exc)})
        except PermanentFailure as exc:
            log.error("outbox %d (%s to %s) refused: %s", row.id, row.kind, ", ".join(row.to_addrs), exc)
            self.result.failed += 1
            return Result(row.id, {"status": "failed", "attempts": attempts, "last_error": str(exc)})
        note = "; ".join(f"{addr}: {reply}" for addr, reply in sent.refused.items())
        if note:
            log.warning("outbox %d: some recipients refused: %s", row.id, note)
        self.result.sent += 1
        return Result(row.id, {"status": "sent", "attempts": attempts, "sent_at": self.clock(), "last_error": note})


async def flush_outbox(
    store: Store, transport_factory: Callable[[], Transport], smtp: SmtpConfig, clock: Callable[[], datetime],
    *, tz: tzinfo = UTC, group: int = GROUP, stop: threading.Event | None = None, time_limit: float | None = None,
) -> FlushResult:
    """Send every due outbox row once over ``smtp.connections`` transports made by ``transport_factory``;
    return how many went, wait for a retry, or failed. ``tz`` is the zone of the times logged;
    ``stop`` and ``time_limit`` end the flush early (module docstring, "Stopping")."""
    return await _Flush(store, transport_factory, smtp, clock, tz=tz, group=group, me=claims.flusher_id(),
                        stop=stop, time_limit=time_limit).run()


def flush_outbox_sync(
    store: Store, transport_factory: Callable[[], Transport], smtp: SmtpConfig, clock: Callable[[], datetime],
    *, tz: tzinfo = UTC, group: int = GROUP, stop: threading.Event | None = None, time_limit: float | None = None,
) -> FlushResult:
    """``flush_outbox`` for synchronous callers (the daemon loop, the scheduler and the CLI)."""
    return asyncio.run(flush_outbox(store, transport_factory, smtp, clock, tz=tz, group=group, stop=stop,
                                    time_limit=time_limit))

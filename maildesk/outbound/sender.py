"""Delivering the outbox: claim due rows, send their stored bytes, record the outcome.

Rows are claimed for a few minutes before sending, so two daemons on one
database never send the same row; a daemon that dies mid-send leaves its claim
to expire and the row is retried with the same Message-ID. Temporary failures
back off exponentially until ``max_attempts``; permanent ones are marked failed
with the server's reason at once. Per-mail failure is handled here and only here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from maildesk.config import SmtpConfig
from maildesk.outbound.transport import PermanentFailure, TemporaryFailure, Transport
from maildesk.store.db import Store
from maildesk.store.models import OutboxMail

log = logging.getLogger(__name__)

CLAIM = timedelta(minutes=5)


@dataclass
class FlushResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed"


def _claim(store: Store, now: datetime, limit: int) -> list[OutboxMail]:
    with store.session() as session:
        stmt = (
            select(OutboxMail)
            .where(OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now,
                   or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now))
            .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
            .limit(limit)
        )
        if store.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(session.scalars(stmt))
        if rows:
            session.execute(update(OutboxMail).where(OutboxMail.id.in_([r.id for r in rows]))
                            .values(claimed_until=now + CLAIM))
        return rows


def _backoff(smtp: SmtpConfig, attempts: int) -> timedelta:
    seconds = min(smtp.retry_base_seconds * 2 ** max(attempts - 1, 0), smtp.retry_max_seconds)
    return timedelta(seconds=seconds)


def _record(store: Store, row_id: int, **values: object) -> None:
    with store.session() as session:
        session.execute(update(OutboxMail).where(OutboxMail.id == row_id).values(claimed_until=None, **values))


async def flush_outbox(
    store: Store, transport: Transport, smtp: SmtpConfig, clock: Callable[[], datetime], *, limit: int = 500,
) -> FlushResult:
    """Send every due outbox row once; return how many went, wait for a retry, or failed."""
    result = FlushResult()
    try:
        while rows := _claim(store, clock(), limit):
            for row in rows:
                await _send_one(store, transport, smtp, clock, row, result)
            if len(rows) < limit:
                break
    finally:
        await transport.close()
    return result


async def _send_one(
    store: Store, transport: Transport, smtp: SmtpConfig, clock: Callable[[], datetime], row: OutboxMail,
    result: FlushResult,
) -> None:
    attempts = row.attempts + 1
    try:
        sent = await transport.send(row.raw, row.sender, row.to_addrs)
    except TemporaryFailure as exc:
        if attempts >= smtp.max_attempts:
            log.error("outbox %d (%s to %s) failed after %d attempts: %s", row.id, row.kind,
                      ", ".join(row.to_addrs), attempts, exc)
            _record(store, row.id, status="failed", attempts=attempts, last_error=str(exc))
            result.failed += 1
            return
        retry_at = clock() + _backoff(smtp, attempts)
        log.warning("outbox %d: temporary failure, retry at %s: %s", row.id, retry_at.isoformat(), exc)
        _record(store, row.id, attempts=attempts, next_attempt_at=retry_at, last_error=str(exc))
        result.retrying += 1
        return
    except PermanentFailure as exc:
        log.error("outbox %d (%s to %s) refused: %s", row.id, row.kind, ", ".join(row.to_addrs), exc)
        _record(store, row.id, status="failed", attempts=attempts, last_error=str(exc))
        result.failed += 1
        return
    note = "; ".join(f"{addr}: {reply}" for addr, reply in sent.refused.items())
    if note:
        log.warning("outbox %d: some recipients refused: %s", row.id, note)
    _record(store, row.id, status="sent", attempts=attempts, sent_at=clock(), last_error=note)
    result.sent += 1


def flush_outbox_sync(
    store: Store, transport_factory: Callable[[], Transport], smtp: SmtpConfig, clock: Callable[[], datetime],
) -> FlushResult:
    """``flush_outbox`` for synchronous callers (the daemon loop and the CLI)."""
    return asyncio.run(flush_outbox(store, transport_factory(), smtp, clock))

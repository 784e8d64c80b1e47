"""Who may send an outbox row: claims tied to one flusher's identity, under a lease it renews.

A flusher (one run of the outbox sender) has a unique id, ``host:pid:random``. It claims a
small group of due rows by writing its id and a lease end (``claimed_until``) on them in one
transaction; a row is free to claim only while it has no claim or its lease has run out.
While it sends, the flusher renews the lease of every row it still holds, so a row held by a
live flusher never becomes free; a flusher that dies stops renewing and its rows become free
when the lease ends. Results are written only on rows whose ``claimed_by`` is still the
writer's id, so a flusher that lost its rows cannot overwrite another's result.

Every function here is one short transaction; the sender runs them off its event loop. The
results of the mails just sent ride in the transaction that claims the next group
(``record_and_claim``): on SQLite every transaction waits for the one write lock, which intake
holds for a whole batch, so one wait instead of two.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from maildesk.store.db import Store
from maildesk.store.models import OutboxMail

_T = OutboxMail.metadata.tables[OutboxMail.__tablename__]


def flusher_id() -> str:
    """A new flusher's identity: the host and process for the operator, a random part for uniqueness."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"[:100]


@dataclass(frozen=True)
class Claimed:
    """A row this flusher holds: what sending it needs."""

    id: int
    kind: str
    sender: str
    to_addrs: tuple[str, ...]
    raw: bytes
    attempts: int


@dataclass(frozen=True)
class Result:
    """What to write on a sent, retried or failed row: column values (claim cleared by ``record``)."""

    row_id: int
    values: Mapping[str, Any] = field(default_factory=dict)


def _free(now: Any) -> Any:
    return and_(_T.c.status == "pending", _T.c.next_attempt_at <= now,
                or_(_T.c.claimed_until.is_(None), _T.c.claimed_until < now))


# Built once: building and caching a statement cost more than SQLite takes to run it, and the sender runs
# these holding SQLite's one write lock, which intake then waits for.
_DUE = (select(_T.c.id).where(_free(bindparam("now"))).order_by(_T.c.next_attempt_at, _T.c.id)
        .limit(bindparam("limit")))
# PostgreSQL: a second flusher skips the rows this one is claiming instead of waiting for them
_DUE_SKIPPING = _DUE.with_for_update(skip_locked=True)
# the conditions again, should a row have changed since the select (SQLite: it cannot)
_CLAIM = (update(_T).where(_T.c.id.in_(bindparam("ids", expanding=True)), _free(bindparam("now")))
          .values(claimed_by=bindparam("me"), claimed_until=bindparam("until"))
          .returning(_T.c.id, _T.c.kind, _T.c.sender, _T.c.to_addrs, _T.c.raw, _T.c.attempts, _T.c.next_attempt_at))
_MINE = select(_T.c.id).where(_T.c.id.in_(bindparam("ids", expanding=True)), _T.c.claimed_by == bindparam("me"))
# PostgreSQL: no one takes them between this check and the writes
_MINE_LOCKED = _MINE.with_for_update()
# the UPDATE writing one shape of result (the columns it sets), made the first time that shape is written
_WRITES: dict[tuple[str, ...], Any] = {}


def _write(keys: tuple[str, ...]) -> Any:
    stmt = _WRITES.get(keys)
    if stmt is None:
        stmt = _WRITES[keys] = (
            update(_T).where(_T.c.id == bindparam("b_id"), _T.c.claimed_by == bindparam("b_me"))
            .values(claimed_by=None, claimed_until=None, **{k: bindparam(f"b_{k}") for k in keys}))
    return stmt


def claim(store: Store, me: str, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Claim up to ``limit`` due, free rows for ``me`` until ``now + lease``; oldest due first."""
    with store.session() as session:
        return _claim(session, store.dialect, me, now, lease, limit)


def record_and_claim(store: Store, me: str, results: Sequence[Result], now: datetime, lease: timedelta,
                     limit: int) -> tuple[set[int], list[Claimed]]:
    """``record(results)`` and ``claim(...)`` in one transaction: the ids written, and the rows claimed."""
    with store.session() as session:
        return _record(session, store.dialect, me, results), _claim(session, store.dialect, me, now, lease, limit)


def _claim(session: Session, dialect: str, me: str, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    # Two statements, not UPDATE ... WHERE id IN (that select): PostgreSQL may run such a
    # subquery more than once, each run skipping the rows the last one locked, and so claim
    # far more than ``limit`` rows.
    conn = session.connection()
    due = _DUE_SKIPPING if dialect == "postgresql" else _DUE
    ids = list(conn.scalars(due, {"now": now, "limit": limit}))
    if not ids:
        return []
    found = conn.execute(_CLAIM, {"ids": ids, "now": now, "me": me, "until": now + lease}).all()
    rows = sorted(found, key=lambda r: (r.next_attempt_at, r.id))
    return [Claimed(r.id, r.kind, r.sender, tuple(r.to_addrs), r.raw, r.attempts) for r in rows]


def renew(store: Store, me: str, until: datetime) -> None:
    """Extend the lease of every row ``me`` still holds to ``until``."""
    with store.session() as session:
        session.execute(update(_T).where(_T.c.claimed_by == me, _T.c.status == "pending")
                        .values(claimed_until=until))


def record(store: Store, me: str, results: Sequence[Result]) -> set[int]:
    """Write ``results`` and clear their claims in one transaction, on the rows ``me`` still holds;
    returns the ids written (a row missing from it was taken over after ``me``'s lease ran out)."""
    if not results:
        return set()
    with store.session() as session:
        return _record(session, store.dialect, me, results)


def _record(session: Session, dialect: str, me: str, results: Sequence[Result]) -> set[int]:
    if not results:
        return set()
    conn = session.connection()
    mine = _MINE_LOCKED if dialect == "postgresql" else _MINE
    held = set(conn.scalars(mine, {"ids": [r.row_id for r in results], "me": me}))
    # one executemany per shape of result (sent, retry, failed): a statement per group, not per mail
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in results:
        if r.row_id in held:
            shapes.setdefault(tuple(sorted(r.values)), []).append(
                {"b_id": r.row_id, "b_me": me, **{f"b_{k}": v for k, v in r.values.items()}})
    for keys, params in shapes.items():
        conn.execute(_write(keys), params)
    return held


def release(store: Store, me: str, ids: Iterable[int]) -> None:
    """Give back rows ``me`` claimed but did not start sending, so the next flush need not wait out the lease."""
    id_list = list(ids)
    if not id_list:
        return
    with store.session() as session:
        session.execute(update(_T).where(_T.c.id.in_(id_list), _T.c.claimed_by == me)
                        .values(claimed_by=None, claimed_until=None))

"""The sweep's machinery: find due tickets with indexed queries, work them in short transactions.

A phase names the tickets it must look at with SQL conditions on the deadline columns
(``next_escalation_at <= now`` …), so a sweep over 100,000 open tickets reads only the
few that are due. The ids are read first, then worked in chunks, each chunk in its own
transaction: SQLite's single writer lock is never held for long, and on PostgreSQL the
rows are locked with SKIP LOCKED so two daemons work disjoint tickets. Each ticket gets a
savepoint: one that fails is logged and rolled back alone, and stays due for the next sweep.
The outbox's unique ``dedup_key`` is the last word on "sent once" either way.

A phase that mails most of the tickets it works (the progress mails: at 17:00 one a P3/P4
ticket) asks for ``mails_together``: the chunk is worked in one savepoint and its mails are
written together at its end (``maildesk.sweep.chunk_mail``). Should any ticket fail, that
savepoint is rolled back and the chunk is worked again one ticket at a time as above, so the
failing ticket alone is logged and left due, and the others' mails are queued.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from maildesk.desk.context import Context
from maildesk.desk.mailing import reporter_mail, staff_mail, to_reporter, to_staff
from maildesk.desk.setup import Desk
from maildesk.errors import MaildeskError
from maildesk.outbound.outbox import QueuedMail
from maildesk.sla import BusinessHours
from maildesk.store.db import Store
from maildesk.store.models import OutboxMail, Ticket
from maildesk.sweep.chunk_mail import ChunkMail

log = logging.getLogger(__name__)

CHUNK = 200  # tickets per transaction


class SweepError(MaildeskError):
    """The sweep was asked to run at a moment it cannot use (a naive datetime)."""


@dataclass(frozen=True)
class Queued:
    """One mail a sweep put in the outbox."""

    ticket: str | None
    kind: str
    to: tuple[str, ...]
    level: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"ticket": self.ticket, "kind": self.kind, "to": list(self.to), "level": self.level}


@dataclass
class Sweep:
    """One sweep at one moment: the desk, its store, ``now``, and the mails queued so far."""

    desk: Desk
    store: Store
    now: datetime
    queued: list[Queued] = field(default_factory=list)
    # the daemon's stop request: the sweep ends after the chunk in hand, the rest stays due
    stop: threading.Event | None = None

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise SweepError(f"the sweep needs an aware datetime, got {self.now.isoformat()}")

    @cached_property
    def calendar(self) -> BusinessHours:
        """The business calendar of the day of ``now``: a replay of any day uses that day's holidays."""
        return self.desk.calendar_on(self.local_now.date())

    @cached_property
    def in_hours(self) -> bool:
        """Whether the team is at work now: most sweep mail waits for business time."""
        return self.calendar.is_business_time(self.now)

    @cached_property
    def round_the_clock(self) -> ColumnElement[bool] | None:
        """Outside business hours, the tickets whose clock still runs: the 7×24 priorities' (a requirement keeps
        to working days); None when no priority is on the 7×24 clock."""
        codes = self.desk.round_the_clock_priorities
        if not codes:
            return None
        return and_(Ticket.priority.in_(codes), Ticket.type != self.desk.settings.requirements.type)

    @cached_property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.desk.settings.tz)


@dataclass
class Batch:
    """One chunk's transaction: the desk's context for it, facts the phase prepared, mails queued in it."""

    sweep: Sweep
    ctx: Context
    facts: dict[str, Any] = field(default_factory=dict)
    pending: list[Queued] = field(default_factory=list)
    # while the chunk's mails are written together: they wait here, not in ``pending``
    together: ChunkMail[Queued] | None = None

    @classmethod
    def of(cls, sweep: Sweep, session: Session) -> Batch:
        return cls(sweep, Context(sweep.desk, session, sweep.now))

    @property
    def session(self) -> Session:
        return self.ctx.session

    @property
    def now(self) -> datetime:
        return self.sweep.now

    def keep(self, row: QueuedMail | None, ticket: Ticket | None, kind: str, level: int | None = None) -> bool:
        """Note a queued mail for the sweep's report; False when ``row`` is None (queued before)."""
        if row is None:
            return False
        self.pending.append(Queued(ticket.number if ticket else None, kind, tuple(row.to_addrs), level))
        return True

    def to_staff(self, ticket: Ticket, kind: str, to: Sequence[str], context: Mapping[str, Any], *,
                 dedup_key: str, level: int | None = None) -> bool:
        """A mail to staff about ``ticket`` (masked for readers outside its conversation), in the desk's
        language, answered at the staff reply address. With the chunk's mails written together, True means
        "queued unless queued before": the chunk's end settles it."""
        if self.together is not None:
            mail = staff_mail(self.ctx, ticket, kind, list(to), context, thread=self.together.thread(ticket),
                              dedup_key=dedup_key)
            return self.together.add(mail, ticket, Queued(ticket.number, kind, (*mail.to, *mail.cc), level))
        return self.keep(to_staff(self.ctx, ticket, kind, list(to), context, dedup_key=dedup_key), ticket, kind,
                         level)

    def to_reporter(self, ticket: Ticket, kind: str, context: Mapping[str, Any], *, dedup_key: str,
                    with_watchers: bool = True) -> bool:
        """A mail to the reporter (and watchers), threaded on what they saw, in the ticket's language (True:
        as for ``to_staff``)."""
        if self.together is not None:
            mail = reporter_mail(self.ctx, ticket, kind, context, thread=self.together.reporter_thread(ticket),
                                 dedup_key=dedup_key, with_watchers=with_watchers)
            return self.together.add(mail, ticket, Queued(ticket.number, kind, (*mail.to, *mail.cc)))
        row = to_reporter(self.ctx, ticket, kind, context, dedup_key=dedup_key, with_watchers=with_watchers)
        return self.keep(row, ticket, kind)


Work = Callable[[Batch, Ticket], None]
Prepare = Callable[[Batch, list[Ticket]], None]


def for_each_due(sweep: Sweep, wheres: Sequence[ColumnElement[bool]], work: Work, *,
                 prepare: Prepare | None = None, mails_together: bool = False) -> None:
    """Run ``work`` on every ticket matching any of ``wheres`` (each an indexed condition); ``mails_together``:
    write each chunk's mails together (the work changes nothing but its tickets and mails them through the
    batch: nothing it does reads back what it wrote)."""
    store = sweep.store
    ids: set[int] = set()
    with store.session() as session:
        for where in wheres:  # one query per condition: an OR would defeat the indexes
            ids.update(session.scalars(select(Ticket.id).where(where)))
    if not ids:
        return
    condition = or_(*wheres) if len(wheres) > 1 else wheres[0]
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        if sweep.stopping:
            log.info("sla sweep: stopping; %d ticket(s) left for the next sweep", len(ordered) - start)
            return
        chunk = ordered[start:start + CHUNK]
        with store.session() as session:
            # re-check the condition: another daemon may have worked these tickets meanwhile
            stmt = select(Ticket).where(Ticket.id.in_(chunk), condition).order_by(Ticket.id)
            if store.dialect == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            tickets = list(session.scalars(stmt))
            batch = Batch.of(sweep, session)
            if prepare is not None and tickets:
                prepare(batch, tickets)
            done = _together(batch, tickets, work) if mails_together and tickets else None
            if done is None:
                done = _one_by_one(batch, tickets, work)
        sweep.queued.extend(done)


def _one_by_one(batch: Batch, tickets: Sequence[Ticket], work: Work) -> list[Queued]:
    """Each ticket in a savepoint of its own: one that fails is logged, rolled back alone and stays due."""
    done: list[Queued] = []
    for ticket in tickets:
        try:
            with batch.session.begin_nested():
                work(batch, ticket)
        except Exception:  # one ticket's failure must not stop the sweep; it stays due
            log.exception("sla sweep: %s failed on %s", getattr(work, "__name__", "work"), ticket.number)
            batch.pending.clear()
        else:
            done.extend(batch.pending)
            batch.pending.clear()
    return done


def _together(batch: Batch, tickets: Sequence[Ticket], work: Work) -> list[Queued] | None:
    """The chunk in one savepoint, its mails written together at the end; None, with the savepoint rolled back,
    when anything failed: the caller then works the chunk one ticket at a time, which finds and logs the
    failing ticket (not logged here, so a failure is logged once, as before) and queues the others' mails."""
    session = batch.session
    try:
        with session.begin_nested():
            batch.together = ChunkMail.read(session, batch.ctx.settings, batch.now, tickets)
            for ticket in tickets:
                work(batch, ticket)
            return batch.together.write(session)
    except Exception:  # worked again one by one: see above
        return None
    finally:
        batch.together = None
        batch.pending.clear()


def existing_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are already in the outbox (one query, so a phase can skip rendering)."""
    found: set[str] = set()
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 500):
        found.update(k for k in session.scalars(
            select(OutboxMail.dedup_key).where(OutboxMail.dedup_key.in_(unique[start:start + 500]))) if k)
    return found

"""Helpers for the SLA sweep tests (no tests here): a desk, tickets, people acting, the outbox.

People act the way the conversation code makes them act (a stored message, the status
change, ``refresh_deadlines``), written out here so these tests pin the sweep and not the
reply parser.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from maildesk.app import App
from maildesk.sla_state import refresh_deadlines
from maildesk.statuses import Status
from maildesk.store.models import Message, OutboxMail, Ticket
from maildesk.sweep import Queued, run_sweep
from maildesk.tickets import NewTicket, change_status, create_ticket, get_ticket, set_field
from tests.desk import desk_settings, make_app

TZ = ZoneInfo("Asia/Shanghai")
REPORTER = "zhang.wei@example.com"
ENGINEER = "liu.yang@example.com"  # hardware engineer in the sample directory
LEAD = "wu.qiang@example.com"
MANAGER = "zheng.li@example.com"
DIRECTOR = "huang.gang@example.com"


def at(day: date | str, hh: int, mm: int = 0) -> datetime:
    """A moment in Shanghai."""
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(d, time(hh, mm), tzinfo=TZ)


def make_desk(tmp_path: Path, db_url: str, **overrides: Any) -> App:
    """An App on ``db_url`` with the sample directory (engineers, a lead, a manager, a director)."""
    app = make_app(tmp_path, desk_settings(db_url, **overrides))
    app.upgrade()
    return app


def desks(tmp_path: Path, db_url: str) -> Iterator[Callable[..., App]]:
    """For a test file's fixture: open Apps on the test's database (a second one is a restarted or a
    second daemon), all closed afterwards."""
    apps: list[App] = []

    def opener(**overrides: Any) -> App:
        apps.append(make_desk(tmp_path, db_url, **overrides))
        return apps[-1]

    yield opener
    for app in apps:
        app.close()


def new_ticket(app: App, now: datetime, priority: str, *, subject: str = "服务器无法访问",
               reporter: str = REPORTER, assignee: str | None = ENGINEER, language: str = "zh") -> str:
    """A ticket as intake makes it: the reporter's first mail stored, deadlines set."""
    with app.store.session() as s:
        t = create_ticket(s, NewTicket(subject=subject, reporter=reporter, priority=priority, type="hardware",
                                       team="hardware", assignee=assignee, reporter_name="张伟", language=language),
                          prefix="TS", tz=app.settings.tz, now=now)
        _message(s, t, "in", reporter, now)
        t.last_public_at = now
        refresh_deadlines(t, app.targets, app.calendar, now)
        return t.number


def _message(session: Any, ticket: Ticket, direction: str, sender: str, now: datetime, kind: str = "normal",
             to: tuple[str, ...] = ()) -> None:
    session.add(Message(ticket_id=ticket.id, direction=direction, kind=kind, message_id=f"{uuid.uuid4().hex}@t",
                        from_addr=sender, to_addrs=list(to), cc_addrs=[], subject=ticket.subject, text="",
                        defects=[], rule_hits=[], created_at=now))


def staff_reply(app: App, number: str, now: datetime, sender: str = ENGINEER,
                status: Status | None = Status.IN_PROGRESS, note: str = "") -> None:
    """An engineer answers in the thread (and may move the ticket on)."""
    with app.store.session() as s:
        t = get_ticket(s, number)
        _message(s, t, "in", sender, now)
        _message(s, t, "out", app.settings.support_address, now, kind="relay", to=(t.reporter,))
        t.last_public_at = now
        t.first_response_at = t.first_response_at or now
        if status is not None:
            change_status(s, t, status, actor=sender, now=now, note=note,
                          pause_meter=app.calendar.business_seconds_between)
        refresh_deadlines(t, app.targets, app.calendar, now)


def reporter_reply(app: App, number: str, now: datetime, resume: bool = True) -> None:
    """The reporter writes back; a ticket waiting on them goes back to work."""
    with app.store.session() as s:
        t = get_ticket(s, number)
        _message(s, t, "in", t.reporter, now)
        t.last_public_at = now
        if resume and t.status == Status.WAITING_USER:
            change_status(s, t, Status.IN_PROGRESS, actor=t.reporter, now=now,
                          pause_meter=app.calendar.business_seconds_between)
        refresh_deadlines(t, app.targets, app.calendar, now)


def set_status(app: App, number: str, now: datetime, status: Status, note: str = "") -> None:
    """A status change by the engineer without a mail (a command, the CLI)."""
    with app.store.session() as s:
        t = get_ticket(s, number)
        change_status(s, t, status, actor=ENGINEER, now=now, note=note,
                      pause_meter=app.calendar.business_seconds_between)
        refresh_deadlines(t, app.targets, app.calendar, now)


def raise_priority(app: App, number: str, now: datetime, priority: str) -> None:
    """A supervisor's review (复核) changes the priority, as `tickets set --priority` does."""
    with app.store.session() as s:
        t = get_ticket(s, number)
        set_field(s, t, "priority", priority, actor=MANAGER, now=now)
        refresh_deadlines(t, app.targets, app.calendar, now)


def ticket(app: App, number: str) -> Ticket:
    with app.store.session() as s:
        return get_ticket(s, number)


@dataclass(frozen=True)
class Sent:
    """One outbox row as the tests look at it."""

    ticket: str | None
    kind: str
    to: tuple[str, ...]
    key: str | None
    at: datetime
    subject: str
    text: str


def outbox(app: App, kind: str | None = None) -> list[Sent]:
    with app.store.session() as s:
        stmt = select(OutboxMail, Ticket.number).outerjoin(Ticket, Ticket.id == OutboxMail.ticket_id) \
            .order_by(OutboxMail.id)
        if kind:
            stmt = stmt.where(OutboxMail.kind == kind)
        return [Sent(n, m.kind, tuple(m.to_addrs), m.dedup_key, m.created_at.astimezone(TZ), m.subject, m.text)
                for m, n in s.execute(stmt)]


def sweep(app: App, now: datetime) -> list[Queued]:
    return run_sweep(app, now).queued


def moments(start: datetime, end: datetime, step: timedelta = timedelta(minutes=15)) -> Iterator[datetime]:
    now = start
    while now <= end:
        yield now
        now += step


def sweep_through(app: App, start: datetime, end: datetime, step: timedelta = timedelta(minutes=15)) -> list[Queued]:
    """Sweep every ``step`` from ``start`` to ``end`` (both included), as the daemon would."""
    out: list[Queued] = []
    for now in moments(start, end, step):
        out.extend(sweep(app, now))
    return out


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)

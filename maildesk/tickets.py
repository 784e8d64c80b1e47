"""Operations on a ticket: create, change status and fields, note; each writes an audit event.

Every function works inside the caller's session and transaction, takes the
acting person and ``now`` explicitly, and never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from maildesk.errors import MaildeskError, NotFoundError, TransitionError
from maildesk.statuses import TRANSITIONS, Status, allowed_moves
from maildesk.store.models import Event, Ticket, TicketLink
from maildesk.store.numbering import next_ticket_number

SYSTEM = "system"


@dataclass(frozen=True)
class NewTicket:
    """What is known about a problem when its first mail (or the operator) reports it."""

    subject: str
    reporter: str
    priority: str
    type: str
    team: str | None = None
    assignee: str | None = None
    reporter_name: str = ""
    reporter_department: str = ""
    reporter_employee_id: str = ""
    reporter_extension: str = ""
    channel: str = "email"
    language: str = "zh"
    tags: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    watchers: tuple[str, ...] = ()
    system: str = ""
    impact: str = ""
    occurred_at: datetime | None = None
    # (action, note) pairs written after "created", e.g. the rules that classified it
    extra_events: tuple[tuple[str, str], ...] = field(default=())


def record(
    session: Session, ticket: Ticket, *, actor: str, action: str, now: datetime,
    old: str | None = None, new: str | None = None, note: str = "",
) -> Event:
    """Append one audit event to the ticket's history."""
    event = Event(**_event_row(ticket, actor, action, now, old=old, new=new, note=note))
    session.add(event)
    ticket.updated_at = now
    return event


def create_ticket(
    session: Session, data: NewTicket, *, prefix: str, tz: ZoneInfo, now: datetime, actor: str = SYSTEM,
) -> Ticket:
    """A new ticket with its number, status new (or assigned when an assignee is given)."""
    number = next_ticket_number(session, prefix, now, tz)
    status = Status.ASSIGNED if data.assignee else Status.NEW
    ticket = Ticket(
        number=number, subject=data.subject, status=status.value, priority=data.priority,
        type=data.type, team=data.team, assignee=data.assignee, reporter=data.reporter.lower(),
        reporter_name=data.reporter_name, reporter_department=data.reporter_department,
        reporter_employee_id=data.reporter_employee_id, reporter_extension=data.reporter_extension,
        channel=data.channel, language=data.language, tags=list(dict.fromkeys(data.tags)),
        flags=list(dict.fromkeys(data.flags)),
        watchers=list(dict.fromkeys(w.lower() for w in data.watchers)), system=data.system,
        impact=data.impact, occurred_at=data.occurred_at, reply_token="",
        created_at=now, updated_at=now, paused_seconds=0.0, escalation_level=0, reopen_count=0,
        message_count=0,
    )
    session.add(ticket)
    session.flush()
    # the first events in one INSERT (an executemany), not one ORM insert with RETURNING each:
    # nothing reads them back as objects, and they keep their order
    events = [_event_row(ticket, actor, "created", now, new=status.value, note=f"{data.type} {data.priority}")]
    if data.assignee:
        events.append(_event_row(ticket, actor, "assignee", now, new=data.assignee))
    events.extend(_event_row(ticket, actor, action, now, note=note) for action, note in data.extra_events)
    session.execute(_INSERT_EVENTS, events)
    return ticket


_INSERT_EVENTS = insert(Event.metadata.tables[Event.__tablename__])


def _event_row(
    ticket: Ticket, actor: str, action: str, now: datetime, *, old: str | None = None, new: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    """The values of one audit event: ``record`` adds them as an object, ``create_ticket`` inserts them."""
    return {"ticket_id": ticket.id, "at": now, "actor": actor, "action": action, "from_value": old,
            "to_value": new, "note": note}


def get_ticket(session: Session, number: str, *, for_update: bool = False) -> Ticket:
    stmt = select(Ticket).where(Ticket.number == number.strip().upper())
    if for_update:
        stmt = stmt.with_for_update()
    ticket = session.scalars(stmt).one_or_none()
    if ticket is None:
        raise NotFoundError(f"no ticket {number}")
    return ticket


PauseMeter = Callable[[datetime, datetime], float]


def _wall_seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def change_status(
    session: Session, ticket: Ticket, target: Status, *, actor: str, now: datetime, note: str = "",
    pause_meter: PauseMeter = _wall_seconds,
) -> bool:
    """Move the ticket to ``target``; False when it is already there. Raises TransitionError.

    ``pause_meter`` measures time spent waiting on the reporter; pass the business
    calendar's ``business_seconds_between`` so a weekend of waiting counts as none.
    """
    current = Status(ticket.status)
    if current == target:
        return False
    if target not in TRANSITIONS[current]:
        raise TransitionError(ticket.number, current.value, target.value, allowed_moves(current))
    _leave(ticket, current, now, pause_meter)
    _enter(ticket, current, target, now)
    ticket.status = target.value
    action = "reopened" if current in (Status.RESOLVED, Status.CLOSED) and target == Status.IN_PROGRESS \
        else "status"
    record(session, ticket, actor=actor, action=action, now=now, old=current.value, new=target.value,
           note=note)
    return True


def _leave(ticket: Ticket, current: Status, now: datetime, pause_meter: PauseMeter) -> None:
    # waiting on the reporter stops the SLA clock; leaving it adds the pause to the total
    if current == Status.WAITING_USER and ticket.paused_at is not None:
        ticket.paused_seconds = (ticket.paused_seconds or 0.0) + pause_meter(ticket.paused_at, now)
        ticket.paused_at = None


def _enter(ticket: Ticket, current: Status, target: Status, now: datetime) -> None:
    if target == Status.WAITING_USER:
        ticket.paused_at = now
    if target in (Status.IN_PROGRESS, Status.WAITING_TEAM, Status.TESTING) and ticket.started_at is None:
        ticket.started_at = now
    if target == Status.RESOLVED:
        ticket.resolved_at = now
    if target == Status.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    if current in (Status.RESOLVED, Status.CLOSED) and target == Status.IN_PROGRESS:
        ticket.reopen_count = (ticket.reopen_count or 0) + 1
        ticket.resolved_at = None
        ticket.closed_at = None


def set_field(
    session: Session, ticket: Ticket, name: str, value: str | None, *, actor: str, now: datetime,
    note: str = "",
) -> bool:
    """Change priority, type, team, assignee or lead; False when unchanged."""
    if name not in ("priority", "type", "team", "assignee", "lead", "subject"):
        raise MaildeskError(f"cannot set {name!r} on a ticket")
    old = getattr(ticket, name)
    if value == old:
        return False
    setattr(ticket, name, value)
    record(session, ticket, actor=actor, action=name, now=now, old=old, new=value, note=note)
    if name == "assignee" and value and ticket.status == Status.NEW:
        change_status(session, ticket, Status.ASSIGNED, actor=actor, now=now)
    return True


def add_note(session: Session, ticket: Ticket, text: str, *, actor: str, now: datetime) -> Event:
    """An internal note: kept in the history, never sent to the reporter."""
    return record(session, ticket, actor=actor, action="note", now=now, note=text)


def add_tags(ticket: Ticket, tags: list[str] | tuple[str, ...], *, field_name: str = "tags") -> bool:
    current: list[str] = list(getattr(ticket, field_name) or [])
    merged = list(dict.fromkeys([*current, *tags]))
    if merged == current:
        return False
    setattr(ticket, field_name, merged)
    return True


def link_tickets(session: Session, a: Ticket, b: Ticket, kind: str, *, actor: str, now: datetime) -> None:
    """Relate two tickets (both directions are recorded so either shows the other)."""
    exists = session.scalar(
        select(TicketLink.id).where(TicketLink.ticket_id == a.id, TicketLink.other_id == b.id,
                                    TicketLink.kind == kind)
    )
    if exists:
        return
    session.add(TicketLink(ticket_id=a.id, other_id=b.id, kind=kind))
    session.add(TicketLink(ticket_id=b.id, other_id=a.id, kind=kind))
    record(session, a, actor=actor, action="link", now=now, new=b.number, note=kind)
    record(session, b, actor=actor, action="link", now=now, new=a.number, note=kind)

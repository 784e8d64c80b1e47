"""Operations on a ticket: create, change status and fields, respond, escalate, note, link.

Each works inside the context's session and transaction, takes the acting person, writes an
audit event and never commits. Closing a ticket after its resolution target opens a review (复盘,
``desk/breach_review``), whatever closed it. Each keeps the ticket's SLA deadlines itself
(``desk/deadlines.py``), measured on the business calendar of ``ctx.now``: no caller
recomputes them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from maildesk.desk.breach_review import review_breach
from maildesk.desk.context import Context
from maildesk.desk.deadlines import first_progress_at, keep_deadlines
from maildesk.errors import MaildeskError, NotFoundError, TransitionError
from maildesk.ingest.form import IntakeForm, parse_occurred
from maildesk.outbound.pending_mail import NEW_TICKET
from maildesk.statuses import TRANSITIONS, Status, allowed_moves
from maildesk.store.as_loaded import bound_values, insert_all_as_loaded, insert_as_loaded, none_pending
from maildesk.store.base import Base
from maildesk.store.models import Event, Message, Ticket, TicketLink
from maildesk.store.numbering import next_ticket_number

SYSTEM = "system"
FIELDS = ("priority", "type", "team", "assignee", "lead", "subject", "system", "impact")


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
    occurred: str = ""
    occurred_at: datetime | None = None
    # (action, note) pairs written after "created", e.g. the rules that classified it
    extra_events: tuple[tuple[str, str], ...] = field(default=())


def keep(ctx: Context, ticket: Ticket) -> None:
    """The ticket's deadlines after a change, on its clock (``Context.clock_of``) as of ``ctx.now``."""
    keep_deadlines(ticket, ctx.desk.targets_for(ticket.type), ctx.clock_of(ticket), ctx.now)


def record(
    ctx: Context, ticket: Ticket, *, actor: str, action: str, old: str | None = None, new: str | None = None,
    note: str = "",
) -> Event:
    """Append one audit event to the ticket's history."""
    event = Event(**_event_row(ticket, actor, action, ctx.now, old=old, new=new, note=note))
    ctx.session.add(event)
    ticket.updated_at = ctx.now
    return event


def create_ticket(ctx: Context, data: NewTicket, *, actor: str = SYSTEM, first: Message | None = None) -> Ticket:
    """A new ticket with its number, status new (or assigned when an assignee is given), and its deadlines.

    ``first``: the ticket's first message, not yet written (``messages.inbound_row``). On PostgreSQL it is written
    in the ticket's statement when it can be (``messages.keep_inbound`` writes it otherwise).
    """
    session, now, settings = ctx.session, ctx.now, ctx.settings
    number = next_ticket_number(session, settings.ticket_prefix, now, settings.tz)
    status = Status.ASSIGNED if data.assignee else Status.NEW
    ticket = Ticket(
        number=number, subject=data.subject, status=status.value, priority=data.priority,
        type=data.type, team=data.team, assignee=data.assignee, reporter=data.reporter.lower(),
        reporter_name=data.reporter_name, reporter_department=data.reporter_department,
        reporter_employee_id=data.reporter_employee_id, reporter_extension=data.reporter_extension,
        channel=data.channel, language=data.language, tags=list(dict.fromkeys(data.tags)),
        flags=list(dict.fromkeys(data.flags)),
        watchers=list(dict.fromkeys(w.lower() for w in data.watchers)), system=data.system,
        impact=data.impact, occurred=data.occurred, occurred_at=data.occurred_at, reply_token="",
        created_at=now, updated_at=now, paused_seconds=0.0, escalation_level=0, reopen_count=0,
        message_count=0,
    )
    # the deadlines need only the ticket's own fields, not its id: computed now, the INSERT carries them
    # instead of a second statement (an UPDATE) after it
    keep(ctx, ticket)
    # and when the sweep first looks at its progress mails, which it would read the new ticket back to work out
    ticket.next_progress_at = first_progress_at(ctx.targets.get(ticket.priority), ctx.clock_of(ticket), ctx.calendar,
                                                settings.sla.daily_summary_at, now)
    # the first events, written with the ticket: nothing reads them back as objects, and they keep their order
    events = [_event_row(ticket, actor, "created", now, new=status.value, note=f"{data.type} {data.priority}")]
    if data.assignee:
        events.append(_event_row(ticket, actor, "assignee", now, new=data.assignee))
    events.extend(_event_row(ticket, actor, action, now, note=note) for action, note in data.extra_events)
    # one INSERT, not an ORM flush (which would write whatever else is pending too; that goes out later)
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL: the events, and the first message, in the ticket's own statement: a round trip less for each
        values = {f"e{i}_{key}": value for i, row in enumerate(events) for key, value in row.items()
                  if key != "ticket_id"}
        # the message only where keep_inbound would write it by one INSERT too: its bytes in the row, and no
        # other message waiting for a flush (ids keep the order in which the messages were written)
        written = first if first is not None and first.raw is not None and none_pending(session, Message) else None
        objs: list[tuple[Base, str]] = [(ticket, "t_")] if written is None else [(ticket, "t_"), (written, "m_")]
        insert_all_as_loaded(session, objs, _ticket_with_events(len(events), written is not None), extra=values)
        if written is not None:
            set_committed_value(written, "ticket_id", ticket.id)
    else:
        insert_as_loaded(session, ticket, _INSERT_TICKET)
        # the events in one INSERT (an executemany), not one ORM insert with RETURNING each
        session.connection().execute(_INSERT_EVENTS, [{**row, "ticket_id": ticket.id} for row in events])
    return ticket


_EVENTS = Event.metadata.tables[Event.__tablename__]
_INSERT_EVENTS = insert(_EVENTS)
_TICKETS = Ticket.metadata.tables[Ticket.__tablename__]
_INSERT_TICKET = insert(_TICKETS).returning(_TICKETS.c.id)
_TICKETS_WITH_EVENTS: dict[tuple[int, bool], Any] = {}  # built once for each shape: building costs more than running
_MESSAGES = Message.metadata.tables[Message.__tablename__]


def _ticket_with_events(count: int, with_first: bool) -> Any:
    """PostgreSQL: ``WITH made AS (INSERT INTO tickets … RETURNING id), recorded AS (INSERT INTO events SELECT
    made.id, … FROM made UNION ALL …) SELECT id FROM made``; with the first message, ``…, kept AS (INSERT INTO
    messages SELECT made.id, … FROM made RETURNING ticket_id, id) SELECT ticket_id, id FROM kept``. The ticket's
    values are named t_<column>, the i-th event's e<i>_<column>, the message's m_<column>; the events are written
    in their order."""
    statement = _TICKETS_WITH_EVENTS.get((count, with_first))
    if statement is None:
        made = insert(_TICKETS).values(bound_values(_TICKETS, "t_")).returning(_TICKETS.c.id).cte("made")
        rows = [bound_values(_EVENTS, f"e{i}_", given={"ticket_id": made.c.id}) for i in range(count)]
        selects = [select(*row.values()).select_from(made) for row in rows]
        recorded = (insert(_EVENTS).from_select(list(rows[0]), selects[0] if count == 1 else union_all(*selects))
                    .cte("recorded"))
        statement = select(made.c.id).add_cte(recorded)
        if with_first:
            first = bound_values(_MESSAGES, "m_", given={"ticket_id": made.c.id})
            kept = (insert(_MESSAGES).from_select(list(first), select(*first.values()).select_from(made))
                    .returning(_MESSAGES.c.ticket_id, _MESSAGES.c.id).cte("kept"))
            # a new ticket's first message: mails queued before it need not be written first (``pending_mail``)
            statement = select(kept.c.ticket_id, kept.c.id).add_cte(recorded).execution_options(**NEW_TICKET)
        _TICKETS_WITH_EVENTS[(count, with_first)] = statement
    return statement


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


def change_status(ctx: Context, ticket: Ticket, target: Status, *, actor: str, note: str = "") -> bool:
    """Move the ticket to ``target``; False when it is already there. Raises TransitionError.

    Time spent waiting on the reporter is measured in business seconds, so a weekend of
    waiting counts as none.
    """
    current = Status(ticket.status)
    if current == target:
        return False
    if target not in TRANSITIONS[current]:
        raise TransitionError(ticket.number, current.value, target.value, allowed_moves(current))
    _leave(ctx, ticket, current)
    _enter(ticket, current, target, ctx.now)
    ticket.status = target.value
    reopened = current in (Status.RESOLVED, Status.CLOSED) and target == Status.IN_PROGRESS
    record(ctx, ticket, actor=actor, action="reopened" if reopened else "status", old=current.value,
           new=target.value, note=note)
    keep(ctx, ticket)
    if target == Status.CLOSED:  # closed after missing its resolution target: reviewed (复盘) like a poor score
        task = review_breach(ctx, ticket)
        if task is not None:
            record(ctx, ticket, actor=SYSTEM, action="review", new=task.reason, note=task.detail)
    return True


def _leave(ctx: Context, ticket: Ticket, current: Status) -> None:
    # waiting on the reporter stops the SLA clock; leaving it adds the pause to the total
    if current == Status.WAITING_USER and ticket.paused_at is not None:
        ticket.paused_seconds = (ticket.paused_seconds or 0.0) + \
            ctx.clock_of(ticket).business_seconds_between(ticket.paused_at, ctx.now)
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


def set_field(ctx: Context, ticket: Ticket, name: str, value: str | None, *, actor: str, note: str = "") -> bool:
    """Change priority, type, team, assignee, lead, subject, system or impact; False when unchanged."""
    if name not in FIELDS:
        raise MaildeskError(f"cannot set {name!r} on a ticket")
    old = getattr(ticket, name)
    if value == old:
        return False
    setattr(ticket, name, value)
    record(ctx, ticket, actor=actor, action=name, old=old, new=value, note=note)
    if name in ("priority", "type"):  # a requirement (需求) has targets of its own
        keep(ctx, ticket)
    if name == "assignee" and value and ticket.status == Status.NEW:
        change_status(ctx, ticket, Status.ASSIGNED, actor=actor)
    return True


def set_occurred(ctx: Context, ticket: Ticket, text: str, *, actor: str) -> bool:
    """The time of occurrence (发生时间) as ``text`` says it, with the moment it clearly names (else none)."""
    text = text.strip()
    if text == ticket.occurred:
        return False
    old = ticket.occurred
    ticket.occurred = text
    ticket.occurred_at = parse_occurred(text, ctx.settings.tz, ctx.now)
    record(ctx, ticket, actor=actor, action="occurred", old=old, new=text)
    return True


def fill_form(ctx: Context, ticket: Ticket, form: IntakeForm, *, actor: str) -> list[str]:
    """The intake form's fields ``form`` gives that the ticket still lacks (staff's values are never overwritten);
    the names of those filled."""
    filled = [name for name in ("system", "impact") if getattr(form, name) and not getattr(ticket, name)
              and set_field(ctx, ticket, name, getattr(form, name), actor=actor)]
    if form.occurred and not ticket.occurred and set_occurred(ctx, ticket, form.occurred, actor=actor):
        filled.append("occurred")
    return filled


def respond(ctx: Context, ticket: Ticket, *, actor: str) -> None:
    """Staff answered the reporter: the first response is on record and the work has started."""
    if ticket.first_response_at is None:
        ticket.first_response_at = ctx.now
    if Status(ticket.status) in (Status.NEW, Status.ASSIGNED):
        change_status(ctx, ticket, Status.IN_PROGRESS, actor=actor)
    keep(ctx, ticket)


def set_escalation_level(ctx: Context, ticket: Ticket, level: int) -> None:
    """The rung of the escalation ladder the ticket reached; the next rung's time follows from it."""
    ticket.escalation_level = level
    keep(ctx, ticket)


def add_note(ctx: Context, ticket: Ticket, text: str, *, actor: str) -> Event:
    """An internal note: kept in the history, never sent to the reporter."""
    return record(ctx, ticket, actor=actor, action="note", note=text)


def add_tags(ticket: Ticket, tags: list[str] | tuple[str, ...], *, field_name: str = "tags") -> bool:
    current: list[str] = list(getattr(ticket, field_name) or [])
    merged = list(dict.fromkeys([*current, *tags]))
    if merged == current:
        return False
    setattr(ticket, field_name, merged)
    return True


def link_tickets(ctx: Context, a: Ticket, b: Ticket, kind: str, *, actor: str) -> None:
    """Relate two tickets (both directions are recorded so either shows the other)."""
    session = ctx.session
    exists = session.scalar(
        select(TicketLink.id).where(TicketLink.ticket_id == a.id, TicketLink.other_id == b.id,
                                    TicketLink.kind == kind)
    )
    if exists:
        return
    session.add(TicketLink(ticket_id=a.id, other_id=b.id, kind=kind))
    session.add(TicketLink(ticket_id=b.id, other_id=a.id, kind=kind))
    record(ctx, a, actor=actor, action="link", new=b.number, note=kind)
    record(ctx, b, actor=actor, action="link", new=a.number, note=kind)

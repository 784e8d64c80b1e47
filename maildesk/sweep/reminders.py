"""Reminders to the assignee shortly before a target is missed (``sla.reminder_before_hours``).

One reminder per ticket, target and priority (``reminder:<number>:<target>:<priority>``): a
priority raised mid-way brings a new, earlier deadline and so a new reminder; the clock
pausing and resuming does not. A target already missed gets no reminder: the escalation
ladder takes over.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import ColumnElement, and_, or_, select

from maildesk.desk.mailing import fmt_time
from maildesk.people.roles import holders
from maildesk.statuses import OPEN_STATUSES, Status
from maildesk.store.models import Ticket
from maildesk.sweep.runner import Batch, Sweep, existing_keys, for_each_due
from maildesk.words import hours_minutes, joined, target_name

ACTIVE = frozenset(s.value for s in OPEN_STATUSES - {Status.WAITING_USER})
NOT_STARTED = frozenset(s.value for s in (Status.NEW, Status.ASSIGNED))


def reminder_phase(sweep: Sweep) -> None:
    """Remind assignees of targets falling due within the reminder window; outside business hours only
    for the priorities on the 7×24 clock."""
    before = sweep.desk.settings.sla.reminder_before_hours
    if before <= 0:
        return
    now = sweep.now
    # a business-hours window is never shorter than the same hours on the 7×24 clock
    horizon = sweep.calendar.add_business_hours(now, before)
    only: ColumnElement[bool] | None = None
    if not sweep.in_hours:
        if sweep.round_the_clock is None:
            return
        only = sweep.round_the_clock
        horizon = sweep.desk.round_the_clock.add_business_hours(now, before)
    # Only the deadline ranges go to SQL: given a status term too, SQLite prefers the (unselective)
    # status index and reads every open ticket; the work function checks the status instead.
    conditions = {
        "response": and_(Ticket.response_due > now, Ticket.response_due <= horizon,
                         Ticket.first_response_at.is_(None)),
        # when starting and answering are due together, the response reminder says it all
        "start": and_(Ticket.start_due > now, Ticket.start_due <= horizon, Ticket.started_at.is_(None),
                      or_(Ticket.first_response_at.is_not(None), Ticket.start_due != Ticket.response_due)),
        "resolve": and_(Ticket.resolve_due > now, Ticket.resolve_due <= horizon),
    }
    for target, window in conditions.items():
        where = window if only is None else and_(window, only)
        todo = _not_yet_reminded(sweep, target, where)
        if todo:
            for_each_due(sweep, [and_(where, Ticket.id.in_(todo))], partial(_remind, target, before * 3600),
                         prepare=partial(_already_sent, target))


def _not_yet_reminded(sweep: Sweep, target: str, where: ColumnElement[bool]) -> list[int]:
    """Ids of the tickets in the window still owed this reminder: most were reminded by an earlier sweep."""
    statuses = NOT_STARTED if target == "start" else ACTIVE
    with sweep.store.session() as session:
        rows = session.execute(select(Ticket.id, Ticket.number, Ticket.priority, Ticket.status, Ticket.type)
                               .where(where)).all()
        # a requirement's "resolution" is its evaluation, reminded on its own window (sweep/evaluations.py)
        keys = {tid: f"reminder:{number}:{target}:{priority}" for tid, number, priority, status, kind in rows
                if status in statuses and not (target == "resolve" and sweep.desk.is_requirement(kind))}
        sent = existing_keys(session, list(keys.values()))
    return [tid for tid, key in keys.items() if key not in sent]


def _key(ticket: Ticket, target: str) -> str:
    return f"reminder:{ticket.number}:{target}:{ticket.priority}"


def _already_sent(target: str, batch: Batch, tickets: list[Ticket]) -> None:
    batch.facts["sent"] = existing_keys(batch.session, [_key(t, target) for t in tickets])


def _remind(target: str, window: float, batch: Batch, ticket: Ticket) -> None:
    statuses = NOT_STARTED if target == "start" else ACTIVE
    if _key(ticket, target) in batch.facts["sent"] or ticket.status not in statuses:
        return
    ctx, now = batch.ctx, batch.now
    due = {"start": ticket.start_due, "response": ticket.response_due, "resolve": ticket.resolve_due}[target]
    if due is None:
        return
    remaining = ctx.clock_of(ticket).business_seconds_between(now, due)
    if not 0 < remaining <= window:
        return
    to = holders(ctx.directory, ctx.settings, "assignee", ticket)
    if not to:
        return
    lang = ctx.lang
    # the team's lead stands in for a missing assignee and sees the ticket masked
    batch.to_staff(ticket, "reminder", to, {
        "assignee_name": joined([ctx.person_name(a) for a in to], lang),
        "target_name": target_name(target, lang), "due": fmt_time(due, ctx.settings),
        "remaining": hours_minutes(remaining, lang),
    }, dedup_key=_key(ticket, target))

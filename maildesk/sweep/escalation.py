"""Escalation up the ladder: each level is told once, saying what was missed and by how much.

The ladder is the priority's ``escalation`` list (``after_hours`` of business time unresolved
→ a role from the directory). ``Ticket.next_escalation_at`` is when the next rung is due, so
the sweep reads only those tickets; the level reached is stored on the ticket in the same
transaction as the mail (``escalation:<number>:<level>``), so no rung is announced twice.
A daemon that was down announces every rung it missed, each once, when it comes back.
"""

from __future__ import annotations

import logging
from datetime import datetime

from maildesk.outbound.audience import ticket_context_for
from maildesk.outbound.notify import fmt_time
from maildesk.rules.assign import team_lead
from maildesk.sla import EscalationStep, escalation_due
from maildesk.sla_state import refresh_deadlines
from maildesk.statuses import OPEN_STATUSES, Status
from maildesk.store.models import Ticket
from maildesk.sweep.runner import Batch, Sweep, for_each_due
from maildesk.sweep.words import hours_minutes, missed_name, role_name
from maildesk.tickets import SYSTEM, record

log = logging.getLogger(__name__)


def escalation_phase(sweep: Sweep) -> None:
    """Announce every rung of the ladder that is due; outside business hours the clock stands still."""
    if not sweep.in_hours:
        return
    for_each_due(sweep, [Ticket.next_escalation_at <= sweep.now], _escalate)


def role_recipients(batch: Batch, ticket: Ticket, role: str) -> list[str]:
    """Who holds ``role`` for this ticket: its assignee, its team's lead, or everyone with the role."""
    directory = batch.app.directory
    if role == "assignee":
        return [ticket.assignee] if ticket.assignee else role_recipients(batch, ticket, "lead")
    if role == "lead":
        lead = team_lead(directory, batch.app.settings.team(ticket.team)) if ticket.team else None
        if lead:
            return [lead]
    people = directory.by_role(role)
    present = [p for p in people if not p.away] or people  # if all are away, still tell them
    return [p.address for p in present]


def _missed(ticket: Ticket, step: EscalationStep, due: datetime, now: datetime) -> tuple[str, datetime]:
    """The most serious target already missed, else the ladder's own threshold."""
    if ticket.resolve_due is not None and ticket.resolve_due <= now:
        return "resolve", ticket.resolve_due
    if ticket.first_response_at is None and ticket.response_due is not None and ticket.response_due <= now:
        return "response", ticket.response_due
    if ticket.started_at is None and ticket.start_due is not None and ticket.start_due <= now:
        return "start", ticket.start_due
    return "escalation", due


def _escalate(batch: Batch, ticket: Ticket) -> None:
    app, now = batch.app, batch.now
    status = Status(ticket.status)
    refresh_deadlines(ticket, app.targets, app.calendar, now)
    target = app.targets.get(ticket.priority)
    if status not in OPEN_STATUSES or status == Status.WAITING_USER or target is None:
        ticket.next_escalation_at = None  # done, paused or unknown priority: not due any more
        return
    paused = ticket.paused_seconds or 0.0
    while ticket.escalation_level < len(target.escalation):
        step = target.escalation[ticket.escalation_level]
        due = escalation_due(ticket.created_at, step, app.calendar, paused)
        if due > now:
            break
        level = ticket.escalation_level + 1
        _announce(batch, ticket, level, step, due)
        ticket.escalation_level = level
    refresh_deadlines(ticket, app.targets, app.calendar, now)


def _announce(batch: Batch, ticket: Ticket, level: int, step: EscalationStep, due: datetime) -> None:
    app, now = batch.app, batch.now
    lang = app.settings.language
    which, missed_at = _missed(ticket, step, due, now)
    missed = missed_name(which, lang, step.after_hours)
    late = app.calendar.business_seconds_between(missed_at, now)
    overdue = hours_minutes(late, lang)
    to = role_recipients(batch, ticket, step.to_role)
    note = f"{step.to_role}: {missed_name(which, 'en', step.after_hours)} overdue by {hours_minutes(late, 'en')}"
    if not to:
        log.warning("%s: escalation level %d: nobody has the role %r in the directory",
                    ticket.number, level, step.to_role)
        note += " (nobody holds this role in the directory)"
    else:
        names = "、".join(_name(batch, a) for a in to) if lang == "zh" else ", ".join(_name(batch, a) for a in to)
        batch.to_staff(ticket, "escalation", to, {
            "ticket": ticket_context_for(app, ticket, to),  # masked for supervisors
            "recipient_name": names, "level": level, "role": role_name(step.to_role, lang),
            "missed": missed, "due": fmt_time(missed_at, app.settings), "overdue_by": overdue,
        }, dedup_key=f"escalation:{ticket.number}:{level}", level=level)
    record(batch.session, ticket, actor=SYSTEM, action="escalated", now=now, old=str(level - 1),
           new=str(level), note=note)


def _name(batch: Batch, address: str) -> str:
    person = batch.app.directory.get(address)
    return person.name if person and person.name else address

"""Escalation up the ladder: each level is told once, saying what was missed and by how much.

The ladder is the priority's ``escalation`` list (``after_hours`` on the priority's clock unresolved
→ a role from the directory). ``Ticket.next_escalation_at`` is when the next rung is due, so
the sweep reads only those tickets; the level reached is stored on the ticket in the same
transaction as the mail (``escalation:<number>:<level>``), so no rung is announced twice.
A daemon that was down announces every rung it missed, each once, when it comes back.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import and_

from maildesk.desk.mailing import fmt_time
from maildesk.desk.tickets import SYSTEM, record, set_escalation_level
from maildesk.people.roles import holders
from maildesk.sla import EscalationStep, escalation_due
from maildesk.statuses import OPEN_STATUSES, Status
from maildesk.store.models import Ticket
from maildesk.sweep.runner import Batch, Sweep, for_each_due
from maildesk.words import hours_minutes, joined, missed_name, role_name

log = logging.getLogger(__name__)


def escalation_phase(sweep: Sweep) -> None:
    """Announce every rung of the ladder that is due on its priority's clock: outside business hours only
    the priorities on the 7×24 clock climb (a P1 at 20:00 on a Friday does not wait for Monday)."""
    due = Ticket.next_escalation_at <= sweep.now
    if not sweep.in_hours:
        if sweep.round_the_clock is None:
            return
        due = and_(due, sweep.round_the_clock)
    for_each_due(sweep, [due], _escalate)


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
    ctx, now = batch.ctx, batch.now
    status = Status(ticket.status)
    target = ctx.target_of(ticket)
    if status not in OPEN_STATUSES or status == Status.WAITING_USER or target is None:
        ticket.next_escalation_at = None  # done, paused or unknown priority: not due any more
        return
    paused = ticket.paused_seconds or 0.0
    while ticket.escalation_level < len(target.escalation):
        step = target.escalation[ticket.escalation_level]
        due = escalation_due(ticket.created_at, step, ctx.clock_of(ticket), paused)
        if due > now:
            break
        _announce(batch, ticket, ticket.escalation_level + 1, step, due)
        ticket.escalation_level += 1
    set_escalation_level(ctx, ticket, ticket.escalation_level)  # and the next rung's time


def _announce(batch: Batch, ticket: Ticket, level: int, step: EscalationStep, due: datetime) -> None:
    ctx, now = batch.ctx, batch.now
    lang = ctx.lang
    which, missed_at = _missed(ticket, step, due, now)
    if which == "resolve" and ctx.desk.is_requirement(ticket.type):
        which = "evaluate"  # a requirement's resolution target is its evaluation
    missed = missed_name(which, lang, step.after_hours)
    late = ctx.clock_of(ticket).business_seconds_between(missed_at, now)
    overdue = hours_minutes(late, lang)
    to = holders(ctx.directory, ctx.settings, step.to_role, ticket)
    note = f"{step.to_role}: {missed_name(which, 'en', step.after_hours)} overdue by {hours_minutes(late, 'en')}"
    if not to:
        log.warning("%s: escalation level %d: nobody has the role %r in the directory",
                    ticket.number, level, step.to_role)
        note += " (nobody holds this role in the directory)"
    else:
        batch.to_staff(ticket, "escalation", to, {  # masked for supervisors, who are outside the conversation
            "recipient_name": joined([ctx.person_name(a) for a in to], lang), "level": level,
            "role": role_name(step.to_role, lang), "missed": missed, "due": fmt_time(missed_at, ctx.settings),
            "overdue_by": overdue,
        }, dedup_key=f"escalation:{ticket.number}:{level}", level=level)
    record(ctx, ticket, actor=SYSTEM, action="escalated", old=str(level - 1), new=str(level), note=note)

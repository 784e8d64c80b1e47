"""The one place a ticket's SLA deadlines are computed, from its priority's clock, and kept on its row.

The clock is the priority's (``clock = "24x7"`` or ``"business"``, ``Context.clock``): a P1 on the
7×24 clock is due at night and at weekends too, and its pauses are measured on the same clock.

Only the ticket operations (``desk/tickets.py``) call it, whenever something that moves a
deadline changes: creation, priority, leaving or entering "waiting on the reporter", the first
response, the escalation level, resolution and reopening. The sweep then finds due tickets with
indexed queries on these columns.
"""

from __future__ import annotations

from datetime import datetime

from maildesk.sla import Clock, PriorityTargets, compute_deadlines, escalation_due
from maildesk.statuses import OPEN_STATUSES, Status
from maildesk.store.models import Ticket


def keep_deadlines(
    ticket: Ticket, targets: dict[str, PriorityTargets], calendar: Clock, now: datetime,
) -> None:
    """Recompute due times for the ticket's priority, pause and escalation level."""
    target = targets.get(ticket.priority)
    if target is None:
        return
    paused = ticket.paused_seconds or 0.0
    if ticket.paused_at is not None:  # still waiting: the clock stands still from the pause onwards
        paused += calendar.business_seconds_between(ticket.paused_at, now)
    due = compute_deadlines(ticket.created_at, target, calendar, paused)
    ticket.start_due = due.start_due
    ticket.response_due = due.response_due
    ticket.resolve_due = due.resolve_due
    ticket.next_escalation_at = None
    ticket.next_progress_at = None  # something changed: the SLA sweep reschedules progress mails from the thread
    open_ = Status(ticket.status) in OPEN_STATUSES and Status(ticket.status) != Status.WAITING_USER
    if open_ and ticket.escalation_level < len(target.escalation):
        step = target.escalation[ticket.escalation_level]
        ticket.next_escalation_at = escalation_due(ticket.created_at, step, calendar, paused)

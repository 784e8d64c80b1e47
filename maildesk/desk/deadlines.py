"""The one place a ticket's SLA deadlines are computed, from its priority's clock, and kept on its row.

The clock is the priority's (``clock = "24x7"`` or ``"business"``, ``Context.clock``): a P1 on the
7×24 clock is due at night and at weekends too, and its pauses are measured on the same clock.

Only the ticket operations (``desk/tickets.py``) call it, whenever something that moves a
deadline changes: creation, priority, leaving or entering "waiting on the reporter", the first
response, the escalation level, resolution and reopening. The sweep then finds due tickets with
indexed queries on these columns. A new ticket also gets the time its progress mails are first
looked at (``first_progress_at``); after a change the sweep works that out again.
"""

from __future__ import annotations

from datetime import datetime, time

from maildesk.sla import Clock, PriorityTargets, compute_deadlines, daily_summary_due, escalation_due, progress_due
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


def first_progress_at(target: PriorityTargets | None, clock: Clock, calendar: Clock, daily_at: time,
                      now: datetime) -> datetime:
    """When the SLA sweep is to look first at the progress mails of a ticket opened at ``now``: what its progress
    phase works out for a ticket nobody has written to since (``sweep/progress.py``; the acknowledgement, sent at
    ``now``, changes nothing of it). Kept with the new ticket, the sweep need not read every new ticket back to
    find it out.
    ``target``: the desk's targets for the ticket's priority (None: not configured), ``clock``: the ticket's own
    (``Context.clock_of``), ``calendar``: the desk's business calendar."""
    if target is None:  # a priority no longer configured: looked at again the next working day
        return calendar.next_local_time(now, daily_at)
    if target.progress_hours is None:
        return daily_summary_due(now, now, calendar, daily_at)
    return progress_due(now, target, clock, daily_at)

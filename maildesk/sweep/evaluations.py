"""The reminder to evaluate a requirement (需求) before its evaluation falls due.

A requirement's evaluation is due ``requirements.evaluation_days`` working days after it came in
(its ``resolve_due``, kept by ``desk/deadlines``); ``requirements.reminder_before_hours`` business
hours before that, its evaluator (the assignee: a holder of the product role) is reminded once
for that due time (``reminder:<number>:evaluate:<due>``: a requirement sent back to the requester
with "needs change" gets a later due time, and a new reminder). Once it is missed, the requirements'
own escalation ladder takes over (``sweep/escalation``). Only in business hours.
"""

from __future__ import annotations

from sqlalchemy import and_

from maildesk.desk.mailing import fmt_time
from maildesk.people.roles import holders
from maildesk.statuses import OPEN_STATUSES, Status
from maildesk.store.models import Ticket
from maildesk.sweep.runner import Batch, Sweep, existing_keys, for_each_due
from maildesk.words import hours_minutes, joined, target_name

_ACTIVE = frozenset(s.value for s in OPEN_STATUSES - {Status.WAITING_USER})


def evaluation_reminder_phase(sweep: Sweep) -> None:
    """Remind evaluators of requirements whose evaluation falls due within the window."""
    before = sweep.desk.settings.requirements.reminder_before_hours
    if not sweep.in_hours or before <= 0:
        return
    now = sweep.now
    horizon = sweep.calendar.add_business_hours(now, before)
    where = and_(Ticket.resolve_due > now, Ticket.resolve_due <= horizon,
                 Ticket.type == sweep.desk.settings.requirements.type)
    for_each_due(sweep, [where], _remind, prepare=_already_sent)


def _key(ticket: Ticket) -> str:
    due = ticket.resolve_due.timestamp() if ticket.resolve_due else 0
    return f"reminder:{ticket.number}:evaluate:{due:.0f}"


def _already_sent(batch: Batch, tickets: list[Ticket]) -> None:
    batch.facts["sent"] = existing_keys(batch.session, [_key(t) for t in tickets])


def _remind(batch: Batch, ticket: Ticket) -> None:
    if _key(ticket) in batch.facts["sent"] or ticket.status not in _ACTIVE or ticket.resolve_due is None:
        return
    ctx = batch.ctx
    remaining = ctx.calendar.business_seconds_between(batch.now, ticket.resolve_due)
    to = holders(ctx.directory, ctx.settings, "assignee", ticket)
    if remaining <= 0 or not to:
        return
    lang = ctx.lang
    batch.to_staff(ticket, "reminder", to, {
        "assignee_name": joined([ctx.person_name(a) for a in to], lang),
        "target_name": target_name("evaluate", lang), "due": fmt_time(ticket.resolve_due, ctx.settings),
        "remaining": hours_minutes(remaining, lang),
    }, dedup_key=_key(ticket))

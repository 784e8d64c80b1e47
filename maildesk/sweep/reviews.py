"""Overdue review (复盘) tasks are chased: a reminder to their owner, then the supervisor above them.

A review task is due a day after it was opened (``desk/review``). The first sweep in business
hours after that reminds its owner (``review_chase:<task>:owner``); ``sla.review_chase_hours``
business hours after the due time the holders of the role above the owner's (lead → manager →
director) hear of it too (``review_chase:<task>:up``). Each mail goes once, by its key; a task
completed with ``#复盘`` (``desk/commands/review``) is no longer chased. Supervisors are outside the
ticket's conversation, so they read it masked. Tasks overdue for longer than ``WINDOW`` are left
alone: a desk that was down for a month does not send a month of reminders.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from maildesk.desk.mailing import fmt_time, masked_reporter, relay_to_staff
from maildesk.desk.tickets import SYSTEM, record
from maildesk.people.roles import holders, supervisors
from maildesk.store.models import Ticket
from maildesk.store.models_conversation import ReviewTask
from maildesk.sweep.runner import Batch, Sweep, existing_keys
from maildesk.words import hours_minutes

log = logging.getLogger(__name__)

WINDOW = timedelta(days=30)
ROLE_ORDER = ("lead", "manager", "director")


def review_phase(sweep: Sweep) -> None:
    """Remind owners of overdue review tasks, then the supervisors above them; in business hours."""
    if not sweep.in_hours:
        return
    now = sweep.now
    with sweep.store.session() as session:
        due = list(session.scalars(select(ReviewTask).where(
            ReviewTask.done_at.is_(None), ReviewTask.due_at <= now, ReviewTask.due_at > now - WINDOW)))
        if not due:
            return
        batch = Batch.of(sweep, session)
        batch.facts["sent"] = existing_keys(session, [k for t in due for k in (_key(t, "owner"), _key(t, "up"))])
        tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_({t.ticket_id for t in due})))}
        for task in due:
            try:
                with session.begin_nested():
                    _chase(batch, task, tickets[task.ticket_id])
            except Exception:  # one task's failure must not stop the sweep; it stays due
                log.exception("sla sweep: chasing review task %s failed", task.id)
                batch.pending.clear()
            else:
                sweep.queued.extend(batch.pending)
                batch.pending.clear()


def _key(task: ReviewTask, stage: str) -> str:
    return f"review_chase:{task.id}:{stage}"


def reason_text(batch: Batch, task: ReviewTask) -> str:
    """Why the review was opened, as supervisors read it."""
    ctx = batch.ctx
    if task.reason == "complaint":
        return ctx.say("review.complaint")
    if task.reason == "low_score":
        return ctx.say("review.low_score", score=ctx.settings.sla.survey_complete_score)
    return task.detail or task.reason  # a breach: "resolution target missed by …", written when it opened


def _above(batch: Batch, owner: str) -> list[str]:
    """The holders of the role above ``owner``'s (for an owner without a role: the supervisors)."""
    ctx = batch.ctx
    person = ctx.directory.get(owner) if owner else None
    if person is None or person.role not in ROLE_ORDER:
        return [a for a in supervisors(ctx.directory, ctx.settings) if a != owner]
    for role in ROLE_ORDER[ROLE_ORDER.index(person.role) + 1:]:
        found = [a for a in holders(ctx.directory, ctx.settings, role) if a != owner]
        if found:
            return found
    return []


def _chase(batch: Batch, task: ReviewTask, ticket: Ticket) -> None:
    ctx, now = batch.ctx, batch.now
    owner = task.owner.lower()
    why, due = reason_text(batch, task), fmt_time(task.due_at, ctx.settings)
    body = task.detail or ctx.say("review.no_comment")
    if _key(task, "owner") not in batch.facts["sent"]:
        to = [owner] if owner else supervisors(ctx.directory, ctx.settings)
        if to:
            row = relay_to_staff(ctx, ticket, to, author_name=masked_reporter(ticket), body=body, kind="review",
                                 notice=ctx.say("review.overdue", due=due, why=why), dedup_key=_key(task, "owner"))
            if batch.keep(row, ticket, "review"):
                record(ctx, ticket, actor=SYSTEM, action="review_reminded", new=str(task.id), note=", ".join(to))
    if now < ctx.calendar.add_business_hours(task.due_at, ctx.settings.sla.review_chase_hours):
        return
    if _key(task, "up") in batch.facts["sent"]:
        return
    above = _above(batch, owner)
    if not above:
        return  # the owner is at the top of the ladder: the reminder was all there is
    late = hours_minutes(ctx.calendar.business_seconds_between(task.due_at, now), ctx.lang)
    notice = ctx.say("review.escalated", owner=ctx.person_name(owner) or owner, late=late, due=due, why=why)
    row = relay_to_staff(ctx, ticket, above, author_name=masked_reporter(ticket), body=body, kind="review",
                         notice=notice, dedup_key=_key(task, "up"))
    if batch.keep(row, ticket, "review"):
        record(ctx, ticket, actor=SYSTEM, action="review_escalated", new=str(task.id), note=", ".join(above))

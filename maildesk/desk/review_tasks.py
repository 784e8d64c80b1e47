"""Opening a review (复盘) task: the task, due within a day, and the mail that asks the supervisors for it.

Two things open one: a poor survey score or a complaint (``desk/review``), and a ticket closed after
missing its resolution target (``desk/breach_review``). The supervisors (the managers, else the
directors) are outside the ticket's conversation, so the reporter and their words reach them masked.
This module writes no audit event (the callers do, with ``desk/tickets.record``), so that the ticket
operations themselves can open a task when a ticket closes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from maildesk.desk.context import Context
from maildesk.desk.mailing import fmt_time, masked_reporter, relay_to_staff
from maildesk.people.roles import supervisors
from maildesk.store.models import Ticket
from maildesk.store.models_conversation import ReviewTask

REVIEW_WITHIN = timedelta(hours=24)


def open_task(ctx: Context, ticket: Ticket, *, reason: str, detail: str, notice: Callable[[str], str], body: str,
              dedup_key: str) -> ReviewTask:
    """A review task for ``reason`` owned by the first supervisor, and the mail to the supervisors: ``notice``
    (given the due time as shown) above ``body``."""
    owners = supervisors(ctx.directory, ctx.settings)
    due = ctx.now + REVIEW_WITHIN
    task = ReviewTask(ticket_id=ticket.id, reason=reason, detail=detail, owner=owners[0] if owners else "",
                      created_at=ctx.now, due_at=due, done_at=None, note="")
    ctx.session.add(task)
    ctx.session.flush()
    if owners:
        relay_to_staff(ctx, ticket, owners, author_name=masked_reporter(ticket), body=body, kind="review",
                       notice=notice(fmt_time(due, ctx.settings)), dedup_key=dedup_key)
    return task

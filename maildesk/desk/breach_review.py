"""A review (复盘) after a breach: a ticket closed after missing its resolution target is reviewed too.

The ticket operations call ``review_breach`` whenever a ticket becomes closed (``desk/tickets``, the one
place, whichever way it closes: a command, the confirmation, the auto-close, the command line). The
target is missed when the ticket was resolved (or closed without a resolution) after its
``resolve_due``, which already allows for the time spent waiting on the reporter; by how much is
business time, so a resolution in the evening after a target due at the close of the day missed
nothing. A requirement's target is its evaluation. The task opens like a poor score's
(``desk/review_tasks``): due within a day, the supervisors told (masked), chased while open
(``sweep/reviews``), completed with ``#复盘``. Once a ticket: closing it again after a reopening
opens no second one; a ticket merged into another is closed as a duplicate, never reviewed.
"""

from __future__ import annotations

from sqlalchemy import select

from maildesk.desk.context import Context
from maildesk.desk.mailing import fmt_time
from maildesk.desk.review_tasks import open_task
from maildesk.outbound.outbox import QueuedMail
from maildesk.store.models import Message, OutboxMail, Ticket
from maildesk.store.models_conversation import ReviewTask
from maildesk.words import hours_minutes, missed_name

REASON = "breach"
_AT_LEAST = 60.0  # seconds on the ticket's clock: a target missed by less than a minute was met


def review_breach(ctx: Context, ticket: Ticket) -> ReviewTask | None:
    """Open the review of a ticket just closed after missing its resolution target; None when it met it
    (or has one already)."""
    due, done = ticket.resolve_due, ticket.resolved_at or ticket.closed_at
    if due is None or done is None or ticket.merged_into_id is not None or done <= due:
        return None
    late = ctx.clock_of(ticket).business_seconds_between(due, done)  # a 7×24 P1 is late at night too
    if late < _AT_LEAST:
        return None
    if ctx.session.scalar(select(ReviewTask.id).where(ReviewTask.ticket_id == ticket.id,
                                                      ReviewTask.reason == REASON).limit(1)) is not None:
        return None
    target = missed_name("evaluate" if ctx.desk.is_requirement(ticket.type) else "resolve", ctx.lang)
    why = ctx.say("review.breach", target=target, late=hours_minutes(late, ctx.lang), due=fmt_time(due, ctx.settings))
    first_words = ctx.session.scalar(
        select(Message.text).where(Message.ticket_id == ticket.id, Message.direction == "in")
        .order_by(Message.id).limit(1)) or ""
    return open_task(ctx, ticket, reason=REASON, detail=why,
                     notice=lambda review_due: ctx.say("review.breach_notice", why=why, due=review_due),
                     body=first_words.strip() or ctx.say("review.no_comment"),
                     dedup_key=mail_key(ticket))


def mail_key(ticket: Ticket) -> str:
    return f"review:{ticket.number}:{REASON}"


def queued_review(ctx: Context, ticket: Ticket) -> QueuedMail | None:
    """The review mail a close at ``ctx.now`` queued for ``ticket``, if it did (for the sweep's report)."""
    row = ctx.session.scalars(select(OutboxMail).where(OutboxMail.dedup_key == mail_key(ticket),
                                                       OutboxMail.created_at == ctx.now)).one_or_none()
    return None if row is None else QueuedMail(row.kind, row.message_id, list(row.to_addrs), row.raw)

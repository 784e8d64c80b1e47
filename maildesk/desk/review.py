"""A review (复盘) the supervisors owe a ticket: a task due within a day, and the mail that asks for it.

Opened after a survey score below ``sla.survey_complete_score`` or a complaint. The
supervisors (the managers, else the directors) are outside the ticket's conversation, so the
reporter and their words reach them masked.
"""

from __future__ import annotations

from datetime import timedelta

from maildesk.desk.context import Context
from maildesk.desk.mailing import fmt_time, masked_reporter, relay_to_staff
from maildesk.desk.survey_answers import SurveyScores
from maildesk.desk.tickets import record
from maildesk.people.roles import supervisors
from maildesk.store.models import Ticket
from maildesk.store.models_conversation import ReviewTask, SurveyAnswer

REVIEW_WITHIN = timedelta(hours=24)


def marks(ctx: Context, scores: SurveyScores) -> str:
    """The scores as supervisors read them: 响应速度 5 · 问题解决 4 · 服务态度 5, or 4/5."""
    given = [(ctx.say(f"review.{name}"), value) for name, value in
             (("speed", scores.speed), ("solving", scores.solving), ("attitude", scores.attitude)) if value is not None]
    if given:
        return ctx.say("review.marks_separator").join(f"{name} {value}" for name, value in given)
    return f"{scores.overall:g}/5" if scores.overall is not None else ctx.say("review.no_score")


def open_review(ctx: Context, ticket: Ticket, scores: SurveyScores, answer: SurveyAnswer) -> ReviewTask:
    """The review task and the mail that tells the supervisors about it."""
    owners = supervisors(ctx.directory, ctx.settings)
    reason = "complaint" if scores.complaint else "low_score"
    due = ctx.now + REVIEW_WITHIN
    shown = marks(ctx, scores)
    task = ReviewTask(ticket_id=ticket.id, reason=reason, detail=f"{shown}\n{scores.comment}".strip(),
                      owner=owners[0] if owners else "", created_at=ctx.now, due_at=due, done_at=None, note="")
    ctx.session.add(task)
    ctx.session.flush()
    record(ctx, ticket, actor="system", action="review", new=reason, note=shown)
    if owners:
        why = ctx.say("review.complaint") if scores.complaint else \
            ctx.say("review.low_score", score=ctx.settings.sla.survey_complete_score)
        notice = ctx.say("review.notice", why=why, marks=shown, due=fmt_time(due, ctx.settings))
        relay_to_staff(ctx, ticket, owners, author_name=masked_reporter(ticket), notice=notice,
                       body=scores.comment or ctx.say("review.no_comment"), kind="review",
                       dedup_key=f"review:{ticket.number}:{answer.id}")
    return task

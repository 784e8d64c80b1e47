"""A review (复盘) the supervisors owe a ticket: a task due within a day, and the mail that asks for it.

Opened after a survey score below ``sla.survey_complete_score`` or a complaint (the task and the
mail: ``desk/review_tasks``; a ticket closed after missing its target opens one too:
``desk/breach_review``).
"""

from __future__ import annotations

from maildesk.desk.context import Context
from maildesk.desk.review_tasks import open_task
from maildesk.desk.survey_answers import SurveyScores
from maildesk.desk.tickets import record
from maildesk.store.models import Ticket
from maildesk.store.models_conversation import ReviewTask, SurveyAnswer


def marks(ctx: Context, scores: SurveyScores) -> str:
    """The scores as supervisors read them: 响应速度 5 · 问题解决 4 · 服务态度 5, or 4/5."""
    given = [(ctx.say(f"review.{name}"), value) for name, value in
             (("speed", scores.speed), ("solving", scores.solving), ("attitude", scores.attitude)) if value is not None]
    if given:
        return ctx.say("review.marks_separator").join(f"{name} {value}" for name, value in given)
    return f"{scores.overall:g}/5" if scores.overall is not None else ctx.say("review.no_score")


def open_review(ctx: Context, ticket: Ticket, scores: SurveyScores, answer: SurveyAnswer) -> ReviewTask:
    """The review task and the mail that tells the supervisors about it."""
    reason = "complaint" if scores.complaint else "low_score"
    shown = marks(ctx, scores)
    why = ctx.say("review.complaint") if scores.complaint else \
        ctx.say("review.low_score", score=ctx.settings.sla.survey_complete_score)
    task = open_task(ctx, ticket, reason=reason, detail=f"{shown}\n{scores.comment}".strip(),
                     notice=lambda due: ctx.say("review.notice", why=why, marks=shown, due=due),
                     body=scores.comment or ctx.say("review.no_comment"),
                     dedup_key=f"review:{ticket.number}:{answer.id}")
    record(ctx, ticket, actor="system", action="review", new=reason, note=shown)
    return task

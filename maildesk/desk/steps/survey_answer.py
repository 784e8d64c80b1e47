"""Step: the reporter's answer to the satisfaction survey, read from a plain reply.

Applies to a mail from the reporter of a closed or archived ticket that was sent the survey,
whose words read as scores or a complaint (``desk/survey_answers``). The answer is stored; a
score below ``sla.survey_complete_score`` or a complaint opens a review (复盘) for the
supervisors; otherwise, once the reporter had confirmed the solution, closure is complete.
"""

from __future__ import annotations

from sqlalchemy import select

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling, done
from maildesk.desk.messages import store_inbound
from maildesk.desk.review import marks, open_review
from maildesk.desk.survey_answers import SurveyScores, parse_survey
from maildesk.desk.tickets import record
from maildesk.desk.verdicts import Confirmation
from maildesk.desk.watchers import add_copied_watchers
from maildesk.ingest.outcome import Handled, Result
from maildesk.statuses import Status
from maildesk.store.models import Event, Message, OutboxMail, Ticket
from maildesk.store.models_conversation import SurveyAnswer


def survey_sent(ctx: Context, ticket: Ticket) -> bool:
    return ctx.session.scalar(
        select(OutboxMail.id).where(OutboxMail.ticket_id == ticket.id, OutboxMail.kind == "survey").limit(1)
    ) is not None


def confirmed(ctx: Context, ticket: Ticket) -> bool:
    """Whether the reporter said the problem is solved (an automatic close is no confirmation)."""
    return ctx.session.scalar(
        select(Event.id).where(Event.ticket_id == ticket.id, Event.action == "confirmed",
                               Event.to_value == Confirmation.SOLVED.value).limit(1)
    ) is not None


def survey_scores(ctx: Context, ticket: Ticket, mail: Handling) -> SurveyScores | None:
    """The scores in the reporter's reply to a finished ticket that was sent the survey, else None."""
    if mail.sender != ticket.reporter or Status(ticket.status) not in (Status.CLOSED, Status.ARCHIVED):
        return None
    if not survey_sent(ctx, ticket):
        return None
    return parse_survey(mail.text)


def record_survey(ctx: Context, ticket: Ticket, scores: SurveyScores, *, message: Message | None) -> SurveyAnswer:
    """Store the answer; a low score or a complaint asks the supervisor for a review within 24 hours."""
    answer = SurveyAnswer(
        ticket_id=ticket.id, message_pk=message.id if message is not None else None, respondent=ticket.reporter,
        speed=scores.speed, solving=scores.solving, attitude=scores.attitude, overall=scores.overall,
        comment=scores.comment, complaint=scores.complaint, at=ctx.now,
    )
    ctx.session.add(answer)
    ctx.session.flush()
    shown = marks(ctx, scores)
    record(ctx, ticket, actor=ticket.reporter, action="survey", new=shown, note=scores.comment)
    low = scores.lowest is not None and scores.lowest < ctx.settings.sla.survey_complete_score
    if low or scores.complaint:
        open_review(ctx, ticket, scores, answer)
    elif confirmed(ctx, ticket):
        record(ctx, ticket, actor="system", action="closure_complete", new=shown)
    return answer


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket = mail.ticket
    if ticket is None:
        return None
    scores = survey_scores(ctx, ticket, mail)
    if scores is None:
        return None
    message = store_inbound(ctx, mail.mail, ticket=ticket, kind="normal", text=mail.text)
    add_copied_watchers(ctx, ticket, mail.mail)
    record_survey(ctx, ticket, scores, message=message)
    return done(ctx, Result.REPLY, ticket, "survey answer")

"""Step 5 of the loop (结果验证与满意度): the reporter's verdict on a solution, and their survey answer.

Solved closes the ticket and sends the survey; still a problem reopens it and
tells the assignee; needs improvement puts it back to work with a tag. A survey
answer is stored; a score below ``sla.survey_complete_score`` or a complaint mails
the supervisor and opens a review (复盘) task due within 24 hours. Closure is
complete when the reporter confirmed the solution and every score is good.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.app import App
from maildesk.confirm import Confirmation
from maildesk.outbound.audience import masked_reporter, queue_supervisor_relay
from maildesk.outbound.notify import fmt_time, queue_survey
from maildesk.sla_state import refresh_deadlines
from maildesk.statuses import Status
from maildesk.store.models import Event, Message, OutboxMail, Ticket
from maildesk.store.models_conversation import ReviewTask, SurveyAnswer
from maildesk.survey import SurveyScores
from maildesk.tickets import add_tags, change_status, record

REVIEW_WITHIN = timedelta(hours=24)
IMPROVE_TAG = "需进一步优化"


def survey_sent(session: Session, ticket: Ticket) -> bool:
    return session.scalar(
        select(OutboxMail.id).where(OutboxMail.ticket_id == ticket.id, OutboxMail.kind == "survey").limit(1)
    ) is not None


def confirmed(session: Session, ticket: Ticket) -> bool:
    """Whether the reporter said the problem is solved (an automatic close is no confirmation)."""
    return session.scalar(
        select(Event.id).where(Event.ticket_id == ticket.id, Event.action == "confirmed",
                               Event.to_value == Confirmation.SOLVED.value).limit(1)
    ) is not None


def staff_notice(app: App, zh: str, en: str) -> str:
    return zh if app.settings.language == "zh" else en


def apply_confirmation(
    app: App, session: Session, ticket: Ticket, answer: Confirmation, *, actor: str, now: datetime,
) -> str:
    """Act on a clear verdict; returns the notice for the assignee (empty when there is nothing to say)."""
    meter = app.calendar.business_seconds_between
    record(session, ticket, actor=actor, action="confirmed", now=now, new=answer.value)
    if answer == Confirmation.SOLVED:
        if Status(ticket.status) != Status.CLOSED:
            change_status(session, ticket, Status.CLOSED, actor=actor, now=now, note="reporter confirmed: solved",
                          pause_meter=meter)
        queue_survey(session, app, ticket, now=now)
        return staff_notice(app, "反馈人确认问题已解决，工单已关闭。",
                            "The reporter confirmed the solution; the ticket is closed.")
    if answer == Confirmation.STILL:
        change_status(session, ticket, Status.IN_PROGRESS, actor=actor, now=now,
                      note="reporter: still a problem", pause_meter=meter)
        notice = staff_notice(app, "反馈人表示问题仍未解决，工单已重新打开，请继续处理。",
                              "The reporter says it is still a problem; the ticket is reopened.")
    else:
        change_status(session, ticket, Status.IN_PROGRESS, actor=actor, now=now,
                      note="reporter: needs further improvement", pause_meter=meter)
        add_tags(ticket, [IMPROVE_TAG])
        notice = staff_notice(app, "反馈人认为还需进一步优化，工单已回到处理中。",
                              "The reporter says it needs further improvement; the ticket is back in progress.")
    refresh_deadlines(ticket, app.targets, app.calendar, now)
    return notice


def supervisors(app: App) -> list[str]:
    """Who reviews a bad score: the support managers, else the directors."""
    for role in ("manager", "director"):
        people = [p.address.lower() for p in app.directory.by_role(role) if not p.away]
        if people:
            return people
    return []


def _marks(scores: SurveyScores, lang: str) -> str:
    names = (("响应速度", "speed"), ("问题解决", "solving"), ("服务态度", "attitude"))
    given = [(zh if lang == "zh" else en, v) for (zh, en), v in
             zip(names, (scores.speed, scores.solving, scores.attitude), strict=True) if v is not None]
    if given:
        return " · ".join(f"{name} {value}" for name, value in given)
    return f"{scores.overall:g}/5" if scores.overall is not None else ("无评分" if lang == "zh" else "no score")


def record_survey(
    app: App, session: Session, ticket: Ticket, scores: SurveyScores, *, message: Message | None, now: datetime,
) -> SurveyAnswer:
    """Store the answer; a low score or a complaint asks the supervisor for a review within 24 hours."""
    answer = SurveyAnswer(
        ticket_id=ticket.id, message_pk=message.id if message is not None else None, respondent=ticket.reporter,
        speed=scores.speed, solving=scores.solving, attitude=scores.attitude, overall=scores.overall,
        comment=scores.comment, complaint=scores.complaint, at=now,
    )
    session.add(answer)
    session.flush()
    lang = app.settings.language
    record(session, ticket, actor=ticket.reporter, action="survey", now=now, new=_marks(scores, lang),
           note=scores.comment)
    threshold = app.settings.sla.survey_complete_score
    low = scores.lowest is not None and scores.lowest < threshold
    if low or scores.complaint:
        open_review(app, session, ticket, scores, answer, low=low, now=now)
    elif confirmed(session, ticket):
        record(session, ticket, actor="system", action="closure_complete", now=now, new=_marks(scores, lang))
    return answer


def open_review(
    app: App, session: Session, ticket: Ticket, scores: SurveyScores, answer: SurveyAnswer, *, low: bool,
    now: datetime,
) -> ReviewTask:
    """The review task and the mail that tells the supervisor about it."""
    owners = supervisors(app)
    reason = "complaint" if scores.complaint else "low_score"
    due = now + REVIEW_WITHIN
    marks = _marks(scores, app.settings.language)
    task = ReviewTask(ticket_id=ticket.id, reason=reason, detail=f"{marks}\n{scores.comment}".strip(),
                      owner=owners[0] if owners else "", created_at=now, due_at=due, done_at=None, note="")
    session.add(task)
    session.flush()
    record(session, ticket, actor="system", action="review", now=now, new=reason, note=marks)
    if owners:
        why = staff_notice(app, "投诉" if scores.complaint else f"评分低于 {app.settings.sla.survey_complete_score} 分",
                           "a complaint" if scores.complaint else
                           f"a score below {app.settings.sla.survey_complete_score}")
        notice = staff_notice(
            app, f"满意度回访：{why}（{marks}）。请在 {fmt_time(due, app.settings)} 之前组织复盘。",
            f"Satisfaction survey: {why} ({marks}). Please review the ticket before {fmt_time(due, app.settings)}.")
        # the supervisors are outside the conversation: the reporter and their words reach them masked
        queue_supervisor_relay(session, app, ticket, owners, author_name=masked_reporter(ticket),
                               body=scores.comment or staff_notice(app, "（无意见）", "(no comment)"), notice=notice,
                               now=now, kind="review", dedup_key=f"review:{ticket.number}:{answer.id}")
    return task

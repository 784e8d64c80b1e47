"""A mail that continues a ticket's conversation: what it changes on the ticket, and who hears of it.

Staff replies (staff_reply.py) carry commands and the words for the reporter.
A reporter's reply resumes a ticket waiting on them; on a resolved ticket it is
their verdict (confirm.py: solved closes, still a problem reopens, needs
improvement goes back to work, anything unclear changes nothing); on a closed
one within the reopen window it reopens, unless it answers the survey
(survey.py). Whatever the reporter writes reaches the assignee, who answers by
replying. A reply that starts with ``#split`` is a new problem: its own ticket,
linked. After the reopen window (or once archived) the pipeline opens a new
ticket linked to the old one instead; a survey answer never does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.app import App
from maildesk.commands import parse_commands, split_request
from maildesk.commands.proof import FROM_FAILED_FLAG, failed_from
from maildesk.confirm import Confirmation, parse_confirmation
from maildesk.errors import MaildeskError
from maildesk.ingest.mail import InboundMail
from maildesk.ingest.newticket import start_ticket
from maildesk.ingest.storing import store_inbound
from maildesk.outbound.compose import strip_subject
from maildesk.outbound.notify import person_name, queue_staff_relay
from maildesk.sla_state import refresh_deadlines
from maildesk.staff_reply import ReplyOutcome, attachments_of, staff_reply
from maildesk.statuses import Status
from maildesk.store.models import OutboxMail, Ticket
from maildesk.survey import SurveyScores, parse_survey
from maildesk.tickets import add_tags, change_status, record
from maildesk.verification import apply_confirmation, record_survey, staff_notice, survey_sent
from maildesk.watchers import added_watchers

__all__ = ["ReplyOutcome", "on_reply", "reopen_window_open", "starts_new_ticket"]


class SplitFailed(MaildeskError):
    """A reply asked for a new ticket (#split) that could not be made."""


def reopen_window_open(app: App, ticket: Ticket, now: datetime) -> bool:
    finished = ticket.closed_at or ticket.resolved_at
    return finished is None or now - finished <= timedelta(days=app.settings.intake.reopen_days)


def acts_as_staff(app: App, ticket: Ticket, mail: InboundMail, text: str) -> bool:
    """Staff write as staff, except on their own ticket, where only a mail with commands does."""
    if not app.directory.is_staff(mail.sender):
        return False
    return mail.sender != ticket.reporter or parse_commands(text).has_commands


def survey_answer(session: Session, ticket: Ticket, mail: InboundMail, text: str) -> SurveyScores | None:
    """The scores in the reporter's reply to a finished ticket that was sent the survey, else None."""
    if mail.sender != ticket.reporter or Status(ticket.status) not in (Status.CLOSED, Status.ARCHIVED):
        return None
    if not survey_sent(session, ticket):
        return None
    return parse_survey(text)


def starts_new_ticket(app: App, session: Session, ticket: Ticket, mail: InboundMail, text: str,
                      now: datetime) -> bool:
    """A reporter writing to an archived ticket, or long after it was closed, starts a new one."""
    if acts_as_staff(app, ticket, mail, text):
        return False
    status = Status(ticket.status)
    if status not in (Status.RESOLVED, Status.CLOSED, Status.ARCHIVED):
        return False
    if survey_answer(session, ticket, mail, text) is not None:
        return False
    return status == Status.ARCHIVED or not reopen_window_open(app, ticket, now)


def on_reply(app: App, session: Session, ticket: Ticket, mail: InboundMail, text: str,
             now: datetime) -> ReplyOutcome:
    """Store ``mail`` on ``ticket`` (or on the ticket it splits off) and apply what it says.

    ``text`` is what the sender wrote this time, without the quoted conversation.
    """
    if acts_as_staff(app, ticket, mail, text):
        return staff_reply(app, session, ticket, mail, text, now)
    failed = failed_from(mail, app.settings.intake.trusted_authserv_ids)
    if failed is not None:
        return failed_from_reply(app, session, ticket, mail, text, failed, now)
    split = split_request(text)
    if split is not None:
        return split_off(app, session, ticket, mail, split, now)
    return reporter_reply(app, session, ticket, mail, text, now)


def split_off(app: App, session: Session, ticket: Ticket, mail: InboundMail, split: tuple[str, str],
              now: datetime) -> ReplyOutcome:
    """``#split`` in a reporter's reply: the rest of the mail is a new problem, a ticket of its own."""
    arg, rest = split
    description = rest or arg
    first = next((line.strip() for line in description.splitlines() if line.strip()), "")
    subject = arg or first[:60] or strip_subject(ticket.subject, ticket.number)
    new_mail = replace(mail, subject=subject, text=description, in_reply_to=None, references=())
    made = start_ticket(app, session, new_mail, description, now, related=ticket, link_kind="split")
    if made.ticket is None:
        raise SplitFailed(f"#split from {ticket.number}: {made.reason}")
    record(session, ticket, actor=mail.sender, action="split", now=now, new=made.ticket.number)
    return ReplyOutcome("created", made.ticket.number, f"split from {ticket.number}")


def failed_from_reply(app: App, session: Session, ticket: Ticket, mail: InboundMail, text: str, why: str,
                      now: datetime) -> ReplyOutcome:
    """A reply whose From our mail server says failed: kept and shown to the engineer, it decides nothing."""
    store_inbound(session, mail, ticket=ticket, kind="unverified", text=text, now=now)
    add_tags(ticket, [FROM_FAILED_FLAG], field_name="flags")
    record(session, ticket, actor=mail.sender, action="unverified", now=now,
           note=f"our mail server says the From address failed ({why}): nothing of this mail was applied")
    _tell_engineer(app, session, ticket, mail, text, now, notice=staff_notice(
        app, f"注意：我方邮件服务器判定此邮件的发件人地址未通过验证（{why}），可能是伪造的，工单未作任何更改。",
        f"Note: our mail server says this mail's From address failed ({why}); it may be forged, and nothing "
        "of it was applied."))
    return ReplyOutcome(note=f"From address failed ({why}): stored and flagged, nothing applied")


def replies_to_survey(session: Session, ticket: Ticket, mail: InboundMail) -> bool:
    ids = [i for i in (mail.in_reply_to, *mail.references) if i]
    return bool(ids) and session.scalar(
        select(OutboxMail.id).where(OutboxMail.ticket_id == ticket.id, OutboxMail.kind == "survey",
                                    OutboxMail.message_id.in_(ids)).limit(1)
    ) is not None


def reporter_reply(app: App, session: Session, ticket: Ticket, mail: InboundMail, text: str,
                   now: datetime) -> ReplyOutcome:
    sender = mail.sender
    scores = survey_answer(session, ticket, mail, text)
    message = store_inbound(session, mail, ticket=ticket, kind="normal", text=text, now=now)
    if sender == ticket.reporter:  # only the reporter (or staff) may widen the audience
        add_tags(ticket, added_watchers(ticket.watchers or [], [a.addr for a in mail.cc], reporter=ticket.reporter,
                                        settings=app.settings, directory=app.directory), field_name="watchers")
    if scores is not None:
        record_survey(app, session, ticket, scores, message=message, now=now)
        return ReplyOutcome(note="survey answer")
    meter = app.calendar.business_seconds_between
    status = Status(ticket.status)
    notice, note = "", "reply"
    if status == Status.WAITING_USER:
        change_status(session, ticket, Status.IN_PROGRESS, actor=sender, now=now, note="reporter replied",
                      pause_meter=meter)
    elif status in (Status.RESOLVED, Status.CLOSED) and sender == ticket.reporter:
        answer = parse_confirmation(text)
        note = f"confirmation: {answer.value}"
        if answer != Confirmation.UNCLEAR:
            notice = apply_confirmation(app, session, ticket, answer, actor=sender, now=now)
        elif status == Status.CLOSED and not replies_to_survey(session, ticket, mail):
            change_status(session, ticket, Status.IN_PROGRESS, actor=sender, now=now, note="reporter replied",
                          pause_meter=meter)
            notice = staff_notice(app, "反馈人回复了已关闭的工单，工单已重新打开。",
                                  "The reporter wrote to the closed ticket; it is reopened.")
            note = "reply reopened the ticket"
    refresh_deadlines(ticket, app.targets, app.calendar, now)
    _tell_engineer(app, session, ticket, mail, text, now, notice=notice)
    return ReplyOutcome(note=note)


def _tell_engineer(app: App, session: Session, ticket: Ticket, mail: InboundMail, text: str, now: datetime, *,
                   notice: str) -> None:
    """Whatever the reporter's side writes reaches the assignee (or the lead), who answers by replying."""
    engineer = ticket.assignee or ticket.lead
    if engineer:
        sender = mail.sender
        author = ticket.reporter_name if sender == ticket.reporter else person_name(app, sender)
        queue_staff_relay(session, app, ticket, [engineer], author_name=author or sender, body=text, notice=notice,
                          now=now, attachments=attachments_of(mail))

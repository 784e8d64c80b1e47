"""Step: the reporter's verdict on a solution (结果验证), or their reply to a closed ticket.

Applies to a mail from the reporter of a resolved or closed ticket. Solved (已解决) closes the
ticket and sends the survey; still a problem (仍有问题) reopens it and tells the assignee; needs
improvement (需进一步优化) puts it back to work with a tag. An unclear answer changes nothing on
a resolved ticket (a person reads it); on a closed one it reopens the ticket, unless it answers
the survey mail. Whatever the reporter wrote reaches the assignee.
"""

from __future__ import annotations

from sqlalchemy import select

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling, done
from maildesk.desk.messages import store_inbound
from maildesk.desk.notices import queue_survey, tell_engineer
from maildesk.desk.tickets import add_tags, change_status, record
from maildesk.desk.verdicts import Confirmation, parse_confirmation
from maildesk.desk.watchers import add_copied_watchers
from maildesk.ingest.outcome import Handled, Result
from maildesk.mail import InboundMail
from maildesk.statuses import Status
from maildesk.store.models import OutboxMail, Ticket

IMPROVE_TAG = "需进一步优化"


def apply_confirmation(ctx: Context, ticket: Ticket, answer: Confirmation, *, actor: str) -> str:
    """Act on a clear verdict; returns the notice for the assignee."""
    record(ctx, ticket, actor=actor, action="confirmed", new=answer.value)
    if answer == Confirmation.SOLVED:
        if Status(ticket.status) != Status.CLOSED:
            change_status(ctx, ticket, Status.CLOSED, actor=actor, note="reporter confirmed: solved")
        queue_survey(ctx, ticket)
        return ctx.say("notice.confirmed")
    if answer == Confirmation.STILL:
        change_status(ctx, ticket, Status.IN_PROGRESS, actor=actor, note="reporter: still a problem")
        return ctx.say("notice.still_a_problem")
    change_status(ctx, ticket, Status.IN_PROGRESS, actor=actor, note="reporter: needs further improvement")
    add_tags(ticket, [IMPROVE_TAG])
    return ctx.say("notice.needs_improvement")


def replies_to_survey(ctx: Context, ticket: Ticket, mail: InboundMail) -> bool:
    ids = [i for i in (mail.in_reply_to, *mail.references) if i]
    return bool(ids) and ctx.session.scalar(
        select(OutboxMail.id).where(OutboxMail.ticket_id == ticket.id, OutboxMail.kind == "survey",
                                    OutboxMail.message_id.in_(ids)).limit(1)
    ) is not None


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket = mail.ticket
    if ticket is None or mail.sender != ticket.reporter or \
            Status(ticket.status) not in (Status.RESOLVED, Status.CLOSED):
        return None
    status = Status(ticket.status)
    store_inbound(ctx, mail.mail, ticket=ticket, kind="normal", text=mail.text)
    add_copied_watchers(ctx, ticket, mail.mail)
    answer = parse_confirmation(mail.text)
    notice, note = "", f"confirmation: {answer.value}"
    if answer != Confirmation.UNCLEAR:
        notice = apply_confirmation(ctx, ticket, answer, actor=mail.sender)
    elif status == Status.CLOSED and not replies_to_survey(ctx, ticket, mail.mail):
        change_status(ctx, ticket, Status.IN_PROGRESS, actor=mail.sender, note="reporter replied")
        notice, note = ctx.say("notice.reopened_by_reply"), "reply reopened the ticket"
    tell_engineer(ctx, ticket, mail.mail, mail.text, notice=notice)
    return done(ctx, Result.REPLY, ticket, note)

"""Step: a reporter writing to an archived ticket, or long after it was closed, starts a new one.

Applies to a mail that joins a resolved, closed or archived ticket from its reporter's side,
after the reopen window (``intake.reopen_days``) or once archived. The new ticket is linked to
the old one as its follow-up. A survey answer never starts a new ticket, nor does staff's mail.
"""

from __future__ import annotations

from datetime import timedelta

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.desk.parties import acts_as_staff
from maildesk.desk.steps.survey_answer import survey_scores
from maildesk.ingest.outcome import Handled
from maildesk.statuses import Status
from maildesk.store.models import Ticket


def reopen_window_open(ctx: Context, ticket: Ticket) -> bool:
    finished = ticket.closed_at or ticket.resolved_at
    return finished is None or ctx.now - finished <= timedelta(days=ctx.settings.intake.reopen_days)


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket = mail.ticket
    if ticket is None or acts_as_staff(ticket, mail.sender, mail.text, ctx.directory):
        return None
    status = Status(ticket.status)
    if status not in (Status.RESOLVED, Status.CLOSED, Status.ARCHIVED):
        return None
    if survey_scores(ctx, ticket, mail) is not None:
        return None
    if status == Status.ARCHIVED or not reopen_window_open(ctx, ticket):
        mail.related, mail.link_kind, mail.ticket = ticket, "follow_up", None
    return None

"""Step: the assignment mail: the new ticket's engineer hears of it, with the reporter's words.

Applies to every new ticket that has an assignee; it is the last step, so it ends the mail's
way with "created". A ticket staff recorded for a reporter says so, and by which channel it came.
"""

from __future__ import annotations

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling, done
from maildesk.desk.notices import queue_assignment
from maildesk.ingest.outcome import Handled, Result
from maildesk.words import channel_name


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket = mail.made
    assert ticket is not None, "open_ticket runs first"
    behalf = mail.on_behalf
    notice = "" if behalf is None else ctx.say("recorded.assignment", who=ctx.person_name(behalf.recorded_by),
                                              channel=channel_name(behalf.channel, ctx.lang))
    if ticket.assignee:
        # the ticket's only mail so far: its files are the reporter's when the reporter sent it
        first = mail.mail if mail.mail.sender == ticket.reporter else None
        queue_assignment(ctx, ticket, ticket.assignee, description=mail.text, in_reply_to=mail.mail.message_id,
                         notice=notice, first_mail=first)
    reason = f"split from {mail.split_from.number}" if mail.split_from is not None else ""
    return done(ctx, Result.CREATED, ticket, reason)

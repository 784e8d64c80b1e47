"""Step: a new conversation from someone the people directory does not know: the operator's policy.

Applies to every mail that starts a new ticket. ``intake.unknown_senders`` decides: accept,
flag (accept, and flag the ticket for a person to look at), or reject with a polite mail
(within the hourly acknowledgement limit) and no ticket. A ticket staff record for a reporter
is accepted as it is: the staff member vouches for the reporter.
"""

from __future__ import annotations

from maildesk.desk.acks import acks_in_last_hour
from maildesk.desk.context import Context
from maildesk.desk.handling import Handling, done
from maildesk.desk.mailing import language_of
from maildesk.desk.messages import store_inbound
from maildesk.desk.notices import queue_reject
from maildesk.ingest.outcome import Handled, Result

UNKNOWN_FLAG = "unknown_sender"


def handle(ctx: Context, mail: Handling) -> Handled | None:
    mail.person = ctx.directory.get(mail.sender)
    if mail.person is not None or mail.on_behalf is not None:
        return None
    policy = ctx.settings.intake.unknown_senders
    if policy == "flag":
        mail.flags.append(UNKNOWN_FLAG)
    if policy != "reject":
        return None
    message = mail.mail
    store_inbound(ctx, message, ticket=None, kind="rejected", text=mail.text)
    if acks_in_last_hour(ctx, mail.sender) < ctx.settings.intake.ack_limit_per_hour:
        queue_reject(ctx, to=mail.sender, sender_name=message.from_addr.name if message.from_addr else "",
                     subject=message.subject, message_id=message.message_id,
                     lang=language_of(f"{message.subject}\n{mail.text}", ctx.lang))
    return done(ctx, Result.REJECTED, reason="unknown sender, policy reject")

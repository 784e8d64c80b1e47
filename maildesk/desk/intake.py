"""The desk's entry point for one incoming mail: the steps, run in order until one ends the mail's way."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy.orm import Session

from maildesk.desk.acks import read_acks_ahead
from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.desk.on_behalf import OnBehalf
from maildesk.desk.setup import Desk
from maildesk.desk.steps import STEPS
from maildesk.desk.steps.recorded import take_over
from maildesk.ingest.loops import MailKind
from maildesk.ingest.outcome import Handled, Inbound
from maildesk.ingest.parse import parse_mail
from maildesk.kb.suggest import read_suggestions_ahead
from maildesk.mail import InboundMail
from maildesk.outbound.compose import make_message_id

log = logging.getLogger(__name__)


class DeskHandler:
    """The ``ingest.outcome.Handler`` the pipeline calls: one mail, in its batch's session, at the batch's moment."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def __call__(self, session: Session, inbound: Inbound, now: datetime) -> Handled:
        return handle_mail(Context(self.desk, session, now), inbound)

    def read_ahead(self, session: Session, mails: Sequence[InboundMail], now: datetime) -> None:
        # each new ticket's acknowledgement counts its sender's acknowledgements of the last hour, and looks in the
        # knowledge base for its subject and words (read here as the mail has them: where a quote cut from them
        # changes their opening, the search reads what it lacks)
        read_acks_ahead(session, {mail.sender for mail in mails}, now)
        read_suggestions_ahead(session, [(mail.subject.strip(), mail.text) for mail in mails])


def handle_mail(ctx: Context, inbound: Inbound, *, on_behalf: OnBehalf | None = None) -> Handled:
    """Run the steps on ``inbound``; the first that ends its way says what became of it.

    ``on_behalf``: a problem staff record for a reporter without a mail of the reporter's (the command
    line); ``inbound`` is then what the staff member wrote, and goes the way such a mail would.
    """
    mail = Handling.of(inbound)
    if on_behalf is not None:
        take_over(mail, on_behalf, inbound.text)
    for step in STEPS:
        handled = step(ctx, mail)
        if handled is not None:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s: %s by %s", inbound.mail.message_id, handled.result, step.__module__.rsplit(".", 1)[1])
            return handled
    raise AssertionError("the last step always ends a mail's way")


def record_for_reporter(ctx: Context, on_behalf: OnBehalf, *, subject: str, body: str) -> Handled:
    """A problem staff record from the command line, by the way a recorded mail takes (``steps/recorded``).

    The staff member's words become a mail to the support address, kept as the ticket's first message
    like the mail a staff member would have sent; from their address when the directory knows them.
    """
    settings = ctx.settings
    staff = ctx.directory.get(on_behalf.recorded_by)
    message = EmailMessage()
    message["From"] = staff.address if staff is not None else settings.support_address
    message["To"] = settings.support_address
    message["Subject"] = subject
    message["Date"] = format_datetime(ctx.now)
    message["Message-ID"] = f"<{make_message_id(settings.mail_domain, f'recorded.{uuid.uuid4().hex}')}>"
    message.set_content(body, charset="utf-8")
    inbound = Inbound(parse_mail(message.as_bytes()), MailKind.NORMAL, "recorded from the command line", body.strip())
    return handle_mail(ctx, inbound, on_behalf=on_behalf)

"""The desk's entry point for one incoming mail: the steps, run in order until one ends the mail's way."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.desk.on_behalf import OnBehalf
from maildesk.desk.setup import Desk
from maildesk.desk.steps import STEPS
from maildesk.desk.steps.recorded import take_over
from maildesk.ingest.outcome import Handled, Inbound

log = logging.getLogger(__name__)


class DeskHandler:
    """The ``ingest.outcome.Handler`` the pipeline calls: one mail, in its batch's session, at the batch's moment."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def __call__(self, session: Session, inbound: Inbound, now: datetime) -> Handled:
        return handle_mail(Context(self.desk, session, now), inbound)


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

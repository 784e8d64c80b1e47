"""Step: any other mail on a ticket from its reporter's side: kept, and passed to the engineer.

Applies to every mail that joins a ticket and no earlier step took. A ticket waiting on the
reporter goes back to work (the SLA clock runs again). The reporter's Cc become watchers;
a watcher's Cc do not. Intake form lines (涉及系统：…) in the reporter's reply fill the fields the
ticket still lacks, as when the engineer asked them to complete the form.
"""

from __future__ import annotations

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling, done
from maildesk.desk.messages import store_inbound
from maildesk.desk.notices import tell_engineer
from maildesk.desk.tickets import change_status, fill_form
from maildesk.desk.watchers import add_copied_watchers
from maildesk.ingest.form import read_form
from maildesk.ingest.outcome import Handled, Result
from maildesk.statuses import Status


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket = mail.ticket
    if ticket is None:
        return None
    store_inbound(ctx, mail.mail, ticket=ticket, kind="normal", text=mail.text)
    if mail.sender == ticket.reporter:  # only the reporter (or staff) may widen the audience
        add_copied_watchers(ctx, ticket, mail.mail)
        fill_form(ctx, ticket, read_form(mail.text), actor=mail.sender)
    if Status(ticket.status) == Status.WAITING_USER:
        change_status(ctx, ticket, Status.IN_PROGRESS, actor=mail.sender, note="reporter replied")
    tell_engineer(ctx, ticket, mail.mail, mail.text, notice="")
    return done(ctx, Result.REPLY, ticket, "reply")

"""Step: ``#split`` at the top of a reply from the reporter's side: the rest of the mail is a new problem.

Applies to a mail that joins a ticket and starts with ``#split`` / ``#拆分``. The mail goes on
through the steps of a new ticket (classification, assignment, acknowledgement) with the words
after the command as its description and the command's argument (or their first line) as its
subject, linked to the ticket it was split from.
"""

from __future__ import annotations

from dataclasses import replace

from maildesk.desk.commands import split_request
from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.ingest.outcome import Handled
from maildesk.outbound.subjects import strip_subject


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket = mail.ticket
    split = split_request(mail.text) if ticket is not None else None
    if ticket is None or split is None:
        return None
    arg, rest = split
    description = rest or arg
    first = next((line.strip() for line in description.splitlines() if line.strip()), "")
    subject = arg or first[:60] or strip_subject(ticket.subject, ticket.number)
    mail.mail = replace(mail.mail, subject=subject, text=description, in_reply_to=None, references=())
    mail.text = description
    mail.related, mail.link_kind, mail.split_from, mail.ticket = ticket, "split", ticket, None
    return None

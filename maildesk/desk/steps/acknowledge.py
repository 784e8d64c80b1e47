"""Step: the acknowledgement to the reporter, with knowledge-base articles that may already answer them.

Applies to every new ticket, unless a rule said not to (``skip_ack``) or the reporter already got
``intake.ack_limit_per_hour`` acknowledgements in the last hour (a flood of mail must not make a
flood of answers). The reporter of a ticket staff recorded for them gets it too, as a mail of its own:
there is no mail of theirs to answer, and the staff member's is none of theirs. The articles
suggested are on record, for the reporter may ask for one of them whole (``steps/kb_request``).
"""

from __future__ import annotations

from maildesk.desk.acks import acks_in_last_hour
from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.desk.kb_offered import KB_SUGGESTED
from maildesk.desk.notices import queue_ack
from maildesk.desk.tickets import SYSTEM, record
from maildesk.ingest.outcome import Handled
from maildesk.kb import suggest_articles


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket, decision = mail.made, mail.decision
    assert ticket is not None and decision is not None, "open_ticket runs first"
    if decision.skip_ack or acks_in_last_hour(ctx, mail.sender) >= ctx.settings.intake.ack_limit_per_hour:
        return None
    with ctx.session.no_autoflush:  # the knowledge base does not depend on this mail's pending rows
        articles = suggest_articles(ctx.session, ticket.subject, mail.text)
    if mail.on_behalf is not None:
        row = queue_ack(ctx, ticket, message_id=None, references=(), kb_articles=articles)
    else:
        row = queue_ack(ctx, ticket, message_id=mail.mail.message_id, references=mail.mail.references,
                        kb_articles=articles)
    if row is not None and articles:
        record(ctx, ticket, actor=SYSTEM, action=KB_SUGGESTED, new=" ".join(str(a["id"]) for a in articles),
               note="; ".join(str(a["title"]) for a in articles))
    return None

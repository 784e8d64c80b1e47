"""Step: a new urgent ticket goes to the supervisors' review list (复核) at once.

Applies to every new ticket of ``intake.review_at_once_priorities`` (P1, P2 by default): the
supervisors get the ticket's facts, its intake form and the reporter's words, masked, and review
type and priority by replying (``#ok``, ``#priority``, ``#type``). Other tickets wait in the daily
digest's "to review" list (``desk/triage``).
"""

from __future__ import annotations

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.desk.triage import queue_review
from maildesk.ingest.outcome import Handled


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket = mail.made
    assert ticket is not None, "open_ticket runs first"
    queue_review(ctx, ticket, mail.text)
    return None

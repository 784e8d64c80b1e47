"""Step: mobilisation: a new urgent ticket (P1), or the burst incident it joins, reaches the people on call,
the team lead and the manager at once (``desk/mobilise``).

Applies to every new ticket of ``sla.mobilise_priorities``, and to a burst incident raised to one: the
incident is told of once, on its first ticket, when it forms; a later ticket of it is not told again.
"""

from __future__ import annotations

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.desk.mobilise import mobilise, mobilises
from maildesk.ingest.outcome import Handled


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket = mail.made
    assert ticket is not None, "open_ticket runs first"
    if mail.incident is not None:
        first, count = mail.incident
        if mobilises(ctx, first):
            mobilise(ctx, first, reason="incident", count=count, dedup_key=f"mobilise:{first.number}:incident")
        return None
    if mobilises(ctx, ticket):
        mobilise(ctx, ticket, reason="new", dedup_key=f"mobilise:{ticket.number}")
    return None

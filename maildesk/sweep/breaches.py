"""A missed response on an urgent ticket (P1) calls out the people on call, the team lead and the manager at
once, by mail, not only in the next digest (``desk/mobilise``, reason "breach").

Tickets of ``sla.mobilise_priorities`` whose response target passed within the last day without a
first response; outside business hours only those on the 7×24 clock. Each ticket's breach is told
once per priority (``mobilise:<number>:breach:<priority>:<address>``, and a "mobilised" event the
sweep looks at before rendering anything).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, select

from maildesk.desk.mailing import fmt_time
from maildesk.desk.mobilise import mobilise
from maildesk.statuses import OPEN_STATUSES, Status
from maildesk.store.models import Event, Ticket
from maildesk.sweep.runner import Batch, Sweep, for_each_due
from maildesk.words import hours_minutes

ACTIVE = frozenset(s.value for s in OPEN_STATUSES - {Status.WAITING_USER})
# a breach older than this is the digest's and the ladder's: the response_due index bounds the scan
LOOK_BACK = timedelta(days=1)


def breach_phase(sweep: Sweep) -> None:
    """Mobilise for every urgent ticket whose response target has just been missed."""
    codes = sweep.desk.settings.sla.mobilise_priorities
    night = None if sweep.in_hours else sweep.round_the_clock
    if not codes or (not sweep.in_hours and night is None):
        return
    now = sweep.now
    where = and_(Ticket.response_due <= now, Ticket.response_due > now - LOOK_BACK,
                 Ticket.first_response_at.is_(None), Ticket.priority.in_(codes))
    if night is not None:
        where = and_(where, night)  # a business-hours priority's breach waits for the morning
    for_each_due(sweep, [where], _alert, prepare=_already_told)


def _key(ticket: Ticket) -> str:
    return f"breach:{ticket.priority}"


def _already_told(batch: Batch, tickets: list[Ticket]) -> None:
    rows = batch.session.execute(select(Event.ticket_id, Event.to_value).where(
        Event.ticket_id.in_([t.id for t in tickets]), Event.action == "mobilised")).all()
    batch.facts["told"] = {(tid, value) for tid, value in rows}


def _alert(batch: Batch, ticket: Ticket) -> None:
    if ticket.status not in ACTIVE or (ticket.id, _key(ticket)) in batch.facts["told"] or ticket.response_due is None:
        return
    ctx = batch.ctx
    late = ctx.clock_of(ticket).business_seconds_between(ticket.response_due, batch.now)
    rows = mobilise(ctx, ticket, reason="breach", event=_key(ticket),
                    dedup_key=f"mobilise:{ticket.number}:{_key(ticket)}",
                    due=fmt_time(ticket.response_due, ctx.settings), overdue_by=hours_minutes(late, ctx.lang))
    for row in rows:
        batch.keep(row, ticket, "mobilise")

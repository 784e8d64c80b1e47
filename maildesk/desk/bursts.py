"""Burst incidents: many matching tickets within a window are one incident, raised together.

A rule with a ``burst`` (e.g. "无法登录" from one department, 5 within 60 minutes → P1) is a
pure decision of the rules (``BurstHit``); counting the hits and raising the tickets needs the
database, so it is done here, when the ticket it hit is made.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from maildesk.desk.context import Context
from maildesk.desk.tickets import link_tickets, set_field
from maildesk.rules.model import BurstHit
from maildesk.store.models import RuleHit, Ticket


def apply_burst(ctx: Context, ticket: Ticket, burst: BurstHit) -> tuple[Ticket, int] | None:
    """N matching tickets (per department or overall) within the window: raise them all, link as one incident;
    the incident's first ticket and how many it holds, when there is one."""
    session, now = ctx.session, ctx.now
    session.add(RuleHit(ticket_id=ticket.id, rule=burst.rule, key=burst.key, at=now))
    session.flush()
    since = now - timedelta(minutes=burst.minutes)
    ids = list(session.scalars(
        select(RuleHit.ticket_id).where(RuleHit.rule == burst.rule, RuleHit.key == burst.key, RuleHit.at > since)
        .order_by(RuleHit.at, RuleHit.id)
    ))
    if len(ids) < burst.count:
        return None
    order = ctx.settings.priority_order()
    tickets = list(session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)))
    first = tickets[0]
    for t in tickets:
        if order.index(burst.priority) < order.index(t.priority):
            set_field(ctx, t, "priority", burst.priority, actor=f"rule:{burst.rule}",
                      note=f"{len(ids)} within {burst.minutes} min ({burst.key})")
        if t.id != first.id:
            link_tickets(ctx, t, first, "incident", actor=f"rule:{burst.rule}")
    return first, len(ids)

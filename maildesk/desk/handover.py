"""Handing a person's urgent tickets on when they are away: an out-of-office reply must not leave a P1 waiting.

Their open tickets of ``intake.out_of_office_priorities`` go to a present colleague of the ticket's
team, chosen as any new ticket is (round robin or least loaded, never someone away), else to a present
lead. The colleague gets the assignment mail, with a line saying why it came to them. A ticket nobody
present can take stays where it is, and its history says so.
"""

from __future__ import annotations

from sqlalchemy import select

from maildesk.desk.assignment import assign_person, choose_assignee
from maildesk.desk.context import Context
from maildesk.desk.mailing import fmt_time
from maildesk.desk.notices import queue_assignment
from maildesk.desk.tickets import SYSTEM, record
from maildesk.kb.articles import first_problem_text
from maildesk.people.directory import Person
from maildesk.people.roles import holders
from maildesk.statuses import OPEN_STATUSES
from maildesk.store.models import Ticket

_OPEN = [s.value for s in OPEN_STATUSES]


def _colleague(ctx: Context, ticket: Ticket, away: str) -> Person | None:
    """Who takes ``ticket`` from ``away``: a present member of its team, else a present lead."""
    team = ctx.settings.team(ticket.team) if ticket.team else None
    chosen = choose_assignee(ctx.session, ctx.directory, team, reporter=ticket.reporter) if team else None
    if chosen is None or chosen == away:
        present = [a for a in holders(ctx.directory, ctx.settings, "lead", ticket) if a != away]
        present = [a for a in present if (p := ctx.directory.get(a)) is not None and not p.away]
        chosen = present[0] if present else None
    return ctx.directory.get(chosen) if chosen else None


def hand_on_urgent(ctx: Context, away: str, *, since: str) -> list[tuple[str, str]]:
    """Give ``away``'s open urgent tickets to present colleagues; returns (ticket number, new assignee) pairs.

    ``ctx.directory`` must already count ``away`` as away (``Context.presence_changed``).
    """
    priorities = ctx.settings.intake.out_of_office_priorities
    if not priorities:
        return []
    tickets = ctx.session.scalars(
        select(Ticket).where(Ticket.assignee == away, Ticket.status.in_(_OPEN), Ticket.priority.in_(priorities))
        .order_by(Ticket.id)
    ).all()
    moved: list[tuple[str, str]] = []
    why = f"out of office: {away}"
    for ticket in tickets:
        person = _colleague(ctx, ticket, away)
        if person is None:
            record(ctx, ticket, actor=SYSTEM, action="handover_failed", old=away,
                   note=f"{why}; nobody present to take it")
            continue
        assign_person(ctx, ticket, person, actor=SYSTEM, note=why)
        new = person.address.lower()
        notice = ctx.say("away.handed_on", who=ctx.person_name(away), since=since)
        queue_assignment(ctx, ticket, new, description=first_problem_text(ctx.session, ticket), notice=notice,
                         history=True)
        moved.append((ticket.number, new))
    return moved


def since_text(ctx: Context) -> str:
    """When the absence began, as the colleague's mail says it."""
    return fmt_time(ctx.now, ctx.settings)

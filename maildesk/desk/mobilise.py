"""Mobilisation (紧急动员): the people who must act on an urgent ticket hear of it at once, at any hour.

A new ticket of ``sla.mobilise_priorities`` (P1), a burst incident raised to one (``desk/bursts``), a
ticket a person raises to one later (``desk/triage``), and such a ticket's missed response target (the
sweep, ``sweep/breaches``) are mailed to the holders of ``sla.mobilise_roles`` (on call by the rota,
the team lead, the manager: ``people/roles``), each once, with the reporter's words, the impact and
the attachments' names and sizes. The assignee is left out: the assignment mail is theirs. Readers
outside the ticket's conversation see the words masked (``desk/mailing``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from maildesk.desk.context import Context
from maildesk.desk.mailing import in_conversation, mask_for_ticket, to_staff
from maildesk.desk.tickets import SYSTEM, record
from maildesk.outbound.outbox import QueuedMail
from maildesk.people.roles import holders, supervisors
from maildesk.store.models import Message, Ticket
from maildesk.words import file_size, joined, role_name

WORDS_CHARS = 1500  # of the reporter's words in the mail


def mobilises(ctx: Context, ticket: Ticket) -> bool:
    """Whether a ticket of this priority calls out the people on call, the lead and the manager."""
    return ticket.priority in ctx.settings.sla.mobilise_priorities


def asks_review(ctx: Context, ticket: Ticket, reason: str) -> bool:
    """Whether the mobilisation mail of a new ticket also asks its supervisors to review (复核) it, in place of the
    review request of ``desk/triage``."""
    return reason == "new" and ticket.priority in ctx.settings.intake.review_at_once_priorities


def who_is_mobilised(ctx: Context, ticket: Ticket) -> dict[str, list[str]]:
    """address → the roles it is told as, in the order of ``sla.mobilise_roles``; never the assignee."""
    found: dict[str, list[str]] = {}
    for role in ctx.settings.sla.mobilise_roles:
        for address in holders(ctx.directory, ctx.settings, role, ticket):
            if address != (ticket.assignee or "").lower():
                found.setdefault(address, []).append(role)
    return found


def first_words(ctx: Context, ticket: Ticket) -> tuple[str, list[tuple[str, int]]]:
    """The reporter's first mail on the ticket: its words and its attachments' (name, size)."""
    message = ctx.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id, Message.direction == "in")
        .options(selectinload(Message.attachments)).order_by(Message.id).limit(1)
    ).first()
    if message is None:
        return "", []
    return message.text or "", [(a.filename, a.size) for a in message.attachments]


def mobilise(
    ctx: Context, ticket: Ticket, *, reason: str, dedup_key: str, count: int = 0,
    due: str = "", overdue_by: str = "", event: str = "", actor: str = "",
) -> list[QueuedMail]:
    """Mail every holder of the mobilisation roles about ``ticket`` (``reason``: new, incident, raised, breach;
    ``actor``: who raised it, not told of their own act), once; the "mobilised" event in its history says
    ``event`` (default: the reason) and to whom."""
    event = event or reason
    people = {a: roles for a, roles in who_is_mobilised(ctx, ticket).items() if a != actor.lower()}
    if not people:
        record(ctx, ticket, actor=SYSTEM, action="mobilised", new=event, note="nobody holds the mobilisation roles")
        return []
    words, files = first_words(ctx, ticket)
    impact = ticket.impact or ""  # the intake form's 影响范围 (empty until something fills it in)
    lang, sent = ctx.lang, []
    # a new ticket's supervisors review (复核) it from this mail: one mail each, not this and review_new too
    reviewers = set(supervisors(ctx.directory, ctx.settings)) if asks_review(ctx, ticket, reason) else set()
    for address, roles in people.items():
        to = [address]
        inside = in_conversation(ticket, to)
        context: dict[str, Any] = {
            "recipient_name": ctx.person_name(address), "reason": reason, "count": count,
            "due": due, "overdue_by": overdue_by,
            "by": ctx.person_name(actor) if actor else "", "roles": joined([role_name(r, lang) for r in roles], lang),
            "words": (words if inside else mask_for_ticket(ctx, ticket, words)).strip()[:WORDS_CHARS],
            "impact": impact if inside else mask_for_ticket(ctx, ticket, impact),
            "attachments": [{"name": name, "size": file_size(size)} for name, size in files],
            "review": address in reviewers,
        }
        row = to_staff(ctx, ticket, "mobilise", to, context, dedup_key=f"{dedup_key}:{address}")
        if row is not None:
            sent.append(row)
    if sent:
        record(ctx, ticket, actor=SYSTEM, action="mobilised", new=event, note=", ".join(people))
    return sent

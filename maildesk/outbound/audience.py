"""Who reads a mail about a ticket, and how much of the ticket they see.

The people in the ticket's conversation (the reporter, the watchers, the assignee and the
lead 牵头人) get its real subject and reporter. Anyone else (a supervisor reached by an
escalation, a review request or ``#escalate``) gets them masked by ``maildesk.masking``,
with every name the desk knows, and the words relayed to them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from maildesk.masking import Masker, mask_email, mask_name
from maildesk.outbound.notify import Desk, send_on_ticket, ticket_context
from maildesk.store.models import OutboxMail, Ticket

__all__ = ["MaskingDesk", "in_conversation", "mask_for_ticket", "masked_reporter", "masked_ticket_context",
           "queue_supervisor_relay", "ticket_context_for"]


class MaskingDesk(Desk, Protocol):
    """A desk that can mask (App satisfies it)."""

    @property
    def masker(self) -> Masker: ...


def in_conversation(ticket: Ticket, to: Iterable[str]) -> bool:
    """Whether every one of ``to`` is the reporter, a watcher, the assignee or the lead of ``ticket``."""
    inside = {a.lower() for a in (ticket.reporter, ticket.assignee, ticket.lead, *(ticket.watchers or [])) if a}
    return all(address.lower() in inside for address in to)


def masked_reporter(ticket: Ticket) -> str:
    """The reporter as an outsider sees them: 张*, or zhang*@example.com when no name is known."""
    return mask_name(ticket.reporter_name) if ticket.reporter_name else mask_email(ticket.reporter)


def mask_for_ticket(desk: MaskingDesk, ticket: Ticket, text: str) -> str:
    """Free text about ``ticket`` masked, its reporter's name included even when the directory lacks it."""
    return desk.masker.text(text, (ticket.reporter_name,) if ticket.reporter_name else ())


def masked_ticket_context(desk: MaskingDesk, ticket: Ticket) -> dict[str, Any]:
    """``ticket_context`` for readers outside the conversation: subject and reporter masked."""
    context = ticket_context(desk, ticket)
    context["subject"] = mask_for_ticket(desk, ticket, ticket.subject)
    context["reporter_name"] = masked_reporter(ticket)
    return context


def ticket_context_for(desk: MaskingDesk, ticket: Ticket, to: Sequence[str]) -> dict[str, Any]:
    """The ticket as the recipients ``to`` may see it."""
    return ticket_context(desk, ticket) if in_conversation(ticket, to) else masked_ticket_context(desk, ticket)


def queue_supervisor_relay(
    session: Session, desk: MaskingDesk, ticket: Ticket, to: Sequence[str], *, author_name: str, body: str,
    now: datetime, kind: str, notice: str = "", dedup_key: str | None = None,
) -> OutboxMail | None:
    """Words about the ticket for someone outside its conversation (the ``relay`` template), masked.

    ``author_name`` and ``notice`` are written by the caller and go as they are; the subject,
    the reporter and ``body`` are masked unless every recipient is in the conversation.
    """
    inside = in_conversation(ticket, to)
    context = {
        "ticket": ticket_context(desk, ticket) if inside else masked_ticket_context(desk, ticket),
        "engineer_name": author_name, "body": body if inside else mask_for_ticket(desk, ticket, body),
        "notice": notice,
    }
    return send_on_ticket(
        session, desk, ticket, kind, to, context, now=now, lang=desk.settings.language, template="relay",
        dedup_key=dedup_key, auto_submitted=None, reply_to=desk.addresses.staff(ticket.number),
    )

"""The JSON shapes of the command line (a contract: fields may be added, never renamed)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from maildesk.store.models import Event, Message, OutboxMail, Ticket, TicketLink
from maildesk.store.models_requirements import Requirement
from maildesk.times import iso


def ticket_summary(ticket: Ticket, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket.type,
        "team": ticket.team,
        "assignee": ticket.assignee,
        "lead": ticket.lead,
        "reporter": ticket.reporter,
        "reporter_name": ticket.reporter_name,
        "reporter_department": ticket.reporter_department,
        "tags": list(ticket.tags or []),
        "flags": list(ticket.flags or []),
        "watchers": list(ticket.watchers or []),
        "created_at": iso(ticket.created_at, tz),
        "updated_at": iso(ticket.updated_at, tz),
        "first_response_at": iso(ticket.first_response_at, tz),
        "resolved_at": iso(ticket.resolved_at, tz),
        "closed_at": iso(ticket.closed_at, tz),
        "response_due": iso(ticket.response_due, tz),
        "resolve_due": iso(ticket.resolve_due, tz),
        "escalation_level": ticket.escalation_level,
        "reopen_count": ticket.reopen_count,
        "message_count": ticket.message_count,
        "channel": ticket.channel,
    }


def message_view(message: Message, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "direction": message.direction,
        "kind": message.kind,
        "message_id": message.message_id,
        "from": message.from_addr,
        "to": list(message.to_addrs or []),
        "cc": list(message.cc_addrs or []),
        "subject": message.subject,
        "text": message.text,
        "created_at": iso(message.created_at, tz),
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
        "rule_hits": list(message.rule_hits or []),
        "defects": list(message.defects or []),
    }


def event_view(event: Event, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "at": iso(event.at, tz),
        "actor": event.actor,
        "action": event.action,
        "from": event.from_value,
        "to": event.to_value,
        "note": event.note,
    }


def requirement_view(row: Requirement | None, tz: ZoneInfo) -> dict[str, Any] | None:
    """A requirement's evaluation (需求评估), None until it was evaluated (or for any other ticket)."""
    if row is None:
        return None
    return {"outcome": row.outcome, "rd_number": row.rd_number, "evaluated_by": row.evaluated_by,
            "evaluated_at": iso(row.evaluated_at, tz), "note": row.note}


def ticket_detail(session: Session, ticket: Ticket, tz: ZoneInfo) -> dict[str, Any]:
    messages = session.scalars(
        select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
        .options(selectinload(Message.attachments))
    ).all()
    events = session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id)).all()
    links = session.execute(
        select(TicketLink.kind, Ticket.number).join(Ticket, Ticket.id == TicketLink.other_id)
        .where(TicketLink.ticket_id == ticket.id).order_by(TicketLink.id)
    ).all()
    return {
        **ticket_summary(ticket, tz),
        "reporter_employee_id": ticket.reporter_employee_id,
        "reporter_extension": ticket.reporter_extension,
        "system": ticket.system,
        "impact": ticket.impact,
        "occurred": ticket.occurred,
        "occurred_at": iso(ticket.occurred_at, tz),
        "links": [{"kind": kind, "ticket": number} for kind, number in links],
        "requirement": requirement_view(
            session.scalars(select(Requirement).where(Requirement.ticket_id == ticket.id)).one_or_none(), tz),
        "messages": [message_view(m, tz) for m in messages],
        "events": [event_view(e, tz) for e in events],
    }


def outbox_view(mail: OutboxMail, number: str | None, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": mail.id,
        "ticket": number,
        "kind": mail.kind,
        "to": list(mail.to_addrs),
        "subject": mail.subject,
        "status": mail.status,
        "attempts": mail.attempts,
        "message_id": mail.message_id,
        "last_error": mail.last_error,
        "created_at": iso(mail.created_at, tz),
        "sent_at": iso(mail.sent_at, tz),
    }

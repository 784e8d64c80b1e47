"""Mails about a ticket: build the template context, render, and queue in the outbox.

One function a kind of mail; each takes the session and ``now`` and writes only
outbox rows (and their outgoing messages on the ticket) in the caller's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.config import Settings
from maildesk.outbound.outbox import Outgoing, queue_mail, thread_ids
from maildesk.outbound.templates import Templates
from maildesk.rules.directory import Directory
from maildesk.statuses import Status
from maildesk.store.models import Message, OutboxMail, Ticket
from maildesk.tokens import ReplyAddresses

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class Desk(Protocol):
    """What notifications need from the application (App satisfies it)."""

    settings: Settings

    @property
    def templates(self) -> Templates: ...

    @property
    def directory(self) -> Directory: ...

    @property
    def addresses(self) -> ReplyAddresses: ...


def language_of(text: str, default: str) -> str:
    """Answer in English to someone who wrote without a single Chinese character."""
    if default == "zh" and text.strip() and not _CJK.search(text):
        return "en"
    return default


def fmt_time(value: datetime | None, settings: Settings) -> str:
    return "" if value is None else f"{value.astimezone(settings.tz):%Y-%m-%d %H:%M}"


def person_name(desk: Desk, address: str | None) -> str:
    if not address:
        return ""
    person = desk.directory.get(address)
    return person.name if person and person.name else address


def ticket_context(desk: Desk, ticket: Ticket) -> dict[str, Any]:
    s = desk.settings
    priority = s.priorities.get(ticket.priority)
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "priority": ticket.priority,
        "priority_name": priority.name if priority else ticket.priority,
        "type_name": s.types.get(ticket.type, ticket.type),
        "status_name": Status(ticket.status).zh,
        "response_due": fmt_time(ticket.response_due, s),
        "resolve_due": fmt_time(ticket.resolve_due, s),
        "created_at": fmt_time(ticket.created_at, s),
        "reporter_name": ticket.reporter_name or ticket.reporter,
        "assignee_name": person_name(desk, ticket.assignee),
    }


def send_on_ticket(
    session: Session, desk: Desk, ticket: Ticket, kind: str, to: Sequence[str], context: Mapping[str, Any], *,
    now: datetime, lang: str | None = None, in_reply_to: str | None = None, references: Sequence[str] = (),
    dedup_key: str | None = None, auto_submitted: str | None = "auto-generated", cc: Sequence[str] = (),
    attachments: Sequence[tuple[str, str, bytes]] = (), reply_to: str | None = None,
    template: str | None = None,
) -> OutboxMail | None:
    """Render ``kind`` (or ``template``) for the ticket and queue it, threaded under the ticket's conversation."""
    rendered = desk.templates.render(template or kind, lang or ticket.language or desk.settings.language,
                                     {"ticket": ticket_context(desk, ticket), **context})
    if in_reply_to is None:
        in_reply_to, references = thread_ids(session, ticket)
    return queue_mail(session, desk.settings, Outgoing(
        kind=kind, to=list(to), cc=list(cc), subject=rendered.subject, text=rendered.text, html=rendered.html,
        in_reply_to=in_reply_to, references=list(references), dedup_key=dedup_key,
        auto_submitted=auto_submitted, attachments=list(attachments), reply_to=reply_to,
    ), now=now, ticket=ticket)


def queue_ack(
    session: Session, desk: Desk, ticket: Ticket, *, now: datetime, message_id: str,
    references: Sequence[str], kb_articles: Sequence[Mapping[str, Any]] = (),
) -> OutboxMail | None:
    """The acknowledgement to the reporter, as an auto-reply to their mail."""
    return send_on_ticket(
        session, desk, ticket, "ack", [ticket.reporter], {"kb_articles": list(kb_articles)}, now=now,
        in_reply_to=message_id, references=[*references, message_id], auto_submitted="auto-replied",
        reply_to=desk.addresses.reporter(ticket.number),
    )


def queue_assignment(
    session: Session, desk: Desk, ticket: Ticket, assignee: str, *, now: datetime, description: str,
    in_reply_to: str | None = None,
) -> OutboxMail | None:
    """Tell the assignee (by mail) that the ticket is theirs."""
    person = desk.directory.get(ticket.reporter)
    context = {
        "assignee_name": person_name(desk, assignee),
        "reporter": {
            "name": ticket.reporter_name, "address": ticket.reporter,
            "department": ticket.reporter_department or (person.department if person else ""),
            "employee_id": ticket.reporter_employee_id, "extension": ticket.reporter_extension,
        },
        "description": description.strip()[:1500],
    }
    return send_on_ticket(
        session, desk, ticket, "assignment", [assignee], context, now=now,
        lang=desk.settings.language, reply_to=desk.addresses.staff(ticket.number),
        in_reply_to=in_reply_to, references=[in_reply_to] if in_reply_to else (),
    )


def queue_reject(
    session: Session, desk: Desk, *, to: str, sender_name: str, subject: str, message_id: str, now: datetime,
    lang: str,
) -> OutboxMail | None:
    """The polite refusal to an unknown sender under the 'reject' policy (no ticket is made)."""
    rendered = desk.templates.render("reject", lang, {"sender_name": sender_name, "original_subject": subject})
    return queue_mail(session, desk.settings, Outgoing(
        kind="reject", to=[to], subject=rendered.subject, text=rendered.text, html=rendered.html,
        in_reply_to=message_id, references=[message_id], auto_submitted="auto-replied",
        dedup_key=f"reject:{message_id}",
    ), now=now)


def reporter_thread_ids(session: Session, ticket: Ticket) -> tuple[str | None, list[str]]:
    """In-Reply-To and References from the mails the reporter saw: staff mails' ids never reach them."""
    rows = session.execute(
        select(Message.message_id, Message.direction, Message.from_addr, Message.to_addrs)
        .where(Message.ticket_id == ticket.id).order_by(Message.id)
    ).all()
    who = ticket.reporter
    seen = [mid for mid, direction, sender, to in rows
            if (direction == "in" and sender == who) or (direction == "out" and who in (to or []))]
    return (seen[-1] if seen else None), list(dict.fromkeys(seen[:1] + seen[-1:]))


def public_recipients(desk: Desk, ticket: Ticket) -> tuple[list[str], list[str]]:
    """(to, cc) of a mail to the reporter: the reporter, and the watchers who are not staff."""
    cc = [w for w in ticket.watchers or [] if w != ticket.reporter and not desk.directory.is_staff(w)]
    return [ticket.reporter], cc


def queue_public(
    session: Session, desk: Desk, ticket: Ticket, kind: str, context: Mapping[str, Any], *, now: datetime,
    dedup_key: str | None = None, attachments: Sequence[tuple[str, str, bytes]] = (), template: str | None = None,
    auto_submitted: str | None = "auto-generated", with_watchers: bool = True,
) -> OutboxMail | None:
    """A mail to the reporter (and watchers), threaded on what they saw, answered at the ticket's address."""
    to, cc = public_recipients(desk, ticket)
    in_reply_to, references = reporter_thread_ids(session, ticket)
    return send_on_ticket(
        session, desk, ticket, kind, to, context, now=now, cc=cc if with_watchers else (), in_reply_to=in_reply_to,
        references=references, dedup_key=dedup_key, attachments=attachments, template=template,
        auto_submitted=auto_submitted, reply_to=desk.addresses.reporter(ticket.number),
    )


def queue_staff_relay(
    session: Session, desk: Desk, ticket: Ticket, to: Sequence[str], *, author_name: str, body: str, now: datetime,
    notice: str = "", kind: str = "relay", attachments: Sequence[tuple[str, str, bytes]] = (),
    dedup_key: str | None = None,
) -> OutboxMail | None:
    """Words for staff (the reporter's reply, a reopening, a review request), answered at the staff address."""
    context = {"engineer_name": author_name, "body": body, "notice": notice}
    return send_on_ticket(
        session, desk, ticket, kind, to, context, now=now, lang=desk.settings.language, template="relay",
        attachments=attachments, dedup_key=dedup_key, auto_submitted=None,
        reply_to=desk.addresses.staff(ticket.number),
    )


def queue_command_error(
    session: Session, desk: Desk, ticket: Ticket, to: str, *, errors: Sequence[tuple[str, str]],
    applied: Sequence[str], now: datetime, message_id: str, references: Sequence[str],
    ticket_view: Mapping[str, Any] | None = None,
) -> OutboxMail | None:
    """Tell a staff member which command lines of their mail were not applied, and why.

    ``ticket_view`` replaces the ticket's context, e.g. masked for a sender outside its conversation.
    """
    context = {"staff_name": person_name(desk, to), "errors": [{"line": ln, "reason": r} for ln, r in errors],
               "applied": list(applied), **({"ticket": ticket_view} if ticket_view is not None else {})}
    return send_on_ticket(
        session, desk, ticket, "command_error", [to], context, now=now, lang=desk.settings.language,
        in_reply_to=message_id, references=[*references, message_id], auto_submitted="auto-replied",
        dedup_key=f"command_error:{message_id}", reply_to=desk.addresses.staff(ticket.number),
    )


def working_days_text(days: int, lang: str) -> str:
    return f"{days} 个工作日" if lang == "zh" else f"{days} working day{'s' if days != 1 else ''}"


def queue_confirm(
    session: Session, desk: Desk, ticket: Ticket, *, engineer: str, resolution: str, now: datetime,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> OutboxMail | None:
    """Ask the reporter to confirm the solution: solved / still a problem / needs improvement."""
    lang = ticket.language or desk.settings.language
    context = {"reporter_name": ticket.reporter_name, "engineer_name": person_name(desk, engineer),
               "resolution": resolution,
               "auto_close_after": working_days_text(desk.settings.sla.confirm_close_days, lang)}
    stamp = f"{(ticket.resolved_at or now).timestamp():.0f}"
    return queue_public(session, desk, ticket, "confirm", context, now=now, attachments=attachments,
                        dedup_key=f"confirm:{ticket.number}:{stamp}", with_watchers=False)


def queue_closed(
    session: Session, desk: Desk, ticket: Ticket, *, reason: str, resolution: str | None, now: datetime,
    attachments: Sequence[tuple[str, str, bytes]] = (), kb_article: Mapping[str, Any] | None = None,
) -> OutboxMail | None:
    """Tell the reporter (and watchers) the ticket is closed, and why."""
    context = {"reporter_name": ticket.reporter_name, "close_reason": reason, "resolution": resolution or None,
               "kb_article": kb_article}
    stamp = f"{(ticket.closed_at or now).timestamp():.0f}"
    return queue_public(session, desk, ticket, "closed", context, now=now, attachments=attachments,
                        dedup_key=f"closed:{ticket.number}:{stamp}")


def queue_survey(session: Session, desk: Desk, ticket: Ticket, *, now: datetime) -> OutboxMail | None:
    """The satisfaction survey, once per ticket, to the reporter only."""
    return queue_public(session, desk, ticket, "survey", {"reporter_name": ticket.reporter_name}, now=now,
                        dedup_key=f"survey:{ticket.number}", with_watchers=False)

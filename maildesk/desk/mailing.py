"""Mails about a ticket: the ticket as its readers may see it, who they are, and how a mail is threaded.

The people in a ticket's conversation (its reporter, the watchers, the assignee and the lead
牵头人) see its real subject and reporter; anyone else (a supervisor reached by an escalation, a
review request or ``#escalate``) sees them masked by ``maildesk.masking``, with every name the desk
knows, and the words relayed to them too. Mails to staff are written in the desk's language and
answered at the staff reply address; mails to the reporter in the ticket's language, answered at
the reporter's reply address, threaded on what the reporter saw. Each function writes outbox rows
(and the outgoing messages of the ticket) in the context's transaction and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from maildesk.config import Settings
from maildesk.desk.context import Context
from maildesk.masking import mask_email, mask_name
from maildesk.outbound.outbox import Outgoing, QueuedMail, queue_mail, thread_ids
from maildesk.store.models import Message, Ticket
from maildesk.words import priority_name, status_name, type_name

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
Files = Sequence[tuple[str, str, bytes]]


def language_of(text: str, default: str) -> str:
    """The language to answer a person in: Chinese to someone who wrote Chinese, English to someone who wrote
    without a single Chinese character, the desk's own when they wrote nothing."""
    if not text.strip():
        return default
    return "zh" if _CJK.search(text) else "en"


def fmt_time(value: datetime | None, settings: Settings) -> str:
    return "" if value is None else f"{value.astimezone(settings.tz):%Y-%m-%d %H:%M}"


def ticket_context(ctx: Context, ticket: Ticket, lang: str) -> dict[str, Any]:
    """The ticket as templates show it, its names in ``lang``."""
    s = ctx.settings
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "priority": ticket.priority,
        "priority_name": priority_name(s, ticket.priority, lang),
        "type_name": type_name(s, ticket.type, lang),
        "status_name": status_name(ticket.status, lang),
        "response_due": fmt_time(ticket.response_due, s),
        "resolve_due": fmt_time(ticket.resolve_due, s),
        # a requirement's (需求) resolution target is its evaluation: the templates say so
        "evaluate_due": fmt_time(ticket.resolve_due, s) if ctx.desk.is_requirement(ticket.type) else "",
        "created_at": fmt_time(ticket.created_at, s),
        "reporter_name": ticket.reporter_name or ticket.reporter,
        "assignee_name": ctx.person_name(ticket.assignee),
    }


def in_conversation(ticket: Ticket, to: Iterable[str]) -> bool:
    """Whether every one of ``to`` is the reporter, a watcher, the assignee or the lead of ``ticket``."""
    inside = {a.lower() for a in (ticket.reporter, ticket.assignee, ticket.lead, *(ticket.watchers or [])) if a}
    return all(address.lower() in inside for address in to)


def masked_reporter(ticket: Ticket) -> str:
    """The reporter as an outsider sees them: 张*, or zhang*@example.com when no name is known."""
    return mask_name(ticket.reporter_name) if ticket.reporter_name else mask_email(ticket.reporter)


def mask_for_ticket(ctx: Context, ticket: Ticket, text: str) -> str:
    """Free text about ``ticket`` masked, its reporter's name included even when the directory lacks it."""
    return ctx.masker.text(text, (ticket.reporter_name,) if ticket.reporter_name else ())


def form_context(ctx: Context, ticket: Ticket, to: Sequence[str]) -> dict[str, str]:
    """The intake form (登记表) as the recipients ``to`` may see it: masked for anyone outside the conversation;
    the time of occurrence as written, with the moment read from it where it differs."""
    occurred = ticket.occurred or ""
    moment = fmt_time(ticket.occurred_at, ctx.settings)
    if moment and moment != occurred:
        occurred = f"{occurred} ({moment})" if occurred else moment
    form = {"system": ticket.system or "", "impact": ticket.impact or "", "occurred": occurred}
    if not in_conversation(ticket, to):
        form = {key: mask_for_ticket(ctx, ticket, value) for key, value in form.items()}
    return form


def ticket_context_for(ctx: Context, ticket: Ticket, to: Sequence[str], lang: str) -> dict[str, Any]:
    """The ticket as the recipients ``to`` may see it: masked for anyone outside its conversation."""
    context = ticket_context(ctx, ticket, lang)
    if not in_conversation(ticket, to):
        context["subject"] = mask_for_ticket(ctx, ticket, ticket.subject)
        context["reporter_name"] = masked_reporter(ticket)
    return context


Thread = tuple[str | None, Sequence[str]]  # (In-Reply-To, References)


def mail_on_ticket(
    ctx: Context, ticket: Ticket, kind: str, to: Sequence[str], context: Mapping[str, Any], *, thread: Thread,
    lang: str | None = None, dedup_key: str | None = None, auto_submitted: str | None = "auto-generated",
    cc: Sequence[str] = (), attachments: Files = (), reply_to: str | None = None, template: str | None = None,
) -> Outgoing:
    """``kind`` (or ``template``) rendered for the ticket as a mail threaded on ``thread``; nothing is written."""
    lang = lang or ticket.language or ctx.lang
    rendered = ctx.templates.render(template or kind, lang, {"ticket": ticket_context(ctx, ticket, lang), **context})
    in_reply_to, references = thread
    return Outgoing(
        kind=kind, to=list(to), cc=list(cc), subject=rendered.subject, text=rendered.text, html=rendered.html,
        in_reply_to=in_reply_to, references=list(references), dedup_key=dedup_key,
        auto_submitted=auto_submitted, attachments=list(attachments), reply_to=reply_to,
    )


def send_on_ticket(
    ctx: Context, ticket: Ticket, kind: str, to: Sequence[str], context: Mapping[str, Any], *,
    lang: str | None = None, in_reply_to: str | None = None, references: Sequence[str] = (),
    dedup_key: str | None = None, auto_submitted: str | None = "auto-generated", cc: Sequence[str] = (),
    attachments: Files = (), reply_to: str | None = None, template: str | None = None, threaded: bool = True,
) -> QueuedMail | None:
    """Render ``kind`` (or ``template``) for the ticket and queue it, threaded under the ticket's conversation
    unless ``in_reply_to`` says otherwise (or ``threaded`` is False: the caller chose the thread, maybe none)."""
    thread: Thread = (in_reply_to, references)
    if in_reply_to is None and threaded:
        thread = thread_ids(ctx.session, ticket)
    mail = mail_on_ticket(ctx, ticket, kind, to, context, thread=thread, lang=lang, dedup_key=dedup_key,
                          auto_submitted=auto_submitted, cc=cc, attachments=attachments, reply_to=reply_to,
                          template=template)
    return queue_mail(ctx.session, ctx.settings, mail, now=ctx.now, ticket=ticket)


def to_staff(
    ctx: Context, ticket: Ticket, kind: str, to: Sequence[str], context: Mapping[str, Any], *,
    dedup_key: str | None = None, template: str | None = None, attachments: Files = (),
    auto_submitted: str | None = "auto-generated", in_reply_to: str | None = None, references: Sequence[str] = (),
) -> QueuedMail | None:
    """A mail to staff about ``ticket``: in the desk's language, masked for readers outside the conversation,
    answered at the staff reply address."""
    thread: Thread = (in_reply_to, references) if in_reply_to is not None else thread_ids(ctx.session, ticket)
    mail = staff_mail(ctx, ticket, kind, to, context, thread=thread, dedup_key=dedup_key, template=template,
                      attachments=attachments, auto_submitted=auto_submitted)
    return queue_mail(ctx.session, ctx.settings, mail, now=ctx.now, ticket=ticket)


def staff_mail(
    ctx: Context, ticket: Ticket, kind: str, to: Sequence[str], context: Mapping[str, Any], *, thread: Thread,
    dedup_key: str | None = None, template: str | None = None, attachments: Files = (),
    auto_submitted: str | None = "auto-generated",
) -> Outgoing:
    """A mail to staff about ``ticket`` as ``to_staff`` makes it, threaded on ``thread``; nothing is written."""
    view = {"ticket": ticket_context_for(ctx, ticket, to, ctx.lang), **context}
    return mail_on_ticket(ctx, ticket, kind, to, view, thread=thread, lang=ctx.lang, dedup_key=dedup_key,
                          template=template, attachments=attachments, auto_submitted=auto_submitted,
                          reply_to=ctx.addresses.staff(ticket.number))


# built once (a sweep runs it once a mail to a reporter)
_THREAD = (
    select(Message.message_id, Message.direction, Message.from_addr, Message.to_addrs)
    .where(Message.ticket_id == bindparam("ticket_id")).order_by(Message.id)
)


def reporter_thread_ids(ctx: Context, ticket: Ticket) -> tuple[str | None, list[str]]:
    """In-Reply-To and References from the mails the reporter saw: staff mails' ids never reach them."""
    return seen_by_reporter(ctx.session.execute(_THREAD, {"ticket_id": ticket.id}).all(), ticket.reporter)


def seen_by_reporter(rows: Iterable[Sequence[Any]], reporter: str) -> tuple[str | None, list[str]]:
    """In-Reply-To and References from a ticket's messages in order, each (message_id, direction, from_addr,
    to_addrs): the first and the latest the reporter wrote or was sent."""
    seen = [mid for mid, direction, sender, to in rows
            if (direction == "in" and sender == reporter) or (direction == "out" and reporter in (to or []))]
    return (seen[-1] if seen else None), list(dict.fromkeys(seen[:1] + seen[-1:]))


def public_recipients(ctx: Context, ticket: Ticket) -> tuple[list[str], list[str]]:
    """(to, cc) of a mail to the reporter: the reporter, and the watchers who are not staff."""
    cc = [w for w in ticket.watchers or [] if w != ticket.reporter and not ctx.directory.is_staff(w)]
    return [ticket.reporter], cc


def to_reporter(
    ctx: Context, ticket: Ticket, kind: str, context: Mapping[str, Any], *, dedup_key: str | None = None,
    attachments: Files = (), template: str | None = None, auto_submitted: str | None = "auto-generated",
    with_watchers: bool = True,
) -> QueuedMail | None:
    """A mail to the reporter (and watchers), threaded on what they saw, answered at the ticket's address."""
    thread = reporter_thread_ids(ctx, ticket)
    mail = reporter_mail(ctx, ticket, kind, context, thread=thread, dedup_key=dedup_key, attachments=attachments,
                         template=template, auto_submitted=auto_submitted, with_watchers=with_watchers)
    return queue_mail(ctx.session, ctx.settings, mail, now=ctx.now, ticket=ticket)


def reporter_mail(
    ctx: Context, ticket: Ticket, kind: str, context: Mapping[str, Any], *, thread: Thread,
    dedup_key: str | None = None, attachments: Files = (), template: str | None = None,
    auto_submitted: str | None = "auto-generated", with_watchers: bool = True,
) -> Outgoing:
    """A mail to the reporter as ``to_reporter`` makes it, ``thread`` being what the reporter saw (only that: a
    ticket whose first mail was a staff member's, recorded for the reporter and split off by staff, starts a
    thread of its own rather than answer a mail the reporter never had); nothing is written."""
    to, cc = public_recipients(ctx, ticket)
    return mail_on_ticket(
        ctx, ticket, kind, to, context, thread=thread, cc=cc if with_watchers else (), dedup_key=dedup_key,
        attachments=attachments, template=template, auto_submitted=auto_submitted,
        reply_to=ctx.addresses.reporter(ticket.number),
    )


def relay_to_staff(
    ctx: Context, ticket: Ticket, to: Sequence[str], *, author_name: str, body: str, notice: str = "",
    kind: str = "relay", attachments: Files = (), dedup_key: str | None = None,
) -> QueuedMail | None:
    """Words for staff (the reporter's reply, a reopening, an escalation, a review request).

    ``author_name`` and ``notice`` go as the caller wrote them; the subject, the reporter and
    ``body`` are masked unless every recipient is in the ticket's conversation.
    """
    shown = body if in_conversation(ticket, to) else mask_for_ticket(ctx, ticket, body)
    context = {"engineer_name": author_name, "body": shown, "notice": notice}
    return to_staff(ctx, ticket, kind, to, context, template="relay", attachments=attachments,
                    dedup_key=dedup_key, auto_submitted=None)

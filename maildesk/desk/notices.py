"""The notices a mail or a command sets off: one function a kind, each deciding its readers and words.

The acknowledgement and the polite refusal answer a person's mail; the assignment tells an
engineer a ticket is theirs, and the engineer hears what the reporter's side writes; the
command error tells a staff member which lines were not applied; confirm, closed and survey
are the end of the loop with the reporter. The sweep's
notices (reminders, escalations, progress, digests) live with their phases in ``maildesk/sweep``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from maildesk.desk.acks import ack_queued
from maildesk.desk.briefing import briefing
from maildesk.desk.context import Context
from maildesk.desk.mailing import Files, form_context, relay_to_staff, send_on_ticket, to_reporter, to_staff
from maildesk.desk.messages import attachments_of
from maildesk.mail import InboundMail
from maildesk.outbound.outbox import Outgoing, QueuedMail, queue_mail
from maildesk.store.models import Ticket
from maildesk.words import working_days

DESCRIPTION_CHARS = 1500  # of the reporter's words in the assignment mail


def queue_ack(
    ctx: Context, ticket: Ticket, *, message_id: str | None, references: Sequence[str],
    kb_articles: Sequence[Mapping[str, Any]] = (),
) -> QueuedMail | None:
    """The acknowledgement to the reporter, as an auto-reply to their mail (``message_id``); without one (a
    ticket staff recorded for them), a mail of its own that starts the ticket's thread."""
    if message_id is None:
        row = send_on_ticket(ctx, ticket, "ack", [ticket.reporter], {"kb_articles": list(kb_articles)},
                             threaded=False, reply_to=ctx.addresses.reporter(ticket.number))
    else:
        row = send_on_ticket(
            ctx, ticket, "ack", [ticket.reporter], {"kb_articles": list(kb_articles)},
            in_reply_to=message_id, references=[*references, message_id], auto_submitted="auto-replied",
            reply_to=ctx.addresses.reporter(ticket.number),
        )
    if row is not None:
        ack_queued(ctx, ticket.reporter)  # the hourly limit's count, kept for the rest of the transaction
    return row


def queue_assignment(
    ctx: Context, ticket: Ticket, assignee: str, *, description: str, in_reply_to: str | None = None,
    notice: str = "", history: bool = False, first_mail: InboundMail | None = None,
) -> QueuedMail | None:
    """Tell the assignee (by mail) that the ticket is theirs; ``notice`` says above it why it came to them.

    The reporter's attachments come along (within ``intake.brief_attachment_bytes``, the rest named);
    ``history``: a reassignment or a hand-off, so the ticket's history so far comes along too; ``first_mail``:
    the new ticket's only mail, from its reporter, whose attachments are read from it rather than the store."""
    brief = briefing(ctx, ticket, with_history=history, first_mail=first_mail)
    person = ctx.directory.get(ticket.reporter)
    context = {
        "assignee_name": ctx.person_name(assignee),
        "reporter": {
            "name": ticket.reporter_name, "address": ticket.reporter,
            "department": ticket.reporter_department or (person.department if person else ""),
            "employee_id": ticket.reporter_employee_id, "extension": ticket.reporter_extension,
        },
        "description": description.strip()[:DESCRIPTION_CHARS],
        "notice": notice,
        "form": form_context(ctx, ticket, [assignee]),
        "briefing": brief.context(),
    }
    return to_staff(ctx, ticket, "assignment", [assignee], context, in_reply_to=in_reply_to,
                    references=[in_reply_to] if in_reply_to else (), attachments=brief.attached)


def queue_reassignment(
    ctx: Context, ticket: Ticket, *, new: str, previous: str | None, actor: str, description: str,
    notice: str = "",
) -> None:
    """A ticket moved from ``previous`` to ``new``: the new assignee gets the assignment mail with the history, and
    the previous one (unless it was their own doing) hears to whom it went."""
    who = ctx.person_name(actor) or actor
    if not notice and previous:
        notice = ctx.say("briefing.reassigned", who=who, previous=ctx.person_name(previous))
    queue_assignment(ctx, ticket, new, description=description, notice=notice, history=True)
    if previous and previous not in (new, actor):
        tell_previous(ctx, ticket, previous=previous, new=new, actor=actor)


def tell_previous(ctx: Context, ticket: Ticket, *, previous: str, new: str, actor: str, body: str = "",
                  notice: str = "") -> QueuedMail | None:
    """The previous assignee hears that the ticket went to ``new`` (and, with ``body``, why)."""
    who = ctx.person_name(actor) or actor
    told = notice or ctx.say("briefing.reassigned_away", who=who, to=ctx.person_name(new))
    return relay_to_staff(ctx, ticket, [previous], author_name=who, notice=told, body=body,
                          dedup_key=f"reassigned:{ticket.number}:{previous}:{new}:{ctx.now.timestamp():.0f}")


def queue_reject(
    ctx: Context, *, to: str, sender_name: str, subject: str, message_id: str, lang: str,
) -> QueuedMail | None:
    """The polite refusal to an unknown sender under the 'reject' policy (no ticket is made)."""
    rendered = ctx.templates.render("reject", lang, {"sender_name": sender_name, "original_subject": subject})
    return queue_mail(ctx.session, ctx.settings, Outgoing(
        kind="reject", to=[to], subject=rendered.subject, text=rendered.text, html=rendered.html,
        in_reply_to=message_id, references=[message_id], auto_submitted="auto-replied",
        dedup_key=f"reject:{message_id}",
    ), now=ctx.now)


def queue_command_error(
    ctx: Context, ticket: Ticket, to: str, *, errors: Sequence[tuple[str, str]], applied: Sequence[str],
    message_id: str, references: Sequence[str],
) -> QueuedMail | None:
    """Tell a staff member which command lines of their mail were not applied, and why.

    Someone outside the ticket's conversation (a supervisor answering an escalation, or a forger
    using a staff member's name) sees the ticket masked.
    """
    context = {"staff_name": ctx.person_name(to), "errors": [{"line": ln, "reason": r} for ln, r in errors],
               "applied": list(applied)}
    return to_staff(ctx, ticket, "command_error", [to], context, in_reply_to=message_id,
                    references=[*references, message_id], auto_submitted="auto-replied",
                    dedup_key=f"command_error:{message_id}")


def queue_form_error(
    ctx: Context, to: str, *, errors: Sequence[tuple[str, str]], message_id: str, references: Sequence[str],
) -> QueuedMail | None:
    """Tell a staff member why their mail opened no ticket for a reporter (it names no ticket of its own)."""
    rendered = ctx.templates.render("command_error", ctx.lang, {
        "staff_name": ctx.person_name(to), "ticket": None, "applied": [],
        "errors": [{"line": line, "reason": reason} for line, reason in errors],
    })
    return queue_mail(ctx.session, ctx.settings, Outgoing(
        kind="command_error", to=[to], subject=rendered.subject, text=rendered.text, html=rendered.html,
        in_reply_to=message_id, references=[*references, message_id], auto_submitted="auto-replied",
        dedup_key=f"command_error:{message_id}",
    ), now=ctx.now)


def queue_confirm(
    ctx: Context, ticket: Ticket, *, engineer: str, resolution: str, attachments: Files = (),
    kb_article: Mapping[str, Any] | None = None,
) -> QueuedMail | None:
    """Ask the reporter to confirm the solution: solved / still a problem / needs improvement."""
    lang = ticket.language or ctx.lang
    context = {"reporter_name": ticket.reporter_name, "engineer_name": ctx.person_name(engineer),
               "resolution": resolution, "auto_close_after": working_days(ctx.settings.sla.confirm_close_days, lang),
               "kb_article": kb_article}
    stamp = f"{(ticket.resolved_at or ctx.now).timestamp():.0f}"
    return to_reporter(ctx, ticket, "confirm", context, attachments=attachments,
                       dedup_key=f"confirm:{ticket.number}:{stamp}", with_watchers=False)


def queue_closed(
    ctx: Context, ticket: Ticket, *, reason: str, resolution: str | None, attachments: Files = (),
    kb_article: Mapping[str, Any] | None = None,
) -> QueuedMail | None:
    """Tell the reporter (and watchers) the ticket is closed, and why."""
    context = {"reporter_name": ticket.reporter_name, "close_reason": reason, "resolution": resolution or None,
               "kb_article": kb_article}
    stamp = f"{(ticket.closed_at or ctx.now).timestamp():.0f}"
    return to_reporter(ctx, ticket, "closed", context, attachments=attachments,
                       dedup_key=f"closed:{ticket.number}:{stamp}")


def queue_kb_article(
    ctx: Context, ticket: Ticket, to: str, *, requested: int, article: Mapping[str, Any] | None, message_id: str,
    references: Sequence[str],
) -> QueuedMail | None:
    """A knowledge-base article a reporter or watcher asked for (``#kb 12``), mailed to them alone in answer;
    ``article`` None: it was not offered on this ticket, and the mail says so."""
    person = ctx.directory.get(to)
    reader = ticket.reporter_name if to == ticket.reporter else (person.name if person else "")
    return send_on_ticket(
        ctx, ticket, "kb_article", [to], {"reader_name": reader, "requested": requested, "article": article},
        in_reply_to=message_id, references=[*references, message_id], auto_submitted="auto-replied",
        reply_to=ctx.addresses.reporter(ticket.number), dedup_key=f"kb:{ticket.number}:{requested}:{message_id}",
    )


def queue_survey(ctx: Context, ticket: Ticket) -> QueuedMail | None:
    """The satisfaction survey, once per ticket, to the reporter only; never for a requirement (需求), whose
    requester was told the evaluation: the survey's questions are about a fault being solved."""
    if ctx.desk.is_requirement(ticket.type):
        return None
    return to_reporter(ctx, ticket, "survey", {"reporter_name": ticket.reporter_name},
                       dedup_key=f"survey:{ticket.number}", with_watchers=False)


def tell_engineer(ctx: Context, ticket: Ticket, mail: InboundMail, text: str, *, notice: str) -> None:
    """What the reporter's side wrote (``text`` of ``mail``) reaches the assignee, or the lead, who answers by
    replying; ``notice`` says above it what the mail changed."""
    engineer = ticket.assignee or ticket.lead
    if engineer:
        sender = mail.sender
        author = ticket.reporter_name if sender == ticket.reporter else ctx.person_name(sender)
        relay_to_staff(ctx, ticket, [engineer], author_name=author or sender, body=text, notice=notice,
                       attachments=attachments_of(mail))

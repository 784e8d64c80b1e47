"""``#split`` / ``#拆分`` from staff: the reporter's latest words become a ticket of their own, linked.

A new problem often turns up in a reply ("打印好了，另外我的邮箱也登不上"). The
engineer splits it off: the new ticket has the same reporter, classification and
assignee, the reporter's latest mail as its description, and the reporter gets an
acknowledgement with the new number.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from maildesk.commands.context import CommandContext
from maildesk.outbound.compose import make_message_id, strip_subject
from maildesk.outbound.notify import queue_ack, queue_assignment
from maildesk.sla_state import refresh_deadlines
from maildesk.store.models import Message, Ticket
from maildesk.tickets import NewTicket, create_ticket, link_tickets, record


def latest_reporter_text(ctx: CommandContext) -> str:
    ticket = ctx.ticket
    return ctx.session.scalar(
        select(Message.text).where(Message.ticket_id == ticket.id, Message.direction == "in",
                                   Message.from_addr == ticket.reporter).order_by(Message.id.desc()).limit(1)
    ) or ""


def split_ticket(ctx: CommandContext, subject: str, description: str) -> Ticket:
    """A new ticket for the same reporter, linked to this one as split from it."""
    old = ctx.ticket
    settings = ctx.app.settings
    new = create_ticket(ctx.session, NewTicket(
        subject=subject, reporter=old.reporter, priority=old.priority, type=old.type, team=old.team,
        assignee=old.assignee, reporter_name=old.reporter_name, reporter_department=old.reporter_department,
        reporter_employee_id=old.reporter_employee_id, reporter_extension=old.reporter_extension,
        channel=old.channel, language=old.language, watchers=tuple(old.watchers or ()),
    ), prefix=settings.ticket_prefix, tz=settings.tz, now=ctx.now, actor=ctx.actor)
    # the description as the new ticket's first message, so its history reads like any other ticket's
    first_id = make_message_id(settings.mail_domain, f"split.{uuid.uuid4().hex}")
    ctx.session.add(Message(
        ticket_id=new.id, direction="in", kind="split", message_id=first_id, from_addr=old.reporter,
        from_name=old.reporter_name, to_addrs=[settings.support_address], cc_addrs=[], subject=subject,
        text=description, raw=None, defects=[], rule_hits=[], created_at=ctx.now,
    ))
    new.message_count = 1
    refresh_deadlines(new, ctx.app.targets, ctx.app.calendar, ctx.now)
    link_tickets(ctx.session, new, old, "split", actor=ctx.actor, now=ctx.now)
    record(ctx.session, old, actor=ctx.actor, action="split", now=ctx.now, new=new.number)
    queue_ack(ctx.session, ctx.app, new, now=ctx.now, message_id=first_id, references=[])
    if new.assignee and new.assignee != ctx.actor:
        queue_assignment(ctx.session, ctx.app, new, new.assignee, now=ctx.now, description=description)
    ctx.created.append(new.number)
    return new


def do_split(ctx: CommandContext, arg: str) -> None:
    description = latest_reporter_text(ctx)
    if not description.strip():
        ctx.fail("没有反馈人的邮件可以拆分", "no mail of the reporter to split off")
    first_line = next((ln.strip() for ln in description.splitlines() if ln.strip()), "")
    subject = arg.strip() or first_line[:60] or strip_subject(ctx.ticket.subject, ctx.ticket.number)
    split_ticket(ctx, subject, description)

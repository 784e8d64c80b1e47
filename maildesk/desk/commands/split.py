"""``#split`` / ``#拆分`` from staff: the rest of the mail becomes a ticket of its own, linked.

A new problem often turns up in a conversation ("打印好了，另外我的邮箱也登不上"). The
engineer splits it off with a reply whose words below the commands describe it: the new
ticket has the same reporter, classification and assignee, those words as its description
(the command's argument, else their first line, as its subject), and the reporter gets an
acknowledgement with the new number. The words stay off this ticket's conversation: they
are the new problem's, not an answer here (``steps/staff_reply``).
"""

from __future__ import annotations

import uuid

from maildesk.desk.commands.context import CommandContext
from maildesk.desk.notices import queue_ack, queue_assignment
from maildesk.desk.tickets import NewTicket, create_ticket, link_tickets, record
from maildesk.outbound.compose import make_message_id
from maildesk.outbound.subjects import strip_subject
from maildesk.store.models import Message, Ticket


def split_ticket(cmd: CommandContext, subject: str, description: str) -> Ticket:
    """A new ticket for the same reporter, linked to this one as split from it."""
    ctx, old = cmd.ctx, cmd.ticket
    settings = ctx.settings
    new = create_ticket(ctx, NewTicket(
        subject=subject, reporter=old.reporter, priority=old.priority, type=old.type, team=old.team,
        assignee=old.assignee, reporter_name=old.reporter_name, reporter_department=old.reporter_department,
        reporter_employee_id=old.reporter_employee_id, reporter_extension=old.reporter_extension,
        channel=old.channel, language=old.language, watchers=tuple(old.watchers or ()),
    ), actor=cmd.actor)
    # the description as the new ticket's first message, so its history reads like any other ticket's; it is
    # the engineer's words, and says so (mails to the reporter never thread on it)
    first_id = make_message_id(settings.mail_domain, f"split.{uuid.uuid4().hex}")
    ctx.session.add(Message(
        ticket_id=new.id, direction="in", kind="split", message_id=first_id, from_addr=cmd.actor,
        from_name=ctx.person_name(cmd.actor), to_addrs=[settings.support_address], cc_addrs=[], subject=subject,
        text=description, raw=None, defects=[], rule_hits=[], created_at=ctx.now,
    ))
    new.message_count = 1
    link_tickets(ctx, new, old, "split", actor=cmd.actor)
    record(ctx, old, actor=cmd.actor, action="split", new=new.number)
    queue_ack(ctx, new, message_id=None, references=[])
    if new.assignee and new.assignee != cmd.actor:
        queue_assignment(ctx, new, new.assignee, description=description)
    cmd.created.append(new.number)
    return new


def do_split(cmd: CommandContext, arg: str) -> None:
    description = cmd.rest
    if not description.strip():
        cmd.fail("command.split.nothing")
    first_line = next((ln.strip() for ln in description.splitlines() if ln.strip()), "")
    subject = arg.strip() or first_line[:60] or strip_subject(cmd.ticket.subject, cmd.ticket.number)
    split_ticket(cmd, subject, description)

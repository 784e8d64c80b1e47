"""One function per command: check the argument, change the ticket, queue the mails it implies.

Each raises CommandFailed with the reason the engineer will read; the caller runs it
inside a savepoint, so a failure leaves nothing behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select

from maildesk.desk.assignment import assign_person
from maildesk.desk.commands.context import CommandContext
from maildesk.desk.commands.recheck import reviewed_by_change
from maildesk.desk.notices import queue_closed, queue_confirm, queue_reassignment, queue_survey, tell_previous
from maildesk.desk.tickets import add_note, add_tags, change_status, link_tickets, record, set_field
from maildesk.desk.triage import tell_priority_change
from maildesk.errors import NotFoundError, TransitionError
from maildesk.kb.articles import create_article_from_ticket, get_article, link_ticket
from maildesk.outbound.subjects import ticket_tag_pattern
from maildesk.people.directory import Person
from maildesk.statuses import Status, allowed_moves
from maildesk.store.models import Ticket
from maildesk.store.models_kb import KbArticle, KbArticleTicket
from maildesk.words import parse_status, status_name, type_name

Handler = Callable[[CommandContext, str], None]

_WAITING = {"user": Status.WAITING_USER, "reporter": Status.WAITING_USER, "用户": Status.WAITING_USER,
            "反馈人": Status.WAITING_USER, "team": Status.WAITING_TEAM, "团队": Status.WAITING_TEAM,
            "协同": Status.WAITING_TEAM, "其他团队": Status.WAITING_TEAM}
_ME = frozenset({"me", "myself", "self", "我", "自己"})


def _names(cmd: CommandContext, statuses: list[str]) -> str:
    return cmd.say("command.list_separator").join(status_name(s, cmd.ctx.lang) for s in statuses)


def linked_article(cmd: CommandContext) -> dict[str, object] | None:
    """The KB article linked to the ticket (for the closing mail), or None."""
    article = cmd.session.scalar(
        select(KbArticle).join(KbArticleTicket, KbArticleTicket.article_id == KbArticle.id)
        .where(KbArticleTicket.ticket_id == cmd.ticket.id).order_by(KbArticleTicket.id.desc()).limit(1)
    )
    return {"id": article.id, "title": article.title} if article is not None else None


def move(cmd: CommandContext, target: Status, *, reason: str = "", note: str = "", survey: bool = True,
         resolution: str = "") -> None:
    """Change the status; resolving asks the reporter to confirm, closing tells them and sends the survey;
    ``resolution`` stands in for the reply's text when it has none."""
    ticket, ctx = cmd.ticket, cmd.ctx
    current = Status(ticket.status)
    if current == target:
        return
    if not note and target in (Status.RESOLVED, Status.CLOSED):
        note = cmd.body or resolution  # the resolution, where the confirmation reminder looks for it
    try:
        change_status(ctx, ticket, target, actor=cmd.actor, note=note)
    except TransitionError:
        cmd.fail("command.status.move", current=status_name(current, ctx.lang), target=status_name(target, ctx.lang),
                 allowed=_names(cmd, allowed_moves(current)))
    if target == Status.RESOLVED:
        queue_confirm(ctx, ticket, engineer=cmd.actor, attachments=cmd.attachments,
                      resolution=cmd.body or resolution or cmd.last_progress() or "—", kb_article=linked_article(cmd))
        cmd.body_sent = True
    elif target == Status.CLOSED:
        default = ctx.say("command.status.closed_by_engineer", ticket.language or ctx.lang)
        queue_closed(ctx, ticket, reason=reason or default, resolution=cmd.body or None, attachments=cmd.attachments,
                     kb_article=linked_article(cmd))
        if survey:
            queue_survey(ctx, ticket)
        cmd.body_sent = True


def do_status(cmd: CommandContext, arg: str) -> None:
    if not arg:
        cmd.fail("command.status.missing")
    target = parse_status(arg)
    if target is None:
        cmd.fail("command.status.unknown", arg=arg, choices=_names(cmd, [s.value for s in Status]))
    if target == Status.RESOLVED and cmd.ctx.desk.is_requirement(cmd.ticket.type):
        cmd.fail("command.evaluate.not_resolved")  # a requirement is evaluated; its requester is never asked
    move(cmd, target)


def do_waiting(cmd: CommandContext, arg: str) -> None:
    target = _WAITING.get(arg.strip().lower())
    if target is None:
        cmd.fail("command.waiting.whom", arg=cmd.shown(arg))
    move(cmd, target)


def do_priority(cmd: CommandContext, arg: str) -> None:
    priorities = cmd.ctx.settings.priorities
    wanted = arg.strip()
    code = next((c for c, p in priorities.items() if wanted.upper() == c.upper() or wanted in (p.name, p.name_en)),
                None)
    if code is None:
        cmd.fail("command.priority.unknown", arg=cmd.shown(arg),
                 choices=cmd.say("command.list_separator").join(priorities))
    old = cmd.ticket.priority
    if set_field(cmd.ctx, cmd.ticket, "priority", code, actor=cmd.actor):
        tell_priority_change(cmd.ctx, cmd.ticket, old, actor=cmd.actor)
    reviewed_by_change(cmd, f"priority {old} → {code}")


def do_type(cmd: CommandContext, arg: str) -> None:
    settings, lang = cmd.ctx.settings, cmd.ctx.lang
    wanted = arg.strip()
    code = next((c for c, name in settings.types.items()
                 if wanted.lower() in (c, type_name(settings, c, "en")) or wanted == name), None)
    if code is None:
        shown = (type_name(settings, c, lang) for c in settings.types)
        cmd.fail("command.type.unknown", arg=cmd.shown(arg), choices=cmd.say("command.list_separator").join(shown))
    old = cmd.ticket.type
    set_field(cmd.ctx, cmd.ticket, "type", code, actor=cmd.actor)
    reviewed_by_change(cmd, f"type {old} → {code}")


def _staff_person(cmd: CommandContext, arg: str) -> Person:
    wanted = cmd.actor if arg.strip().lower() in _ME else arg
    person = cmd.ctx.directory.find(wanted)
    if person is None:
        cmd.fail("command.assign.nobody", arg=cmd.shown(arg))
    if not person.is_staff:
        cmd.fail("command.assign.not_staff", who=person.name or person.address)
    return person


def do_assign(cmd: CommandContext, arg: str) -> None:
    person = _staff_person(cmd, arg)
    previous = cmd.ticket.assignee
    if not assign_person(cmd.ctx, cmd.ticket, person, actor=cmd.actor):
        return
    address = person.address.lower()
    if address != cmd.actor:
        queue_reassignment(cmd.ctx, cmd.ticket, new=address, previous=previous, actor=cmd.actor,
                           description=cmd.first_text())
    elif previous and previous != cmd.actor:  # taken over by the one who wrote: the previous assignee hears
        tell_previous(cmd.ctx, cmd.ticket, previous=previous, new=address, actor=cmd.actor)


def do_note(cmd: CommandContext, arg: str) -> None:
    if not arg.strip():
        cmd.fail("command.note.empty")
    add_note(cmd.ctx, cmd.ticket, arg.strip(), actor=cmd.actor)


_NEW_ARTICLE = frozenset({"new", "create", "新建", "新增", "创建"})


def do_kb(cmd: CommandContext, arg: str) -> None:
    """``#kb 12`` links article 12; ``#kb new`` turns this reply (or the last progress) into a new article."""
    ctx = cmd.ctx
    if arg.strip().lower() in _NEW_ARTICLE:
        solution = cmd.body.strip() or cmd.last_progress().strip()
        if not solution:
            cmd.fail("command.kb.no_solution")
        create_article_from_ticket(ctx.session, cmd.ticket, solution, cmd.actor, ctx.now, masker=ctx.masker)
        return
    match = re.fullmatch(r"\s*(?:kb)?[-#＃\s]*(\d+)\s*", arg, re.IGNORECASE)
    if match is None:
        cmd.fail("command.kb.not_a_number", arg=cmd.shown(arg))
    try:
        article = get_article(ctx.session, int(match.group(1)))
    except NotFoundError:
        cmd.fail("command.kb.no_article", id=match.group(1))
    link_ticket(ctx.session, article, cmd.ticket, actor=cmd.actor, now=ctx.now)


def other_ticket(cmd: CommandContext, arg: str) -> Ticket:
    prefix = cmd.ctx.settings.ticket_prefix
    match = re.search(r"(?<![\w-])" + re.escape(prefix) + r"-\d{8}-\d{4,}(?!\d)", arg, re.IGNORECASE) or \
        ticket_tag_pattern(prefix).search(arg)
    if match is None:
        cmd.fail("command.link.missing", prefix=prefix, arg=cmd.shown(arg))
    number = match.group(0).strip("[]【】 ").upper()
    other = cmd.session.scalars(select(Ticket).where(Ticket.number == number)).one_or_none()
    if other is None:
        cmd.fail("command.link.no_ticket", number=number)
    if other.id == cmd.ticket.id:
        cmd.fail("command.link.itself")
    return other


def do_link(cmd: CommandContext, arg: str) -> None:
    link_tickets(cmd.ctx, cmd.ticket, other_ticket(cmd, arg), "related", actor=cmd.actor)


def do_merge(cmd: CommandContext, arg: str) -> None:
    """This ticket goes into the other: its people watch the other one, replies to it land there,
    and it closes (no survey)."""
    other = other_ticket(cmd, arg)
    ctx, ticket = cmd.ctx, cmd.ticket
    if Status(other.status) in (Status.CLOSED, Status.ARCHIVED):
        cmd.fail("command.link.merge_finished", number=other.number, status=status_name(other.status, ctx.lang))
    people = [a for a in (ticket.reporter, *(ticket.watchers or [])) if a != other.reporter]
    add_tags(other, people, field_name="watchers")
    link_tickets(ctx, ticket, other, "merged", actor=cmd.actor)
    ticket.merged_into_id = other.id
    record(ctx, ticket, actor=cmd.actor, action="merged", new=other.number)
    reason = ctx.say("command.link.merged_reason", ticket.language or ctx.lang, number=other.number)
    move(cmd, Status.CLOSED, reason=reason, note=f"merged into {other.number}", survey=False)

"""One function per command: check the argument, change the ticket, queue the mails it implies.

Each raises CommandFailed with the reason the engineer will read; the caller runs it
inside a savepoint, so a failure leaves nothing behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select

from maildesk.commands.context import CommandContext
from maildesk.errors import NotFoundError, TransitionError
from maildesk.kb.articles import create_article_from_ticket, get_article, link_ticket
from maildesk.outbound.compose import ticket_tag_pattern
from maildesk.outbound.notify import person_name, queue_assignment, queue_closed, queue_confirm, queue_survey
from maildesk.rules.assign import assign_person
from maildesk.rules.directory import Person
from maildesk.sla_state import refresh_deadlines
from maildesk.statuses import DISPLAY_ZH, Status, allowed_moves, parse_status
from maildesk.store.models import Ticket
from maildesk.store.models_kb import KbArticle, KbArticleTicket
from maildesk.tickets import add_note, add_tags, change_status, link_tickets, record, set_field

Handler = Callable[[CommandContext, str], None]

_WAITING = {"user": Status.WAITING_USER, "reporter": Status.WAITING_USER, "用户": Status.WAITING_USER,
            "反馈人": Status.WAITING_USER, "team": Status.WAITING_TEAM, "团队": Status.WAITING_TEAM,
            "协同": Status.WAITING_TEAM, "其他团队": Status.WAITING_TEAM}
_ME = frozenset({"me", "myself", "self", "我", "自己"})


def _names(statuses: list[str], ctx: CommandContext) -> str:
    return "、".join(DISPLAY_ZH[Status(s)] for s in statuses) if ctx.lang == "zh" else ", ".join(statuses)


def linked_article(ctx: CommandContext) -> dict[str, object] | None:
    """The KB article linked to the ticket (for the closing mail), or None."""
    article = ctx.session.scalar(
        select(KbArticle).join(KbArticleTicket, KbArticleTicket.article_id == KbArticle.id)
        .where(KbArticleTicket.ticket_id == ctx.ticket.id).order_by(KbArticleTicket.id.desc()).limit(1)
    )
    return {"id": article.id, "title": article.title} if article is not None else None


def move(ctx: CommandContext, target: Status, *, reason: str = "", note: str = "", survey: bool = True) -> None:
    """Change the status; resolving asks the reporter to confirm, closing tells them and sends the survey."""
    ticket = ctx.ticket
    current = Status(ticket.status)
    if current == target:
        return
    if not note and target in (Status.RESOLVED, Status.CLOSED):
        note = ctx.body  # the resolution, where the confirmation reminder looks for it
    try:
        change_status(ctx.session, ticket, target, actor=ctx.actor, now=ctx.now, note=note,
                      pause_meter=ctx.app.calendar.business_seconds_between)
    except TransitionError:
        allowed = _names(allowed_moves(current), ctx)
        ctx.fail(f"工单当前为「{current.zh}」，不能改为「{target.zh}」（可改为：{allowed}）",
                 f"the ticket is {current.value} and cannot become {target.value} (allowed: {allowed})")
    refresh_deadlines(ticket, ctx.app.targets, ctx.app.calendar, ctx.now)
    if target == Status.RESOLVED:
        queue_confirm(ctx.session, ctx.app, ticket, engineer=ctx.actor, now=ctx.now, attachments=ctx.attachments,
                      resolution=ctx.body or ctx.last_progress() or "—")
        ctx.body_sent = True
    elif target == Status.CLOSED:
        lang = ticket.language or ctx.lang
        default = "处理人已关闭工单" if lang == "zh" else "closed by the engineer"
        queue_closed(ctx.session, ctx.app, ticket, reason=reason or default, resolution=ctx.body or None,
                     now=ctx.now, attachments=ctx.attachments, kb_article=linked_article(ctx))
        if survey:
            queue_survey(ctx.session, ctx.app, ticket, now=ctx.now)
        ctx.body_sent = True


def do_status(ctx: CommandContext, arg: str) -> None:
    if not arg:
        ctx.fail("缺少状态，例如：#状态 已解决", "missing the status, e.g. #status resolved")
    target = parse_status(arg)
    if target is None:
        ctx.fail(f"没有这个状态：{arg}（可选：{_names([s.value for s in Status], ctx)}）",
                 f"unknown status {arg!r} (one of: {_names([s.value for s in Status], ctx)})")
    move(ctx, target)


def do_waiting(ctx: CommandContext, arg: str) -> None:
    target = _WAITING.get(arg.strip().lower())
    if target is None:
        ctx.fail(f"等待谁？请写 #等待 用户 或 #等待 团队（收到：{arg or '空'}）",
                 f"waiting on whom? write #waiting user or #waiting team (got {arg or 'nothing'!r})")
    move(ctx, target)


def do_close(ctx: CommandContext, arg: str) -> None:
    move(ctx, Status.CLOSED, reason=arg, note=arg)


def do_priority(ctx: CommandContext, arg: str) -> None:
    priorities = ctx.app.settings.priorities
    wanted = arg.strip()
    code = next((c for c, p in priorities.items() if wanted.upper() == c.upper() or wanted == p.name), None)
    if code is None:
        ctx.fail(f"没有这个优先级：{arg or '空'}（可选：{'、'.join(priorities)}）",
                 f"unknown priority {arg!r} (one of: {', '.join(priorities)})")
    if set_field(ctx.session, ctx.ticket, "priority", code, actor=ctx.actor, now=ctx.now):
        refresh_deadlines(ctx.ticket, ctx.app.targets, ctx.app.calendar, ctx.now)


def do_type(ctx: CommandContext, arg: str) -> None:
    types = ctx.app.settings.types
    wanted = arg.strip()
    code = next((c for c, name in types.items() if wanted.lower() == c or wanted == name), None)
    if code is None:
        ctx.fail(f"没有这个问题类型：{arg or '空'}（可选：{'、'.join(types.values())}）",
                 f"unknown problem type {arg!r} (one of: {', '.join(types)})")
    set_field(ctx.session, ctx.ticket, "type", code, actor=ctx.actor, now=ctx.now)


def _staff_person(ctx: CommandContext, arg: str) -> Person:
    wanted = ctx.actor if arg.strip().lower() in _ME else arg
    person = ctx.app.directory.find(wanted)
    if person is None:
        ctx.fail(f"目录中没有这个人：{arg or '空'}", f"nobody called {arg!r} in the people directory")
    if not person.is_staff:
        ctx.fail(f"{person.name or person.address} 不是技术支持人员，不能指派",
                 f"{person.address} is not staff and cannot be assigned")
    return person


def do_assign(ctx: CommandContext, arg: str) -> None:
    person = _staff_person(ctx, arg)
    if not assign_person(ctx.session, ctx.app.settings, ctx.ticket, person, actor=ctx.actor, now=ctx.now):
        return
    address = person.address.lower()
    if address != ctx.actor:
        queue_assignment(ctx.session, ctx.app, ctx.ticket, address, now=ctx.now, description=ctx.first_text())


def do_note(ctx: CommandContext, arg: str) -> None:
    if not arg.strip():
        ctx.fail("备注内容为空：请写在同一行，例如 #备注 已联系厂家", "empty note: write it on the same line")
    add_note(ctx.session, ctx.ticket, arg.strip(), actor=ctx.actor, now=ctx.now)


_NEW_ARTICLE = frozenset({"new", "create", "新建", "新增", "创建"})


def do_kb(ctx: CommandContext, arg: str) -> None:
    """``#kb 12`` links article 12; ``#kb new`` turns this reply (or the last progress) into a new article."""
    if arg.strip().lower() in _NEW_ARTICLE:
        solution = ctx.body.strip() or ctx.last_progress().strip()
        if not solution:
            ctx.fail("新建知识库文章需要解决方法：请写在本邮件正文中", "a new article needs the solution: write it in "
                     "the body of this mail")
        create_article_from_ticket(ctx.session, ctx.ticket, solution, ctx.actor, ctx.now, masker=ctx.app.masker)
        return
    match = re.fullmatch(r"\s*(?:kb)?[-#＃\s]*(\d+)\s*", arg, re.IGNORECASE)
    if match is None:
        ctx.fail(f"知识库文章编号应为数字或「新建」，例如 #知识库 12（收到：{arg or '空'}）",
                 f"a knowledge-base article is a number or 'new', e.g. #kb 12 (got {arg!r})")
    try:
        article = get_article(ctx.session, int(match.group(1)))
    except NotFoundError:
        ctx.fail(f"知识库中没有第 {match.group(1)} 号文章", f"no knowledge-base article {match.group(1)}")
    link_ticket(ctx.session, article, ctx.ticket, actor=ctx.actor, now=ctx.now)


def other_ticket(ctx: CommandContext, arg: str) -> Ticket:
    prefix = ctx.app.settings.ticket_prefix
    match = re.search(r"(?<![\w-])" + re.escape(prefix) + r"-\d{8}-\d{4,}(?!\d)", arg, re.IGNORECASE) or \
        ticket_tag_pattern(prefix).search(arg)
    if match is None:
        ctx.fail(f"缺少工单号，例如 {prefix}-20261122-0007（收到：{arg or '空'}）",
                 f"missing a ticket number such as {prefix}-20261122-0007 (got {arg!r})")
    number = match.group(0).strip("[]【】 ").upper()
    other = ctx.session.scalars(select(Ticket).where(Ticket.number == number)).one_or_none()
    if other is None:
        ctx.fail(f"没有工单 {number}", f"no ticket {number}")
    if other.id == ctx.ticket.id:
        ctx.fail("不能关联或合并到本工单自己", "a ticket cannot be linked or merged with itself")
    return other


def do_link(ctx: CommandContext, arg: str) -> None:
    link_tickets(ctx.session, ctx.ticket, other_ticket(ctx, arg), "related", actor=ctx.actor, now=ctx.now)


def do_merge(ctx: CommandContext, arg: str) -> None:
    """This ticket goes into the other: its people watch the other one, and it closes (no survey)."""
    other = other_ticket(ctx, arg)
    if Status(other.status) in (Status.CLOSED, Status.ARCHIVED):
        ctx.fail(f"{other.number} 已{Status(other.status).zh}，不能合并进去",
                 f"{other.number} is {other.status}; cannot merge into it")
    ticket = ctx.ticket
    people = [a for a in (ticket.reporter, *(ticket.watchers or [])) if a != other.reporter]
    add_tags(other, people, field_name="watchers")
    link_tickets(ctx.session, ticket, other, "merged", actor=ctx.actor, now=ctx.now)
    record(ctx.session, ticket, actor=ctx.actor, action="merged", now=ctx.now, new=other.number)
    lang = ticket.language or ctx.lang
    reason = (f"已合并到工单 {other.number}，后续进展将在该工单中通知" if lang == "zh"
              else f"merged into ticket {other.number}, where you will hear how it goes")
    move(ctx, Status.CLOSED, reason=reason, note=f"merged into {other.number}", survey=False)


def staff_name(ctx: CommandContext) -> str:
    return person_name(ctx.app, ctx.actor)

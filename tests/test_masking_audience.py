"""Who reads what: every kind of mail about a ticket with personal data, outside the conversation masked.

One ticket (and three of the same problem the week before, for the recurring alert) whose
subject, first mail and reporter carry a phone in two writings, a landline, an ID number, a
card number and a private address goes through everything the desk sends: the ack and the
assignment, relays both ways, ``#升级 管理层``, the SLA sweep (escalations, a reminder to the lead of
an unassigned ticket, digests), a low survey score (the review request), the weekly report and
the recurring alert, and a new P1's review (复核) request. Every mail to someone outside the
ticket's conversation is read as an auditor would; the conversation's own mails still carry what
their readers need.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from maildesk.desk.mailing import in_conversation
from maildesk.reports.mailing import queue_report, recurring_alert_job
from maildesk.reports.period import last_complete
from maildesk.store.models import OutboxMail, Ticket
from maildesk.store.models_kb import KbArticle
from maildesk.sweep import run_sweep
from tests.desk import (
    ENGINEER,
    MANAGER,
    NOW,
    REPORTER,
    Helpdesk,
    desk_fixture,  # noqa: F401
)
from tests.masking_leaks import ADDRESS, BODY, CARD, MOBILE, NAME, RESIDENT_ID, SUBJECT, leaks, readable

TEMPLATES = Path(__file__).parent.parent / "maildesk" / "outbound" / "templates"
# the packaged templates that mails to people outside a conversation are made from, by outbox kind
OUTSIDE = {"escalation": {"escalation", "relay"}, "review": {"relay"}, "digest": {"digest"}, "report": {"report"},
           "recurring": {"report"}, "reminder": {"reminder"}, "review_new": {"review_new"},
           "mobilise": {"mobilise"}}
# the templates only ever addressed to the people of the conversation (or, for reject, to the sender only)
CONVERSATION_ONLY = {"ack", "assignment", "closed", "command_error", "confirm", "kb_article", "progress", "reject",
                     "survey", "priority_changed", "evaluation"}
# no rule gives this one a team or an assignee
GENERIC = f"请帮忙看一下。{NAME}，手机 {MOBILE}，身份证 {RESIDENT_ID}，卡号 {CARD}，邮箱 {ADDRESS}"


def _sent(desk: Helpdesk) -> list[tuple[OutboxMail, Ticket | None]]:
    with desk.app.store.session() as s:
        return [(row, ticket) for row, ticket in s.execute(
            select(OutboxMail, Ticket).outerjoin(Ticket, Ticket.id == OutboxMail.ticket_id).order_by(OutboxMail.id))]


def _through_the_desk(desk: Helpdesk) -> Ticket:
    """Everything the desk sends about the ticket; returns it."""
    app = desk.app
    desk.now = NOW - timedelta(days=7)
    for _ in range(3):  # last week: the same problem three times, for the report and the recurring alert
        desk.open_ticket(SUBJECT, BODY, name=NAME)
        desk.later(hours=1)
    desk.now = NOW
    t = desk.open_ticket(SUBJECT, BODY, name=NAME)
    unassigned = desk.open_ticket(f"请帮忙看一下 {MOBILE}", GENERIC, name=NAME)
    assert unassigned.assignee is None  # unassigned: the reminder goes to a lead
    urgent = desk.open_ticket(f"生产环境宕机 {MOBILE}", GENERIC, name=NAME)
    assert urgent.priority == "P1"  # the lead and manager are mobilised, and review (复核) it from that mail
    pressing = desk.open_ticket(f"紧急：报表导出失败 {MOBILE}", GENERIC, name=NAME)
    assert pressing.priority == "P2"  # the supervisors review (复核) it at once
    desk.staff(t, "张老师您好，我下午两点过来看一下。")
    desk.reporter(t, f"好的，我在三楼，手机 {MOBILE}")
    desk.staff(t, f"#升级 管理层 {NAME}那边很急，回电 {MOBILE}\n"
                  f"{NAME}说卡号 {CARD} 的报销单也打不出来，身份证 {RESIDENT_ID}")
    for hours in range(0, 48, 1):
        run_sweep(app.desk, app.store, NOW + timedelta(hours=hours))
    desk.now = NOW + timedelta(days=2)
    desk.staff(t, f"#状态 已解决\n已更换定影器，已电话 {MOBILE} 告知{NAME}。")
    desk.reporter(t, "已解决，谢谢")
    desk.reporter(t, f"速度1 能力2 态度2 {NAME}等了两天，打 {MOBILE} 也没人接")
    week = last_complete("week", NOW, app.settings.tz)
    queue_report(app.desk, app.store, week, NOW)
    recurring_alert_job(app.desk, app.store, NOW)
    return desk.ticket(t.number)


def test_no_mail_outside_the_conversation_shows_personal_data(desk: Helpdesk) -> None:
    """Escalations, #升级, a lead's reminder, digests, the review, the report and the recurring alert leak nothing."""
    ticket = _through_the_desk(desk)
    outside: dict[str, int] = {}
    for row, about in _sent(desk):
        if about is not None and in_conversation(about, row.to_addrs):
            continue
        outside[row.kind] = outside.get(row.kind, 0) + 1
        assert leaks(readable(row.raw)) == [], f"{row.kind} to {row.to_addrs}"
    assert set(outside) == set(OUTSIDE), outside
    escalations = [readable(row.raw) for row, about in _sent(desk)
                   if row.kind == "escalation" and about is not None and about.id == ticket.id]
    assert any("升级至第" in text for text in escalations)  # the sweep's escalation template
    assert any("回电 138****5678" in text and "张*" in text for text in escalations)  # the #升级 relay
    [review] = [readable(row.raw) for row, _ in _sent(desk) if row.kind == "review"]
    assert MANAGER in [a for row, _ in _sent(desk) if row.kind == "review" for a in row.to_addrs]
    assert "张*等了两天" in review and "138****5678" in review


def test_every_packaged_template_kind_is_classified() -> None:
    """Each packaged template is either used for outsiders (and covered above) or only for the conversation."""
    kinds = {p.name.split(".")[0] for p in TEMPLATES.glob("*.subject.j2")}
    used_outside = set().union(*OUTSIDE.values())
    assert kinds == used_outside | CONVERSATION_ONLY and not used_outside & CONVERSATION_ONLY


def test_the_conversation_still_reads_the_real_data(desk: Helpdesk) -> None:
    """The reporter's ack, the assignee's assignment and the relays between them carry what was written."""
    ticket = _through_the_desk(desk)
    mine = [(row, readable(row.raw)) for row, about in _sent(desk) if about is not None and about.id == ticket.id]
    [ack] = [text for row, text in mine if row.kind == "ack"]
    assert row_to(mine, "ack") == [REPORTER] and "138-1234-5678" in ack and "6234-5678" in ack
    [assignment] = [text for row, text in mine if row.kind == "assignment"]
    assert row_to(mine, "assignment") == [ENGINEER]
    assert RESIDENT_ID in assignment and CARD in assignment and NAME in assignment and ADDRESS in assignment
    relays = [(row.to_addrs, text) for row, text in mine if row.kind == "relay"]
    assert any(to == [REPORTER] and "张老师您好" in text for to, text in relays)
    assert any(to == [ENGINEER] and f"手机 {MOBILE}" in text for to, text in relays)


def test_a_command_error_to_someone_outside_shows_the_ticket_masked(desk: Helpdesk) -> None:
    """A manager's wrong command (or a forged one in the manager's name) is answered without the real subject."""
    t = desk.open_ticket(SUBJECT, BODY, name=NAME)
    desk.staff(t, "#优先级 P9", sender=MANAGER)
    desk.staff(t, "#关闭", sender=MANAGER, proven=False)
    errors = desk.outbox("command_error")
    assert [row.to_addrs for row in errors] == [[MANAGER], [MANAGER]]
    for row in errors:
        text = readable(row.raw)
        assert leaks(text) == [] and "张*：打印机卡纸，请回电 138****5678" in text
    desk.staff(t, "#优先级 P9")  # the assignee's own mistake: the conversation's real subject
    assert MOBILE in readable(desk.outbox("command_error")[-1].raw)


def test_kb_new_masks_title_problem_and_solution(desk: Helpdesk) -> None:
    """``#kb new``: the article other reporters will be shown names nobody and carries no contact or number."""
    t = desk.open_ticket(SUBJECT, BODY, name=NAME)
    desk.staff(t, f"#kb new\n取出卡纸，清理搓纸轮。已电话 {MOBILE} 告知{NAME}（刘洋处理）。")
    with desk.app.store.session() as s:
        [article] = s.scalars(select(KbArticle))
        title, problem, solution = article.title, article.problem, article.solution
    assert leaks("\n".join([title, problem, solution])) == []
    assert title.startswith("张*：打印机卡纸") and "三楼打印机一直卡纸" in problem
    assert solution == "取出卡纸，清理搓纸轮。已电话 138****5678 告知张*（刘*处理）。"  # staff are in the directory too


def row_to(mine: list[tuple[OutboxMail, str]], kind: str) -> list[str]:
    [row] = [row for row, _ in mine if row.kind == kind]
    return list(row.to_addrs)

"""Each command in a staff reply, through the real pipeline: what it changes, what it mails, what it refuses."""

from __future__ import annotations

from sqlalchemy import select

from maildesk.kb.articles import create_article
from maildesk.store.models import Message, TicketLink
from maildesk.store.models_kb import KbArticle, KbArticleTicket
from tests.desk import (
    ENGINEER,
    MANAGER,
    REPORTER,
    Helpdesk,
    body_of,
    desk_fixture,  # noqa: F401
    mail,
    parsed,
    stamped,
)


def test_status_resolved_asks_the_reporter_to_confirm_with_the_engineers_words(desk: Helpdesk) -> None:
    """#状态 已解决 resolves the ticket; the reporter gets one confirm mail carrying the text, no extra relay."""
    t = desk.open_ticket()
    outcome = desk.staff(t, "#状态 已解决\n\n已更换定影器，打印恢复正常。")
    assert outcome.result == "reply"
    ticket = desk.ticket(t.number)
    assert ticket.status == "resolved" and ticket.first_response_at == desk.now
    [confirm] = desk.outbox("confirm")
    assert confirm.to_addrs == [REPORTER] and "已更换定影器，打印恢复正常。" in body_of(confirm)
    assert desk.outbox("relay") == []
    assert [e.note for e in desk.events(t.number, "command")] == ["#状态 已解决"]
    assert [e.note for e in desk.events(t.number, "progress")] == ["已更换定影器，打印恢复正常。"]


def test_priority_command_moves_the_deadlines(desk: Helpdesk) -> None:
    """#priority P1 raises the priority, is audited, and brings the resolve deadline forward."""
    t = desk.open_ticket()
    before = desk.ticket(t.number).resolve_due
    desk.staff(t, "#priority P1")
    ticket = desk.ticket(t.number)
    assert ticket.priority == "P1" and before is not None and ticket.resolve_due is not None
    assert ticket.resolve_due < before
    [change] = desk.events(t.number, "priority")
    assert (change.actor, change.from_value, change.to_value) == (ENGINEER, "P3", "P1")
    assert desk.outbox("relay") == []  # commands alone say nothing to the reporter


def test_assign_by_address_or_name_tells_the_new_assignee(desk: Helpdesk) -> None:
    """#指派 by address or by directory name hands the ticket over and mails the new assignee."""
    t = desk.open_ticket()
    desk.staff(t, "#指派 sun.hao@example.com")
    ticket = desk.ticket(t.number)
    assert (ticket.assignee, ticket.team) == ("sun.hao@example.com", "software")
    assert [m.to_addrs for m in desk.outbox("assignment")][-1] == ["sun.hao@example.com"]
    desk.staff(t, "#assign 周敏", sender="sun.hao@example.com")
    assert desk.ticket(t.number).assignee == "zhou.min@example.com"


def test_type_by_chinese_name_and_waiting_pauses(desk: Helpdesk) -> None:
    """#类型 软件异常 sets the type; #waiting user pauses the clock, #等待 团队 waits on another team."""
    t = desk.open_ticket()
    desk.staff(t, "#类型 软件异常\n#waiting user")
    ticket = desk.ticket(t.number)
    assert (ticket.type, ticket.status, ticket.paused_at) == ("software", "waiting_user", desk.now)
    desk.later(hours=1)
    desk.staff(t, "#等待 团队")
    ticket = desk.ticket(t.number)
    assert (ticket.status, ticket.paused_at) == ("waiting_team", None) and ticket.paused_seconds == 3600


def test_a_note_is_kept_and_never_relayed(desk: Helpdesk) -> None:
    """#备注 is an internal note in the history; the reporter's copy has the rest of the text only."""
    t = desk.open_ticket()
    desk.staff(t, "#备注 管理员密码 Abc#2026 已重置\n张老师您好，我下午过来。\n#note 备件还剩 2 个")
    assert [e.note for e in desk.events(t.number, "note")] == ["管理员密码 Abc#2026 已重置", "备件还剩 2 个"]
    [relay] = desk.outbox("relay")
    text = body_of(relay)
    assert "张老师您好，我下午过来。" in text
    assert "Abc#2026" not in text and "备件" not in text and "#" + "备注" not in text
    assert b"Abc#2026" not in relay.raw


def test_kb_links_an_article_and_the_closing_mail_names_it(desk: Helpdesk) -> None:
    """#kb 12 links the article to the ticket; #close then asks the reporter to confirm, pointing them to it."""
    t = desk.open_ticket()
    with desk.app.store.session() as s:
        article = create_article(s, title="打印机卡纸的处理方法", solution="清理搓纸轮", now=desk.now)
        article_id = article.id
    desk.staff(t, f"#kb {article_id}\n#关闭\n已清理搓纸轮。")
    with desk.app.store.session() as s:
        assert s.scalar(select(KbArticleTicket.ticket_id).where(KbArticleTicket.article_id == article_id)) == t.id
    [confirm] = desk.outbox("confirm")
    assert "打印机卡纸的处理方法" in body_of(confirm) and "已清理搓纸轮。" in body_of(confirm)
    assert desk.outbox("survey") == [] and desk.ticket(t.number).status == "resolved"


def test_kb_new_turns_the_solution_into_an_article_with_the_reporter_masked(desk: Helpdesk) -> None:
    """#知识库 新建 makes an article of the ticket: its subject, the problem with contacts masked, this reply."""
    t = desk.open_ticket("打印机卡纸", "三楼打印机卡纸，请回电 13812345678。")
    desk.staff(t, "#知识库 新建\n#关闭\n取出卡住的纸，清理搓纸轮即可。")
    with desk.app.store.session() as s:
        [article] = s.scalars(select(KbArticle))
        linked = list(s.scalars(select(KbArticleTicket.ticket_id).where(KbArticleTicket.article_id == article.id)))
        title, problem, solution = article.title, article.problem, article.solution
    assert title == "打印机卡纸" and "取出卡住的纸" in solution and linked == [t.id]
    assert "13812345678" not in problem and "三楼打印机卡纸" in problem
    [confirm] = desk.outbox("confirm")
    assert f"知识库：[{article.id}] 打印机卡纸" in body_of(confirm)  # the confirmation points to the new article


def test_kb_new_without_a_solution_is_refused_and_creates_nothing(desk: Helpdesk) -> None:
    """#kb new on a ticket with no solution written anywhere: an error to the engineer, no article."""
    t = desk.open_ticket()
    desk.staff(t, "#kb new")
    with desk.app.store.session() as s:
        assert list(s.scalars(select(KbArticle))) == []
    [error] = desk.outbox("command_error")
    assert "解决方法" in body_of(error)


def test_link_and_merge(desk: Helpdesk) -> None:
    """#link relates two tickets; #合并 closes this one into the other, whose watchers now include its reporter."""
    a = desk.open_ticket()
    b = desk.open_ticket("打印机又卡纸", "同一台打印机。", sender="li.na@example.com")
    desk.staff(a, f"#link {b.number}")
    with desk.app.store.session() as s:
        kinds = set(s.scalars(select(TicketLink.kind).where(TicketLink.ticket_id == a.id)))
    assert kinds == {"related"}
    desk.staff(b, f"#合并 [{a.number}]")
    merged, target = desk.ticket(b.number), desk.ticket(a.number)
    assert merged.status == "closed" and "li.na@example.com" in target.watchers
    [closed] = desk.outbox("closed")
    assert closed.to_addrs == ["li.na@example.com"] and f"已合并到工单 {a.number}" in body_of(closed)
    assert desk.outbox("survey") == []


def test_escalate_climbs_the_ladder_and_stops_at_the_top(desk: Helpdesk) -> None:
    """#升级 管理层 goes lead → manager → director, one mail per level, then says there is no level above
    (plain #升级 is the tier hand-off: tests/test_tiers.py)."""
    t = desk.open_ticket()  # P3: its ladder is the lead, then the roles above
    for expected in (["wu.qiang@example.com"], [MANAGER], ["huang.gang@example.com"]):
        desk.staff(t, "#升级 管理层 用户影响扩大")
        assert desk.outbox("escalation")[-1].to_addrs == expected
        assert desk.ticket(t.number).assignee == ENGINEER  # the ladder tells, it never reassigns
    assert desk.ticket(t.number).escalation_level == 3
    desk.staff(t, "#escalate management")
    [error] = desk.outbox("command_error")
    assert "最高一级" in body_of(error) and desk.ticket(t.number).escalation_level == 3


def test_staff_split_makes_the_rest_of_the_mail_a_linked_ticket(desk: Helpdesk) -> None:
    """#拆分 turns the words below it into a new ticket, linked and acknowledged to the reporter; they are not
    relayed on the old ticket, whose conversation goes on."""
    t = desk.open_ticket()
    desk.reporter(t, "打印好了。另外我的邮箱也登不上了，提示密码错误。")
    words = "张伟的 Outlook 从昨天起提示密码错误，需重置域账号密码。"
    outcome = desk.staff(t, f"#拆分 邮箱登录失败\n{words}")
    assert "split into" in outcome.reason
    with desk.app.store.session() as s:
        link = s.scalars(select(TicketLink).where(TicketLink.ticket_id == t.id, TicketLink.kind == "split")).one()
        [first] = s.scalars(select(Message).where(Message.ticket_id == link.other_id, Message.direction == "in"))
    new = desk.ticket(next(e.to_value for e in desk.events(t.number, "split") if e.to_value))
    assert new.id == link.other_id and new.subject == "邮箱登录失败" and new.reporter == REPORTER
    assert (first.from_addr, first.kind, first.text) == (ENGINEER, "split", words)
    [ack] = [m for m in desk.outbox("ack") if m.ticket_id == new.id]
    assert ack.to_addrs == [REPORTER] and new.number in ack.subject
    assert all("Outlook" not in body_of(m) for m in desk.outbox("relay") if REPORTER in m.to_addrs)
    assert desk.ticket(t.number).first_response_at is None  # nothing was said to the reporter on the old ticket


def test_staff_split_without_words_below_it_is_refused(desk: Helpdesk) -> None:
    """A #split with nothing below it names no new problem: nothing is applied and the engineer hears why."""
    t = desk.open_ticket()
    desk.reporter(t, "另外我的邮箱也登不上了。")
    desk.staff(t, "#status in_progress\n#split 邮箱")
    assert desk.events(t.number, "split") == [] and desk.ticket(t.number).status == "assigned"
    [error] = desk.outbox("command_error")
    assert "请把新问题写在 #拆分 这一行下面" in body_of(error)


def test_other_commands_with_a_split_keep_their_own_meaning(desk: Helpdesk) -> None:
    """#note and #priority beside #split change this ticket; the words below go to the new one only."""
    t = desk.open_ticket()
    desk.staff(t, "#priority P2\n#备注 先拆出去\n#split\n投影仪也没有信号")
    new = desk.ticket(next(e.to_value for e in desk.events(t.number, "split") if e.to_value))
    assert desk.ticket(t.number).priority == "P2" and new.subject == "投影仪也没有信号"
    assert [e.note for e in desk.events(t.number, "note")] == ["先拆出去"]


def test_a_bad_command_applies_nothing_and_tells_the_sender_exactly_why(desk: Helpdesk) -> None:
    """One wrong line rolls back every command of the mail; the error mail names each line and its reason."""
    t = desk.open_ticket()
    outcome = desk.staff(t, "#priority P1\n#指派 sun.hao@example.com\n#状态 飞走了\n#frobnicate\n"
                            "#assign nobody@example.com\n您好，正在处理。")
    assert "rejected" in outcome.reason
    ticket = desk.ticket(t.number)
    assert (ticket.priority, ticket.assignee) == ("P3", ENGINEER) and desk.events(t.number, "command") == []
    assert [m.to_addrs for m in desk.outbox("assignment")] == [[ENGINEER]]  # no mail to sun.hao either
    [error] = desk.outbox("command_error")
    assert error.to_addrs == [ENGINEER] and error.subject.startswith(f"[{t.number}]")
    text = body_of(error)
    for line, reason in [("#状态 飞走了", "没有这个状态"), ("#frobnicate", "未知命令"),
                         ("#assign nobody@example.com", "目录中没有这个人"), ("#priority P1", "所有命令均未执行")]:
        assert line in text and reason in text
    assert len(desk.events(t.number, "command_rejected")) == 5
    assert "您好，正在处理。" in body_of(desk.outbox("relay")[0])  # the words still reach the reporter


def test_an_impossible_move_says_which_moves_are_allowed(desk: Helpdesk) -> None:
    """#status archived on an open ticket is refused with the statuses it can go to."""
    t = desk.open_ticket()
    desk.staff(t, "#status archived")
    [error] = desk.outbox("command_error")
    assert "不能改为「已归档」" in body_of(error) and desk.ticket(t.number).status == "assigned"


def test_a_forged_staff_mail_runs_no_command_and_is_not_relayed(desk: Helpdesk) -> None:
    """Right From, no proof: stored and flagged; nothing changes, the reporter hears nothing, the engineer is told."""
    t = desk.open_ticket()
    outcome = desk.staff(t, "#close\n#priority P4\n问题已处理，请点击 http://evil.example.net 重新登录。", proven=False)
    assert "without proof" in outcome.reason
    ticket = desk.ticket(t.number)
    assert (ticket.status, ticket.priority) == ("assigned", "P3") and "unverified_staff_mail" in ticket.flags
    assert desk.outbox("relay") == [] and desk.outbox("closed") == []
    assert ticket.first_response_at is None
    [error] = desk.outbox("command_error")
    assert error.to_addrs == [ENGINEER] and "无法证实" in body_of(error)


def test_the_reporters_reply_address_is_no_proof_of_staff(desk: Helpdesk) -> None:
    """The address in the reporter's ack cannot run commands: a reporter could forge a staff From with it."""
    t = desk.open_ticket()
    desk.feed(mail(ENGINEER, f"Re: [{t.number}] x", "#status closed", to=desk.app.desk.addresses.reporter(t.number)))
    assert desk.ticket(t.number).status == "assigned" and "unverified_staff_mail" in desk.ticket(t.number).flags


def test_dkim_pass_from_our_own_server_proves_the_sender(desk: Helpdesk) -> None:
    """A reply to the plain support address counts when our MTA's Authentication-Results says dkim=pass."""
    t = desk.open_ticket()
    subject = f"回复: [{t.number}] {t.subject}"
    received = ("Received", "from mail.example.com (mail.example.com [192.0.2.7]) by mx.example.com")
    trusted = ("Authentication-Results", "mx.example.com; dkim=pass header.d=example.com header.s=s1")
    desk.feed(stamped(mail(ENGINEER, subject, "#priority P2"), trusted, received))
    assert desk.ticket(t.number).priority == "P2"
    forged = ("Authentication-Results", "mail.attacker.net; dkim=pass header.d=example.com")
    desk.feed(stamped(mail(ENGINEER, subject, "#priority P1"), forged, received))
    assert desk.ticket(t.number).priority == "P2"


def test_relay_carries_attachments_and_no_staff_address(desk: Helpdesk) -> None:
    """The reporter's copy has the attachment and no staff address: not in the copy list, not in a signature."""
    t = desk.open_ticket(cc="chen.jing@example.com, sun.hao@example.com")
    assert t.watchers == ["chen.jing@example.com"]  # sun.hao is staff: staff hear of the ticket anyway
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    signature = "\n\n刘洋 | 技术支持部 | liu.yang@example.com"  # an Outlook signature has no "-- " line
    desk.staff(t, "张老师，请按截图设置默认打印机。" + signature, attachments=(("设置步骤.png", "image/png", png),))
    [relay] = desk.outbox("relay")
    message = parsed(relay)
    assert message["To"] == REPORTER and message["Cc"] == "chen.jing@example.com"
    assert message["From"].addresses[0].addr_spec == desk.app.settings.support_address
    assert message["Reply-To"].addresses[0].addr_spec == desk.app.desk.addresses.reporter(t.number)
    assert b"sun.hao" not in relay.raw and ENGINEER not in body_of(relay)
    assert "技术支持部 | support@example.com" in body_of(relay)
    [part] = [p for p in message.iter_attachments()]
    assert part.get_filename() == "设置步骤.png" and part.get_content() == png


def test_no_reply_address_of_the_desk_reaches_the_reporter_in_a_relay(desk: Helpdesk) -> None:
    """An engineer who pastes the staff reply address into an answer does not hand the reporter its token."""
    t = desk.open_ticket()
    staff_address = desk.app.desk.addresses.staff(t.number)
    desk.staff(t, f"张老师，如需补充请写信至 {staff_address} 或直接回复。")
    [relay] = desk.outbox("relay")
    assert staff_address.encode() not in relay.raw and "support@example.com" in body_of(relay)


def test_a_reply_to_a_merged_ticket_lands_on_the_ticket_it_went_into(desk: Helpdesk) -> None:
    """After #merge, the reporter answering the old thread joins the ticket it was merged into; the old one
    stays closed."""
    first = desk.open_ticket()
    second = desk.open_ticket("三楼打印机又卡纸", "还是那台打印机。", sender="li.na@example.com")
    desk.staff(first, f"#merge {second.number}")
    assert desk.ticket(first.number).status == "closed"
    outcome = desk.reporter(first, "补充一下：早上又卡了两次。")
    assert (outcome.result, outcome.ticket) == ("reply", second.number)
    assert desk.ticket(first.number).status == "closed" and desk.ticket(first.number).reopen_count == 0

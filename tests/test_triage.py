"""Review (复核) of a new ticket's type and priority, by mail with an explicit clock: new P1/P2 tickets reach the
supervisors at once, the rest wait in the daily digest; #ok/#复核, #priority, #type record the review; a priority
change tells the assignee and the reporter the new deadlines."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

from tests.desk import (
    DIRECTOR,
    ENGINEER,
    LEAD,
    MANAGER,
    REPORTER,
    TZ,
    Helpdesk,
    body_of,
    desk_fixture,  # noqa: F401
    sweep,
)

OUTAGE = "生产环境ERP宕机"
OUTAGE_BODY = "ERP 从 9 点开始打不开。\n涉及系统：ERP\n影响范围：财务部全员，联系人张伟 13800138001\n"


def test_a_new_p2_goes_to_the_supervisors_at_once_masked(desk: Helpdesk) -> None:
    """A P2 by mail: the manager gets a review mail in the same moment, with the form; reporter and phone masked."""
    t = desk.open_ticket("紧急：财务系统报表导出失败",
                         "报表导出一直报错。\n涉及系统：ERP\n影响范围：财务部全员，联系人张伟 13800138001\n")
    assert t.priority == "P2"
    [review] = desk.outbox("review_new")
    assert review.to_addrs == [MANAGER] and review.created_at == desk.now
    text = body_of(review)
    assert "待复核" in review.subject and "#复核" in text
    assert "涉及系统：ERP" in text and "财务部全员" in text
    assert "张伟" not in text and "13800138001" not in text and "138****8001" in text
    assert "张*" in text  # the reporter as an outsider sees them


def test_a_new_p1s_supervisors_review_it_from_the_one_mobilisation_mail(desk: Helpdesk) -> None:
    """A P1 mobilises the lead and the manager at once; that one mail asks them to review type and priority, so they
    get no second review mail; their #复核 from it records the review."""
    t = desk.open_ticket(OUTAGE, OUTAGE_BODY)
    assert t.priority == "P1"
    assert desk.outbox("review_new") == []
    mobilised = {m.to_addrs[0]: m for m in desk.outbox("mobilise")}
    assert MANAGER in mobilised
    text = body_of(mobilised[MANAGER])
    assert "请同时复核问题类型" in text and "#复核" in text and "138****8001" in text
    desk.staff(t, "#复核", sender=MANAGER)
    [event] = desk.events(t.number, "reviewed")
    assert event.actor == MANAGER


def test_a_new_p3_waits_in_the_daily_digest_until_reviewed(desk: Helpdesk) -> None:
    """No mail at once for a P3; the next daily digest lists it under 待复核, and after #复核 it is gone."""
    t = desk.open_ticket()
    assert t.priority == "P3" and desk.outbox("review_new") == []
    sweep(desk.app, datetime(2026, 11, 24, 9, 0, tzinfo=TZ))
    digest = next(m for m in desk.outbox("digest") if m.to_addrs == [MANAGER])
    assert "【待复核】" in digest.text and t.number in digest.text.split("【待复核】")[1]
    desk.now = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
    outcome = desk.staff(t, "#复核", sender=MANAGER)
    assert "1 command(s) applied" in outcome.reason
    [event] = desk.events(t.number, "reviewed")
    assert (event.actor, event.to_value, event.note) == (MANAGER, "hardware P3", "ok")
    sweep(desk.app, datetime(2026, 11, 25, 9, 0, tzinfo=TZ))
    later = [m for m in desk.outbox("digest") if m.to_addrs == [MANAGER]][-1]
    assert later.id != digest.id and "待复核" not in later.text


def test_only_supervisors_review(desk: Helpdesk) -> None:
    """#ok from an engineer is refused by mail and records nothing; their #priority is a change, not a review."""
    t = desk.open_ticket()
    desk.staff(t, "#ok")
    [error] = desk.outbox("command_error")
    assert error.to_addrs == [ENGINEER] and "组长、经理或总监" in error.text
    desk.staff(t, "#priority P2")
    assert desk.ticket(t.number).priority == "P2" and desk.events(t.number, "reviewed") == []
    desk.staff(t, "#type software", sender=LEAD)
    [event] = desk.events(t.number, "reviewed")
    assert (event.actor, event.note) == (LEAD, "type hardware → software")


def test_a_priority_change_tells_assignee_and_reporter_the_new_deadlines(desk: Helpdesk) -> None:
    """The manager raises P3 to P1: the engineer and the reporter each get one mail with the new deadlines in the
    desk's zone; the review is on record; the manager, who made it, gets none."""
    t = desk.open_ticket()
    desk.later(minutes=30)
    desk.staff(t, "#优先级 P1", sender=MANAGER)
    ticket = desk.ticket(t.number)
    assert ticket.priority == "P1"
    mails = desk.outbox("priority_changed")
    assert sorted(m.to_addrs[0] for m in mails) == sorted([ENGINEER, REPORTER])
    resolve = f"{ticket.resolve_due.astimezone(TZ):%Y-%m-%d %H:%M}" if ticket.resolve_due else "?"
    respond = f"{ticket.response_due.astimezone(TZ):%Y-%m-%d %H:%M}" if ticket.response_due else "?"
    to_reporter = next(m for m in mails if m.to_addrs == [REPORTER])
    assert "P3 中" in to_reporter.text and "P1 紧急" in to_reporter.text
    assert f"解决：{resolve} 之前" in to_reporter.text and f"首次响应：{respond} 之前" in to_reporter.text
    assert MANAGER not in to_reporter.text and "zheng.li" not in body_of(to_reporter)
    to_engineer = next(m for m in mails if m.to_addrs == [ENGINEER])
    assert "郑丽 将工单" in to_engineer.text and resolve in to_engineer.text
    [event] = desk.events(t.number, "reviewed")
    assert (event.actor, event.note) == (MANAGER, "priority P3 → P1")
    assert DIRECTOR not in {a for m in desk.outbox() for a in m.to_addrs}


def test_an_english_reporter_hears_of_the_change_in_english(desk: Helpdesk) -> None:
    """The reporter's mail about the change is in the language they wrote in; the engineer's in the desk's."""
    t = desk.open_ticket("Printer jam on floor 3", "The printer keeps jamming.")
    desk.staff(t, "#priority P2", sender=MANAGER)
    to_reporter = next(m for m in desk.outbox("priority_changed") if m.to_addrs == [REPORTER])
    assert "Priority changed to P2" in to_reporter.subject and "Resolution:" in to_reporter.text
    words = body_of(to_reporter).replace("张伟", "").replace("技术支持中心", "")  # the name and the desk's name
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in words)


def test_tickets_set_priority_is_a_review_and_mails(tmp_path: Path, desk: Helpdesk) -> None:
    """``tickets set --priority`` records the review and tells the assignee and the reporter."""
    t = desk.open_ticket()
    config = tmp_path / "maildesk.toml"
    done = subprocess.run([sys.executable, "-m", "maildesk", "--config", str(config), "tickets", "set", t.number,
                           "--priority", "P2", "--by", MANAGER], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert [e.actor for e in desk.events(t.number, "reviewed")] == [MANAGER]
    assert sorted(m.to_addrs[0] for m in desk.outbox("priority_changed")) == sorted([ENGINEER, REPORTER])

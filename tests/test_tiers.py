"""Support tiers by mail: #escalate hands a ticket up 一线 → 二线 → 三线 with the reason and the history; the
ladder may name tier2/tier3; #assign briefs the new assignee and tells the previous one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildesk.people.directory import DirectoryError, load_directory
from tests.desk import Helpdesk, at, body_of, parsed, priorities_on, sweep
from tests.tiered import LEAD, PEOPLE, RD, TIER1, TIER2, tiered_desk

MON = "2026-11-23"
PROBLEM = ("客服平台报错", "客服平台提交工单时报错 500，刷新无效。")


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Iterator[Helpdesk]:
    helpdesk = tiered_desk(tmp_path, db_url)
    helpdesk.now = at(MON, 10)
    yield helpdesk
    helpdesk.app.close()


def test_new_work_goes_to_tier_1_and_climbs_to_rd_then_says_it_is_at_the_top(desk: Helpdesk) -> None:
    """A software ticket starts at tier 1; two #escalate take it to tier 2, then to R&D (tier3 in the config);
    a third is refused, saying tier 3 is the top and how to reach management."""
    ticket = desk.open_ticket(*PROBLEM)
    assert ticket.assignee == TIER1
    desk.staff(ticket, "#escalate 需要查看应用日志", sender=TIER1)
    assert desk.ticket(ticket.number).assignee in (TIER2, LEAD)
    second = desk.ticket(ticket.number).assignee
    desk.later(minutes=20)
    desk.staff(ticket, "#升级 疑似代码缺陷，需研发修复", sender=second)
    assert desk.ticket(ticket.number).assignee == RD
    [to_rd] = [m for m in desk.outbox("assignment") if m.to_addrs == [RD]]
    assert "二线升级到三线（研发）" in body_of(to_rd) and "需要查看应用日志" in body_of(to_rd)  # the earlier hand-off
    assert [e.to_value for e in desk.events(ticket.number, "tier")] == ["2", "3"]
    desk.later(minutes=20)
    desk.staff(ticket, "#升级 还是不行", sender=RD)
    [error] = desk.outbox("command_error")
    assert "三线（研发）" in body_of(error) and "#升级 管理层" in body_of(error)
    assert desk.ticket(ticket.number).assignee == RD


def test_escalate_without_a_reason_is_refused(desk: Helpdesk) -> None:
    """The next tier must know what was tried: a bare #升级 changes nothing and says why."""
    ticket = desk.open_ticket(*PROBLEM)
    desk.staff(ticket, "#升级", sender=TIER1)
    [error] = desk.outbox("command_error")
    assert "升级原因" in body_of(error) and desk.ticket(ticket.number).assignee == TIER1


def test_a_team_without_tier_2_hands_straight_to_rd(desk: Helpdesk) -> None:
    """The hardware team has nobody at tier 2: the hand-off goes to the next tier that has someone."""
    ticket = desk.open_ticket("三楼打印机无法开机", "打印机无法开机，指示灯不亮。")
    assert ticket.assignee == "liu.yang@example.com"
    desk.staff(ticket, "#escalate 主板疑似损坏", sender="liu.yang@example.com")
    assert desk.ticket(ticket.number).assignee == RD


def test_the_ladder_can_name_tier2_and_it_only_tells(tmp_path: Path, db_url: str) -> None:
    """A P3 ladder rung `to = "tier2"` mails the team's tier-2 people and reassigns nothing."""
    priorities = priorities_on()
    priorities["P3"]["escalation"] = [{"after_hours": 2, "to": "tier2"}]
    helpdesk = tiered_desk(tmp_path, db_url, priorities=priorities)
    try:
        helpdesk.now = at(MON, 10)
        ticket = helpdesk.open_ticket(*PROBLEM)
        sweep(helpdesk.app, at(MON, 12, 5))
        [rung] = helpdesk.outbox("escalation")
        assert sorted(rung.to_addrs) == sorted([TIER2, LEAD])
        assert helpdesk.ticket(ticket.number).assignee == TIER1
    finally:
        helpdesk.app.close()


def test_assign_briefs_the_new_assignee_and_tells_the_previous_one(desk: Helpdesk) -> None:
    """#指派 by the lead: the new assignee gets the history (reporter's mails, notes, progress, commands) and the
    reporter's attachment; the engineer who had it is told to whom it went."""
    ticket = desk.open_ticket(*PROBLEM, attachments=(("log.txt", "text/plain", b"500 at /submit\n" * 100),))
    desk.later(minutes=10)
    desk.staff(ticket, "#备注 与上周 TS-1 现象相同\n正在排查。", sender=TIER1)
    desk.later(minutes=10)
    desk.reporter(ticket, "补充：只有提交附件时才报错。")
    desk.later(minutes=10)
    desk.staff(ticket, "#指派 马骏", sender=LEAD)
    [brief] = [m for m in desk.outbox("assignment") if m.to_addrs == [TIER2]]
    text = body_of(brief)
    positions = [text.index(s) for s in ("客服平台提交工单时报错", "正在排查", "与上周 TS-1 现象相同",
                                         "只有提交附件时才报错")]
    assert positions == sorted(positions), text
    plain = text.split("<!DOCTYPE")[0]  # the text part
    assert plain.count("与上周 TS-1 现象相同") == 1  # the note once, not again as its command line
    # the reporter's file, decoded from the stored mail it came in
    assert [(p.get_filename(), p.get_payload(decode=True)) for p in parsed(brief).iter_attachments()] == \
        [("log.txt", b"500 at /submit\n" * 100)]
    told = [m for m in desk.outbox("relay") if m.to_addrs == [TIER1]][-1]  # after the reporter's words
    assert "吴强 已将本工单改派给 马骏" in body_of(told)


def test_attachments_over_the_budget_are_named_not_attached(tmp_path: Path, db_url: str) -> None:
    """intake.brief_attachment_bytes: files that fit are attached, the rest listed with their sizes."""
    helpdesk = tiered_desk(tmp_path, db_url, intake={"brief_attachment_bytes": 5000})
    try:
        helpdesk.now = at(MON, 10)
        helpdesk.open_ticket(*PROBLEM, attachments=(("small.png", "image/png", b"s" * 3000),
                                                    ("big.mp4", "video/mp4", b"b" * 4000)))
        [assignment] = helpdesk.outbox("assignment")
        assert [p.get_filename() for p in parsed(assignment).iter_attachments()] == ["small.png"]
        assert "big.mp4（3.9 KB，超出附件大小上限" in body_of(assignment)
    finally:
        helpdesk.app.close()


def test_an_english_desk_hands_off_in_english(tmp_path: Path, db_url: str) -> None:
    """The hand-off's mails on an English desk hold no Chinese but the people's names and the reporter's words."""
    helpdesk = tiered_desk(tmp_path, db_url, language="en", support_name="IT Support")
    try:
        helpdesk.now = at(MON, 10)
        ticket = helpdesk.open_ticket("Service desk error", "Submitting a ticket gives error 500.")
        helpdesk.staff(ticket, "#escalate needs the application logs", sender=TIER1, re="Re: ")
        mails = [m for m in helpdesk.outbox() if m.kind in ("assignment", "relay") and m.to_addrs != [ticket.reporter]]
        assert any("escalated this ticket from tier 1 to tier 2" in body_of(m) for m in mails)
        for m in mails:
            text = body_of(m) + m.subject
            for line in PEOPLE.splitlines()[1:]:  # the directory's names and departments are the people's own
                for value in line.split(",")[1:3]:
                    text = text.replace(value, "")
            text = text.replace("张*", "")
            assert not re.search(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]", text), text
    finally:
        helpdesk.app.close()


def test_a_wrong_tier_in_the_directory_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    """tier must be 1, 2 or 3."""
    path = tmp_path / "people.csv"
    path.write_text("address,name,role,team,tier\nsun.hao@example.com,孙浩,engineer,software,二\n", encoding="utf-8")
    with pytest.raises(DirectoryError) as info:
        load_directory(path)
    assert str(info.value).startswith(f"{path}:2: tier:"), str(info.value)

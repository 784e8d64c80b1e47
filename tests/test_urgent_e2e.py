"""Done when (issue #12): a P1 mailed at 20:00 on a Friday has the person on call, the team lead and the manager
told within minutes, and a tier-2 engineer working it after ``#escalate``, with the reason and the history, the
tier-1 engineer told. End to end by mail through the intake pipeline, with the explicit clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desk import REPORTER, Helpdesk, at, body_of, parsed, sweep
from tests.tiered import LEAD, MANAGER, ON_CALL, TIER1, TIER2, tiered_desk

FRI = "2026-11-27"  # a Friday; 20:00 is outside business hours
SCREENSHOT = ("报错截图.png", "image/png", b"\x89PNG" + b"1" * 40_000)


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Iterator[Helpdesk]:
    helpdesk = tiered_desk(tmp_path, db_url)
    yield helpdesk
    helpdesk.app.close()


def test_friday_night_p1_mobilises_at_once_and_escalate_hands_it_to_tier_2(desk: Helpdesk) -> None:
    """Friday 20:00 P1: on-call, lead and manager mailed with the ticket; the sweep works the ladder that night;
    #升级 from the tier-1 assignee gives it to tier 2 with the reason, the history and the screenshot."""
    desk.now = at(FRI, 20)
    ticket = desk.open_ticket("生产环境客服平台宕机",
                              "生产环境客服平台宕机了，全员无法接单。\n影响范围：客服中心 40 人",
                              name="张伟", attachments=(SCREENSHOT,))
    assert (ticket.priority, ticket.assignee) == ("P1", TIER1)
    # told at once: the mails are queued with the ticket, at 20:00
    mobilised = desk.outbox("mobilise")
    assert sorted(a for m in mobilised for a in m.to_addrs) == sorted([ON_CALL, LEAD, MANAGER])
    assert {m.created_at for m in mobilised} == {at(FRI, 20)}
    for m in mobilised:  # the reporter's words, the impact (the intake form's, as a line of its own), the screenshot
        plain = body_of(m).split("<!DOCTYPE")[0]
        assert "全员无法接单" in plain and "  影响范围：客服中心 40 人\n" in plain.replace("\r\n", "\n")
        assert "报错截图.png（39.1 KB）" in plain
    [assignment] = desk.outbox("assignment")
    assert assignment.to_addrs == [TIER1]
    assert [p.get_filename() for p in parsed(assignment).iter_attachments()] == ["报错截图.png"]

    # the sweep a few minutes later, and at 21:00, does not wait for Monday: the lead's rung comes at 21:00
    for hh, mm in ((20, 5), (20, 30), (21, 0)):
        sweep(desk.app, at(FRI, hh, mm))
    [rung] = desk.outbox("escalation")
    assert rung.to_addrs == [LEAD] and rung.created_at == at(FRI, 21)

    # the tier-1 engineer works on it, then hands it on with the reason
    desk.now = at(FRI, 21, 10)
    desk.staff(ticket, "#备注 已重启应用服务器，无效\n已收到，正在排查，请稍候。", sender=TIER1)
    desk.now = at(FRI, 21, 30)
    desk.staff(ticket, "#升级 数据库连接池耗尽，需要二线 DBA 权限排查\n已请二线同事接手。", sender=TIER1)
    after = desk.ticket(ticket.number)
    assert after.assignee == TIER2 and after.team == "software"
    handed = [m for m in desk.outbox("assignment") if m.to_addrs == [TIER2]]
    assert len(handed) == 1
    text = body_of(handed[0])
    assert "一线升级到二线" in text and "数据库连接池耗尽" in text
    # the history, in order: the reporter's mail, the engineer's progress and note, the hand-off
    order = [text.index(s) for s in ("反馈人来信", "处理进展", "内部备注", "梯队升级")]
    assert order == sorted(order), text
    assert "已重启应用服务器" in text and "全员无法接单" in text
    assert [p.get_filename() for p in parsed(handed[0]).iter_attachments()] == ["报错截图.png"]
    # the tier-1 engineer is told to whom it went and why
    told = [m for m in desk.outbox("relay") if m.to_addrs == [TIER1]]
    assert told and "马骏" in body_of(told[-1]) and "数据库连接池耗尽" in body_of(told[-1])
    # the management ladder was not moved by the hand-off; the reporter got the engineer's words only
    assert desk.ticket(ticket.number).escalation_level == 1
    to_reporter = [body_of(m) for m in desk.outbox("relay") if REPORTER in m.to_addrs]
    assert to_reporter and all("数据库连接池" not in b and "#升级" not in b for b in to_reporter)

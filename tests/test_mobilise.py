"""Mobilisation by mail, with the explicit clock: a new P1, a burst incident and a missed P1 response reach the
person on call, the team lead and the manager at once, night or weekend."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desk import (
    LEAD,
    MANAGER,
    REPORTER,
    Helpdesk,
    at,
    body_of,
    desk_settings,
    make_app,
    sweep,
)

ON_CALL = "liu.yang@example.com"  # 刘洋, of the hardware team: on call for everyone over the weekend
ASSIGNEE = "zhou.min@example.com"  # 周敏, of the business team the ERP outage goes to
FRI, SAT = "2026-11-27", "2026-11-28"
ROTA = """\
[[weekly]]
who = "liu.yang@example.com"
days = [5]
start = "18:00"
end = "09:00"
[[weekly]]
who = "liu.yang@example.com"
days = [6, 7]
start = "09:00"
end = "09:00"
"""
SCREENSHOT = ("报错截图.png", "image/png", b"\x89PNG" + b"0" * 300_000)
OUTAGE = ("生产环境 ERP 宕机",
          "生产环境 ERP 宕机了，财务部全员无法开票，张伟这边月底结账受阻。\n影响范围：财务部 20 人")


def urgent_desk(tmp_path: Path, db_url: str, **settings: object) -> Helpdesk:
    app = make_app(tmp_path, desk_settings(db_url, oncall="oncall.toml",
                                           intake={"trusted_authserv_ids": ["mx.example.com"]}, **settings))
    (tmp_path / "oncall.toml").write_text(ROTA, encoding="utf-8")
    app.upgrade()
    return Helpdesk(app)


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Iterator[Helpdesk]:
    """The sample desk with a weekend on-call rota."""
    helpdesk = urgent_desk(tmp_path, db_url)
    yield helpdesk
    helpdesk.app.close()


def test_a_p1_on_friday_night_mobilises_on_call_lead_and_manager_at_once(desk: Helpdesk) -> None:
    """Friday 20:00: the mails to the person on call, the lead and the manager are queued with the ticket, each
    once, with the reporter's words, the impact line and the screenshot's name and size; outsiders see it masked."""
    desk.now = at(FRI, 20)
    ticket = desk.open_ticket(*OUTAGE, name="张伟", attachments=(SCREENSHOT,))
    assert ticket.priority == "P1" and ticket.assignee == ASSIGNEE
    told = desk.outbox("mobilise")
    assert sorted(a for row in told for a in row.to_addrs) == sorted([ON_CALL, LEAD, MANAGER])
    assert all(row.created_at == at(FRI, 20) for row in told)
    by_reader = {row.to_addrs[0]: body_of(row) for row in told}
    for text in by_reader.values():
        assert "无法开票" in text and "影响范围：财务部 20 人" in text
        assert "报错截图.png（293 KB）" in text
    manager = by_reader[MANAGER]
    assert "技术支持经理" in manager and "张伟" not in manager and "张*" in manager  # outside the conversation
    assert "值班人员" in by_reader[ON_CALL]
    assert [e.to_value for e in desk.events(ticket.number, "mobilised")] == ["new"]
    assert len(desk.outbox("assignment")) == 1  # the assignee has the assignment mail, not a second one


def test_a_p2_mobilises_nobody(desk: Helpdesk) -> None:
    """Only the priorities of sla.mobilise_priorities call people out."""
    desk.now = at(FRI, 20)
    desk.open_ticket("ERP 报表导出报错", "ERP 导出报表时报错，请尽快处理，紧急。")
    assert desk.outbox("mobilise") == []


def test_a_p2_the_manager_raises_to_p1_mobilises_the_others_once(desk: Helpdesk) -> None:
    """Friday 20:30 the manager reviews a P2 and raises it to P1: the person on call and the lead are called out at
    once (the manager, who raised it, is not told of their own act); lowering and raising nothing more calls no one."""
    desk.now = at(FRI, 20)
    ticket = desk.open_ticket("ERP 报表导出报错", "ERP 导出报表时报错，请尽快处理，紧急。")
    assert ticket.priority == "P2"
    desk.now = at(FRI, 20, 30)
    desk.staff(ticket, "#优先级 P1", sender=MANAGER)
    raised = desk.outbox("mobilise")
    assert sorted(a for row in raised for a in row.to_addrs) == sorted([ON_CALL, LEAD])
    assert all(row.created_at == at(FRI, 20, 30) and "升为紧急" in row.subject for row in raised)
    assert "已由" in body_of(raised[0]) and "升为 P1" in body_of(raised[0])
    assert [e.to_value for e in desk.events(ticket.number, "mobilised")] == ["raised"]
    desk.staff(desk.ticket(ticket.number), "#优先级 P1", sender=MANAGER)  # already P1: no change, nobody called
    assert len(desk.outbox("mobilise")) == 2


def test_a_p1_response_missed_at_night_is_mailed_at_once_and_once(desk: Helpdesk) -> None:
    """Nobody answered the Friday 20:00 P1 by 22:00: the sweep at 22:00 tells the three again; later sweeps don't."""
    desk.now = at(FRI, 20)
    ticket = desk.open_ticket(*OUTAGE)
    for hh, mm in ((21, 55), (22, 0), (22, 1), (23, 0)):
        sweep(desk.app, at(FRI, hh, mm))
    breach = [row for row in desk.outbox("mobilise") if "响应" in row.subject]
    assert sorted(a for row in breach for a in row.to_addrs) == sorted([ON_CALL, LEAD, MANAGER])
    assert all(row.created_at == at(FRI, 22) for row in breach)
    assert "已超时" in body_of(breach[0])
    assert [e.to_value for e in desk.events(ticket.number, "mobilised")] == ["new", "breach:P1"]


def test_an_answered_p1_is_no_breach(desk: Helpdesk) -> None:
    """The engineer answered within the hour: no breach mail at 22:00."""
    desk.now = at(FRI, 20)
    ticket = desk.open_ticket(*OUTAGE)
    desk.now = at(FRI, 20, 30)
    desk.staff(ticket, "正在排查，请稍候。", sender=ASSIGNEE,
               headers={"Authentication-Results": "mx.example.com; dmarc=pass header.from=example.com"})
    sweep(desk.app, at(FRI, 22, 5))
    assert [row for row in desk.outbox("mobilise") if "响应" in row.subject] == []


def test_a_login_burst_mobilises_once_for_the_incident(desk: Helpdesk) -> None:
    """Five "无法登录" from the finance department within the hour on Saturday: one mobilisation on the first
    ticket, saying five tickets; the sixth adds none."""
    finance = ["zhang.wei@example.com"]
    numbers = []
    for i in range(6):
        desk.now = at(SAT, 10, 5 * i)
        numbers.append(desk.open_ticket(f"OA 无法登录 {i}", "OA 无法登录，提示密码错误。", sender=finance[0]).number)
    told = desk.outbox("mobilise")
    assert {row.to_addrs[0] for row in told} == {ON_CALL, LEAD, MANAGER}
    assert len(told) == 3 and all(numbers[0] in row.subject and "5" in row.subject for row in told)
    assert re.search(r"5 张同类工单", body_of(told[0]))


def test_an_english_desk_mobilises_in_english(tmp_path: Path, db_url: str) -> None:
    """The mobilisation mail of an English desk holds no Chinese of its own making."""
    helpdesk = urgent_desk(tmp_path, db_url, language="en", support_name="IT Support")
    try:
        helpdesk.now = at(FRI, 20)
        helpdesk.open_ticket("Production ERP down", "The production ERP is down for everyone in finance.",
                             sender=REPORTER, attachments=(("error.png", "image/png", b"x" * 2048),))
        [row, *_] = helpdesk.outbox("mobilise")
        text = body_of(row) + row.subject
        assert "Urgent ticket" in text and "error.png (2 KB)" in text
        for name in ("张伟", "张*", "刘洋", "周敏", "吴强", "郑丽"):  # the sample directory's people keep their names
            text = text.replace(name, "")
        assert not re.search(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]", text), text
    finally:
        helpdesk.app.close()

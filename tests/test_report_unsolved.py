"""The weekly report says what stayed unsolved and why: status, whom it waits on, the last note or progress, age."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from maildesk.cli import main
from maildesk.desk.tickets import get_ticket
from maildesk.reports.mailing import weekly_report_job
from tests.desk import (
    Helpdesk,
    body_of,
    desk_fixture,  # noqa: F401
)

MANAGER = "zheng.li@example.com"


def test_the_weekly_report_lists_what_stayed_unsolved_and_why(desk: Helpdesk, capsys: pytest.CaptureFixture[str]
                                                               ) -> None:
    """Waiting on the reporter, on another team, with nobody, or worked on: each says so, with its last word, masked."""
    waiting_user = desk.open_ticket("财务部打印机卡纸", "三楼打印机卡纸")
    waiting_team = desk.open_ticket("打印机驱动装不上", "新电脑装不上打印机驱动")
    solved = desk.open_ticket("显示器不亮", "开机后显示器黑屏")
    desk.later(hours=1)
    desk.staff(waiting_user, "#等待 用户\n张老师，请把打印机面板上的报错拍照发我。")
    desk.staff(waiting_team, "#等待 团队\n#备注 已转网络组，对方联系人手机 13912345678")
    desk.staff(solved, "#状态 已解决\n更换了视频线。")
    desk.now = desk.now + timedelta(days=7)  # the Monday after, 10:00
    assert weekly_report_job(desk.app.desk, desk.app.store, desk.now).endswith("queued 2")
    [report] = [m for m in desk.outbox("report") if m.to_addrs == [MANAGER]]
    text = body_of(report)
    assert "未解决的工单及原因" in text and "仍未解决的工单" in text
    assert waiting_user.number in text and waiting_team.number in text and solved.number not in text.split("未解决")[-1]
    assert "反馈人" in text and "其他团队" in text and "已转网络组，对方联系人手机 139****5678" in text
    assert "13912345678" not in text and "6 天 14 小时" in text  # open at the end of the week
    config = str(desk.app.settings.base_dir / "maildesk.toml")
    assert main(["-c", config, "report", "--period", "week", "--format", "json", "--now", desk.now.isoformat()]) == 0
    figures = json.loads(capsys.readouterr().out)
    rows = {u["number"]: u for u in figures["unsolved"]}
    assert figures["unsolved_total"] == 2 and set(rows) == {waiting_user.number, waiting_team.number}
    user = rows[waiting_user.number]
    assert (user["status"], user["waiting_on"]) == ("waiting_user", "reporter")
    assert rows[waiting_user.number]["last_word"] == "张老师，请把打印机面板上的报错拍照发我。"
    assert (rows[waiting_team.number]["waiting_on"], rows[waiting_team.number]["last_word"]) == (
        "team", "已转网络组，对方联系人手机 139****5678")
    assert figures["by_channel"] == {"email": 3}


def test_a_ticket_nobody_has_waits_on_nobody(desk: Helpdesk) -> None:
    """A ticket no rule could route and no one took is listed as waiting on nobody."""
    orphan = desk.open_ticket("随便问问", "没有明确问题的邮件")
    with desk.app.store.session() as s:
        ticket = get_ticket(s, orphan.number)
        ticket.assignee, ticket.team, ticket.status = None, None, "new"
    desk.now = desk.now + timedelta(days=7)
    weekly_report_job(desk.app.desk, desk.app.store, desk.now)
    [report] = [m for m in desk.outbox("report") if m.to_addrs == [MANAGER]]
    assert "无人处理（待分配）" in body_of(report)

"""The intake form (登记表): 涉及系统, 影响范围, 发生时间 read from the reporter's mail, set by staff commands and
``tickets set``, and shown to the engineer, in ``tickets show`` and in digests (masked for supervisors)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from maildesk.app import App
from maildesk.cli import main
from maildesk.config import load_settings
from maildesk.desk.tickets import NewTicket, create_ticket
from maildesk.ingest.form import IntakeForm, parse_occurred, read_form
from maildesk.ingest.parse import parse_mail
from maildesk.rules.engine import evaluate
from maildesk.rules.loader import parse_rules
from maildesk.rules.model import Defaults
from tests.desk import (
    ENGINEER,
    MANAGER,
    NOW,
    REPORTER,
    TZ,
    Helpdesk,
    body_of,
    context,
    desk_fixture,  # noqa: F401
    mail,
    sweep,
)
from tests.installation import cli, install

FORM_MAIL = """三楼打印机卡纸，销售部打不了合同。

涉及系统：财务打印服务器 PRN-03
发生时间：今天上午9点
影响范围：销售部 30 多人，联系人李娜 13912345678
"""


def test_form_lines_in_chinese_and_english_forms() -> None:
    """Full-width and ASCII colons, Chinese and English labels, list marks; the first line of a field counts."""
    assert read_form(FORM_MAIL + "\n系统：另一个") == IntakeForm(
        "财务打印服务器 PRN-03", "销售部 30 多人，联系人李娜 13912345678", "今天上午9点")
    assert read_form("Hello\n- System: CRM\nStarted: yesterday 3pm\n1. Impact: whole sales team\n") == IntakeForm(
        "CRM", "whole sales team", "yesterday 3pm")
    assert read_form("１. 【涉及系统】：OA\n[Impact]: all") == IntakeForm("OA", "all", "")
    assert read_form("我们的系统：很慢\n系统 正常") == IntakeForm()  # not a form line: a label must open the line


def test_occurred_is_a_moment_only_where_the_words_name_one() -> None:
    """A date and time, or 今天/昨天 with a time, in the desk's zone; a date alone, vague words, the future: no."""
    def at(text: str) -> datetime | None:
        return parse_occurred(text, TZ, NOW)  # NOW is Monday 2026-11-23 10:00 in Shanghai

    assert at("今天上午9点") == datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    assert at("昨天下午3点半") is None  # 半 is not read: the words stay, no moment is guessed
    assert at("昨天下午3点") == datetime(2026, 11, 22, 15, 0, tzinfo=TZ)
    assert at("2026年11月20日 14点30分") == datetime(2026, 11, 20, 14, 30, tzinfo=TZ)
    assert at("2026-11-23 09:30") == datetime(2026, 11, 23, 9, 30, tzinfo=TZ)
    assert at("yesterday 3pm") == datetime(2026, 11, 22, 15, 0, tzinfo=TZ)
    assert at("12/31 10:00") == datetime(2025, 12, 31, 10, 0, tzinfo=TZ)  # no year: the last 31 December
    for vague in ("2026-11-23", "一早", "升级以后", "9:30", "今天晚上9点", "11/23 14:00", "2月30日 9:00"):
        assert at(vague) is None, vague


def test_a_mailed_form_fills_the_ticket_and_the_assignment_mail(desk: Helpdesk) -> None:
    """The reporter's form lines fill system, impact and occurred; the engineer reads them in a block of their own."""
    t = desk.open_ticket(body=FORM_MAIL)
    ticket = desk.ticket(t.number)
    assert (ticket.system, ticket.impact, ticket.occurred) == (
        "财务打印服务器 PRN-03", "销售部 30 多人，联系人李娜 13912345678", "今天上午9点")
    assert ticket.occurred_at == datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    [assignment] = desk.outbox("assignment")
    text = assignment.text
    assert assignment.to_addrs == [ENGINEER]
    assert "登记表：\n  涉及系统：财务打印服务器 PRN-03\n  影响范围：销售部 30 多人" in text
    assert "发生时间：今天上午9点 (2026-11-23 09:00)" in text
    assert "登记表" in body_of(assignment).split("问题描述")[0]  # the HTML part too, above the description


def test_a_mail_without_a_form_leaves_the_block_out(desk: Helpdesk) -> None:
    """No form lines, no rule naming a system: the assignment mail has no empty form block."""
    t = desk.open_ticket()
    assert (desk.ticket(t.number).system, desk.ticket(t.number).impact) == ("", "")
    assert "登记表" not in body_of(desk.outbox("assignment")[0])


def test_staff_set_the_fields_by_command_and_each_change_is_audited(desk: Helpdesk) -> None:
    """#涉及系统 / #impact / #发生时间 fill the form; the history keeps old and new; the reporter hears nothing."""
    t = desk.open_ticket()
    outcome = desk.staff(t, "#涉及系统 OA 审批\n#impact 全公司约 200 人\n#发生时间 2026-11-23 08:45")
    assert "3 command(s) applied" in outcome.reason
    ticket = desk.ticket(t.number)
    assert (ticket.system, ticket.impact, ticket.occurred) == ("OA 审批", "全公司约 200 人", "2026-11-23 08:45")
    assert ticket.occurred_at == datetime(2026, 11, 23, 8, 45, tzinfo=TZ)
    desk.staff(t, "#system OA workflow\n#occurred since the upgrade")
    ticket = desk.ticket(t.number)
    assert (ticket.system, ticket.occurred, ticket.occurred_at) == ("OA workflow", "since the upgrade", None)
    [first, second] = desk.events(t.number, "system")
    assert (first.from_value, first.to_value, second.to_value) == ("", "OA 审批", "OA workflow")
    assert [e.to_value for e in desk.events(t.number, "occurred")] == ["2026-11-23 08:45", "since the upgrade"]
    assert desk.outbox("relay") == []


def test_the_reporters_later_reply_completes_the_form_but_never_overrides_staff(desk: Helpdesk) -> None:
    """Form lines in a reply fill what is still empty; a field staff set stays as they set it; the engineer
    still gets the reply."""
    t = desk.open_ticket()
    desk.staff(t, "#system 打印服务器\n请补充影响范围和发生时间。")
    desk.later(minutes=30)
    desk.reporter(t, "影响范围：财务部 5 人\n发生时间：今天上午9点\n涉及系统：三楼打印机")
    ticket = desk.ticket(t.number)
    assert (ticket.system, ticket.impact, ticket.occurred) == ("打印服务器", "财务部 5 人", "今天上午9点")
    assert ticket.occurred_at == datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    assert [e.actor for e in desk.events(t.number, "impact")] == [REPORTER]
    assert [m.to_addrs for m in desk.outbox("relay")][-1] == [ENGINEER]


def test_an_empty_form_command_is_refused_and_nothing_changes(desk: Helpdesk) -> None:
    """#影响范围 with nothing after it is an error the engineer hears of; the other commands are not applied."""
    t = desk.open_ticket()
    desk.staff(t, "#涉及系统 ERP\n#影响范围")
    assert desk.ticket(t.number).system == ""
    [error] = desk.outbox("command_error")
    assert "#影响范围 销售部 30 多人" in error.text


def test_a_rule_names_the_system_where_the_mail_does_not() -> None:
    """A rule's ``system`` action fills the field; ``rules test --json`` shows it."""
    rules = parse_rules('[[rule]]\nname = "erp"\nconditions = [{ field = "subject", op = "contains", value = "ERP" }]\n'
                        '[rule.actions]\nsystem = "ERP 财务系统"\n', source="r.toml", types=["other"],
                        priorities=["P3"], teams=[])
    decision = evaluate(rules, parse_mail(mail(REPORTER, "ERP 无法登录", "报错")), None, in_business_hours=True,
                        defaults=Defaults())
    assert decision.system == "ERP 财务系统" and decision.as_dict()["system"] == "ERP 财务系统"


def test_digest_shows_system_and_impact_masked(desk: Helpdesk) -> None:
    """A breached ticket in the supervisors' digest carries its system and impact, the mobile number masked."""
    t = desk.open_ticket(body=FORM_MAIL)
    desk.staff(t, "#priority P1")
    sent = sweep(desk.app, datetime(2026, 11, 24, 9, 5, tzinfo=TZ))
    assert any(q.kind == "digest" for q in sent)
    digest = next(m for m in desk.outbox("digest") if m.to_addrs == [MANAGER])
    assert "涉及系统：财务打印服务器 PRN-03" in digest.text
    assert "影响范围：销售部 30 多人" in digest.text
    assert "13912345678" not in body_of(digest) and "139****5678" in digest.text


def test_tickets_set_and_show_the_form(tmp_path: Path) -> None:
    """``tickets set --system/--impact/--occurred`` fills the form; ``tickets show`` prints it, --json has the keys."""
    config = install(tmp_path, mails=())
    app = App(load_settings(config))
    app.upgrade()
    with app.store.session() as s:
        number = create_ticket(context(app, s, NOW), NewTicket(subject="ERP 打不开", reporter=REPORTER, priority="P3",
                                                              type="software")).number
    app.close()
    cli(config, "tickets", "set", number, "--system", "ERP", "--impact", "财务部 5 人",
        "--occurred", "2026-11-20 09:00")
    shown = cli(config, "tickets", "show", number).stdout
    assert "涉及系统 ERP" in shown and "影响范围 财务部 5 人" in shown and "发生时间 2026-11-20 09:00" in shown
    detail = json.loads(cli(config, "tickets", "show", number, "--json").stdout)
    assert (detail["system"], detail["impact"], detail["occurred"]) == ("ERP", "财务部 5 人", "2026-11-20 09:00")
    assert detail["occurred_at"] == "2026-11-20T09:00:00+08:00"
    assert {"number", "status", "messages", "events"} <= detail.keys()


def test_reports_count_tickets_by_system(desk: Helpdesk, capsys: pytest.CaptureFixture[str]) -> None:
    """The weekly report counts tickets by the system their form names (masked), in JSON and in the table."""
    desk.open_ticket(body=FORM_MAIL)
    desk.open_ticket("ERP 打不开", "涉及系统：ERP\n影响范围：财务部")
    desk.open_ticket("ERP 报表慢", "系统: ERP")
    desk.open_ticket()
    config = str(desk.app.settings.base_dir / "maildesk.toml")
    assert main(["-c", config, "report", "--period", "week", "--json", "--now", "2026-11-30T10:00:00+08:00"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["by_system"] == {"ERP": 2, "": 1, "财务打印服务器 PRN-03": 1}
    assert main(["-c", config, "report", "--period", "week", "--now", "2026-11-30T10:00:00+08:00"]) == 0
    table = capsys.readouterr().out
    assert "按涉及系统" in table and "未填" in table

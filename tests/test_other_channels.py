"""Tickets staff record for a reporter who called, messaged or came by: by a proven mail, never by a forged one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.cli import main
from maildesk.ingest.outcome import Result
from maildesk.store.models import Message, Ticket
from tests.desk import (
    Helpdesk,
    body_of,
    desk_fixture,  # noqa: F401
    desk_settings,
    mail,
    make_app,
    parsed,
    stamped,
    write_config,
)

STAFF = "sun.hao@example.com"  # 孙浩 takes the call
REPORTER = "zhang.wei@example.com"  # 张伟, 财务部
PRINTERS = "liu.yang@example.com"  # 刘洋: printer tickets are his
DKIM_PASS = ("Authentication-Results",
             "mx.example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com")


def _recorded(desk: Helpdesk, body: str, *, subject: str = "财务部打印机卡纸", proven: bool = True,
              sender: str = STAFF) -> tuple[str, Ticket | None]:
    raw = mail(sender, subject, body, name="孙浩")
    outcome = desk.feed(stamped(raw, DKIM_PASS) if proven else raw)
    return outcome.result, desk.ticket(outcome.ticket) if outcome.ticket else None


def test_a_phone_call_recorded_by_mail_becomes_the_reporters_ticket(desk: Helpdesk) -> None:
    """The reporter, not the staff member, is the ticket's reporter; the rules, the ack and the assignment follow."""
    result, ticket = _recorded(desk, "#reporter zhang.wei@example.com\n#channel 电话\n\n"
                                     "张伟来电：三楼打印机一直卡纸，月底报表打印不出来。\n")
    assert result == Result.CREATED and ticket is not None
    assert (ticket.reporter, ticket.reporter_name, ticket.reporter_department, ticket.channel) == (
        REPORTER, "张伟", "财务部", "phone")
    assert (ticket.team, ticket.assignee) == ("hardware", PRINTERS)
    [ack] = desk.outbox("ack")
    ack_text = body_of(ack)
    assert ack.to_addrs == [REPORTER] and ticket.number in ack.subject
    history = desk.events(ticket.number)  # it says who recorded the ticket, and how the problem came
    assert [(e.actor, e.action, e.to_value) for e in history if e.action in ("created", "recorded")] == [
        (STAFF, "created", "assigned"), (STAFF, "recorded", "phone")]
    header = parsed(ack)
    with desk.app.store.session() as s:
        [first] = s.scalars(select(Message).where(Message.ticket_id == ticket.id, Message.direction == "in"))
        assert (first.from_addr, first.kind) == (STAFF, "recorded") and "#reporter" not in first.text
        assert "三楼打印机" in first.text
    # the reporter never had the staff member's mail: the ack answers nothing, and names no staff address
    assert header["In-Reply-To"] is None and first.message_id not in (header["References"] or "")
    assert STAFF not in ack_text and "孙浩" not in ack_text
    [assignment] = desk.outbox("assignment")
    assert assignment.to_addrs == [PRINTERS] and "孙浩代反馈人登记（渠道：电话）" in body_of(assignment)


def test_the_reporter_answers_the_ack_as_if_they_had_written(desk: Helpdesk) -> None:
    """A reply of the reporter to the ack joins the ticket as theirs, and reaches the engineer."""
    _, ticket = _recorded(desk, "#反馈人 张伟\n#渠道 微信\n张伟微信说打印机卡纸")
    assert ticket is not None and (ticket.reporter, ticket.channel) == (REPORTER, "im")
    outcome = desk.reporter(ticket, "补充：是三楼东侧那台，型号 HP M607。")
    assert (outcome.result, outcome.ticket) == (Result.REPLY, ticket.number)
    assert any("HP M607" in body_of(m) for m in desk.outbox("relay") if m.to_addrs == [PRINTERS])


def test_a_caller_the_directory_does_not_know_is_recorded_under_any_policy(tmp_path: Path, db_url: str) -> None:
    """Staff vouch for the caller: even under the reject policy the ticket opens, with the name staff gave."""
    app = make_app(tmp_path, desk_settings(db_url, intake={"trusted_authserv_ids": ["mx.example.com"],
                                                           "unknown_senders": "reject"}))
    desk = Helpdesk(app)
    result, ticket = _recorded(desk, "#reporter 王五 <wang.wu@partner.example.cn>\n#channel walk-in\n"
                                     "到前台反映会议室投影仪没有信号")
    assert result == Result.CREATED and ticket is not None
    assert (ticket.reporter, ticket.reporter_name, ticket.channel, ticket.flags) == (
        "wang.wu@partner.example.cn", "王五", "walk-in", [])
    assert [m.to_addrs for m in desk.outbox("ack")] == [["wang.wu@partner.example.cn"]]
    assert desk.outbox("reject") == []
    app.close()


def test_a_forged_staff_mail_cannot_make_the_desk_write_to_anyone(desk: Helpdesk) -> None:
    """An attacker writing as staff without proof gets nothing opened and nothing sent to the victim; the real
    owner of the staff address hears of it."""
    victim = "ceo@bigcustomer.example.com"
    result, ticket = _recorded(desk, f"#reporter {victim}\n#channel phone\n点击链接领取奖品 http://evil.example",
                               proven=False)
    assert (result, ticket) == (Result.REJECTED, None)
    with desk.app.store.session() as s:
        assert s.scalars(select(Ticket)).all() == []
        assert s.scalars(select(Message.kind)).all() == ["unverified"]
    assert all(victim not in m.to_addrs for m in desk.outbox())
    [warning] = desk.outbox("command_error")
    assert warning.to_addrs == [STAFF] and "无法证实邮件来自您本人" in body_of(warning)


def test_unusable_form_lines_are_answered_and_open_nothing(desk: Helpdesk) -> None:
    """A reporter that is no address, an unknown channel, the desk's own address, no problem: each line is named."""
    result, ticket = _recorded(desk, "#reporter 某位同事\n#channel 飞鸽传书\n打印机卡纸")
    assert (result, ticket) == (Result.REJECTED, None)
    [answer] = desk.outbox("command_error")
    text = body_of(answer)
    assert "#reporter 某位同事" in text and "无法确定反馈人" in text
    assert "#channel 飞鸽传书" in text and "没有这个渠道：飞鸽传书" in text
    result, _ = _recorded(desk, "#reporter support@example.com\n打印机卡纸", subject="另一个")
    assert result == Result.REJECTED and "本服务台自己的地址" in body_of(desk.outbox("command_error")[-1])
    result, _ = _recorded(desk, "#reporter zhang.wei@example.com\n#channel phone\n", subject="第三个")
    last = body_of(desk.outbox("command_error")[-1])
    assert result == Result.REJECTED and "请在 #反馈人 等行之后写下问题描述" in last
    assert desk.outbox("ack") == []


def test_a_staff_mail_without_the_form_is_their_own_problem(desk: Helpdesk) -> None:
    """Staff reporting a problem of their own (no #reporter line) stay its reporter, by mail channel."""
    result, ticket = _recorded(desk, "我的打印机也卡纸了")
    assert result == Result.CREATED and ticket is not None
    assert (ticket.reporter, ticket.channel) == (STAFF, "email")


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_command_line_records_a_walk_in_the_same_way(tmp_path: Path, db_url: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`tickets new` opens the reporter's ticket through the desk's own way: rules, ack, channel, who recorded it."""
    config = str(write_config(tmp_path, desk_settings(db_url)))
    problem = tmp_path / "problem.txt"
    problem.write_text("张伟到服务台：三楼打印机卡纸，报表打印不出来。\n", encoding="utf-8")
    code, out, err = _cli(["-c", config, "tickets", "new", "--reporter", "张伟", "--subject", "财务部打印机卡纸",
                           "--body-file", str(problem), "--channel", "现场", "--by", "孙浩", "--json"], capsys)
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["reporter"], shown["channel"], shown["assignee"], shown["team"]) == (
        REPORTER, "walk-in", PRINTERS, "hardware")
    assert [(e["actor"], e["to"]) for e in shown["events"] if e["action"] == "recorded"] == [(STAFF, "walk-in")]
    assert [(m["direction"], m["from"], m["kind"]) for m in shown["messages"]] == [
        ("in", STAFF, "recorded"), ("out", "support@example.com", "ack"), ("out", "support@example.com",
                                                                             "assignment")]
    code, out, err = _cli(["-c", config, "tickets", "show", shown["number"]], capsys)
    assert code == 0 and "渠道 现场" in out  # the desk writes Chinese
    code, out, _ = _cli(["-c", config, "tickets", "list", "--json"], capsys)
    assert [t["channel"] for t in json.loads(out)] == ["walk-in"]


@pytest.mark.parametrize(("args", "option"), [
    (["--reporter", "zhang.wei@example.com", "--channel", "信鸽"], "--channel"),
    (["--reporter", "某位同事"], "--reporter"),
    (["--reporter", "support@example.com"], "--reporter"),
    (["--reporter", "zhang.wei@example.com", "--body-file", "EMPTY"], "--body-file"),
    (["--reporter", "zhang.wei@example.com", "--body-file", "MISSING"], "--body-file"),
])
def test_the_command_line_names_the_option_it_cannot_use(tmp_path: Path, db_url: str, args: list[str], option: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A bad channel, reporter or body file is a usage error (exit 2) whose reason names the option; nothing opens."""
    config = str(write_config(tmp_path, desk_settings(db_url)))
    (tmp_path / "problem.txt").write_text("打印机卡纸", encoding="utf-8")
    (tmp_path / "EMPTY").write_text("  \n", encoding="utf-8")
    files = {"EMPTY": str(tmp_path / "EMPTY"), "MISSING": str(tmp_path / "missing.txt")}
    args = [files.get(a, a) for a in args]
    if "--body-file" not in args:
        args += ["--body-file", str(tmp_path / "problem.txt")]
    code, _, err = _cli(["-c", config, "tickets", "new", "--subject", "打印机", *args], capsys)
    assert code == 2 and f"{option}: " in err
    code, out, _ = _cli(["-c", config, "tickets", "list", "--json"], capsys)
    assert json.loads(out) == []

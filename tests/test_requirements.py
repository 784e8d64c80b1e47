"""Requirements (需求) by mail with an explicit clock: to the product manager, evaluated within 3 working days
(reminder, escalation on their own ladder), #evaluate tells the requester, an accepted one gets its RD number."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from maildesk.cli import main
from maildesk.statuses import Status
from tests.desk import (
    MANAGER,
    Helpdesk,
    at,
    body_of,
    desk_fixture,  # noqa: F401
    sweep,
    utc,
)

REQUESTER = "li.na@example.com"  # 李娜, 销售部
PM = "xu.ting@example.com"  # 徐婷, product: the evaluating role
ENGINEER = "liu.yang@example.com"  # 刘洋, a hardware engineer: may not decide a requirement


def _requirement(desk: Helpdesk, subject: str = "新功能申请：销售报表导出 Excel",
                 body: str = "希望增加销售报表一键导出 Excel 的功能，每周例会要用。") -> str:
    ticket = desk.open_ticket(subject, body, sender=REQUESTER, name="李娜")
    return ticket.number


def test_a_requirement_goes_to_the_product_manager_due_in_three_working_days_across_a_weekend(
        desk: Helpdesk) -> None:
    """Thursday 10:00 → due Tuesday 10:00 (Friday, Monday, Tuesday); the PM is told and reminded, the manager
    hears of it when it is missed, and the requester's acknowledgement names the evaluation, not a fix."""
    desk.now = utc(at("2026-11-26", 10))  # a Thursday
    number = _requirement(desk)
    t = desk.ticket(number)
    assert (t.type, t.assignee) == ("requirement", PM)
    assert t.resolve_due == utc(at("2026-12-01", 10))
    [assignment] = desk.outbox("assignment")
    assert assignment.to_addrs == [PM]
    assert "请在 2026-12-01 10:00 之前给出评估结论" in body_of(assignment) and "#评估 可实施" in body_of(assignment)
    [ack] = desk.outbox("ack")
    assert "评估时限：2026-12-01 10:00 之前给出需求评估结论" in body_of(ack)
    # no reminder for an ordinary resolution target; the evaluation's own, 4 business hours before
    sweep(desk.app, utc(at("2026-11-30", 14, 45)))
    assert not [m for m in desk.outbox("reminder") if "需求评估" in body_of(m)]
    sweep(desk.app, utc(at("2026-11-30", 15)))
    reminders = [m for m in desk.outbox("reminder") if "需求评估" in body_of(m)]
    assert [m.to_addrs for m in reminders] == [[PM]]
    assert not [m for m in desk.outbox("reminder") if "解决" in body_of(m)]
    assert not [q for q in sweep(desk.app, utc(at("2026-12-01", 9, 45))) if q.ticket]  # nothing until it is due
    queued = sweep(desk.app, utc(at("2026-12-01", 10)))
    assert [(q.kind, q.to, q.level) for q in queued] == [("escalation", (MANAGER,), 1)]
    [escalation] = desk.outbox("escalation")
    assert "需求评估时限" in body_of(escalation)


def test_the_evaluation_is_due_after_national_day_on_the_make_up_saturday(desk: Helpdesk) -> None:
    """Wednesday 30 September 10:00: 1–7 October are off and Saturday 10 October is worked, so 3 working days
    run out on that Saturday at 10:00."""
    desk.now = utc(at("2026-09-30", 10))
    number = _requirement(desk)
    assert desk.ticket(number).resolve_due == utc(at("2026-10-10", 10))


def test_feasible_tells_the_requester_gives_an_rd_number_and_closes_without_asking_if_it_is_solved(
        desk: Helpdesk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """#评估 可实施: the requester's mail says the outcome, the reason and RD-YYYYMMDD-0001 (the desk's local
    date), the ticket closes, no confirmation question and no survey ever; tickets show shows the number."""
    desk.now = utc(at("2026-11-30", 23, 30))  # Monday 23:30 in Shanghai, still the 30th
    number = _requirement(desk)
    desk.now = utc(at("2026-12-01", 10))
    outcome = desk.staff(desk.ticket(number), "#评估 可实施 计划在 1 月版本上线\n\n感谢您的建议。", sender=PM)
    assert outcome.result != "quarantined"
    t = desk.ticket(number)
    assert t.status == Status.CLOSED
    [mail] = desk.outbox("evaluation")
    text = body_of(mail)
    assert mail.to_addrs == [REQUESTER]
    assert "可实施" in mail.subject and "RD-20261201-0001" in mail.subject
    assert "计划在 1 月版本上线" in text and "感谢您的建议" in text and "RD-20261201-0001" in text
    assert "是否已解决" not in text
    assert [e.to_value for e in desk.events(number, "evaluated")] == ["feasible"]
    assert [e.to_value for e in desk.events(number, "rd_number")] == ["RD-20261201-0001"]
    for hours in (0, 1, 24, 48):  # the survey phase runs, and sends nothing for a requirement
        sweep(desk.app, utc(at("2026-12-01", 10)) + timedelta(hours=hours))
    kinds = {m.kind for m in desk.outbox()}
    assert not kinds & {"confirm", "survey", "relay", "closed"}, kinds
    # a second accepted requirement the same day: the next number
    other = _requirement(desk, "需求申请：客户拜访记录增加照片", "希望能增加拍照上传的功能。")
    desk.staff(desk.ticket(other), "#evaluate feasible fits the Q1 plan", sender=PM)
    assert "RD-20261201-0002" in desk.outbox("evaluation")[-1].subject
    shown = json.loads(_cli(tmp_path, ["tickets", "show", number, "--json"], capsys))
    assert shown["requirement"] == {"outcome": "feasible", "rd_number": "RD-20261201-0001", "evaluated_by": PM,
                                    "evaluated_at": "2026-12-01T10:00:00+08:00", "note": "计划在 1 月版本上线"}
    assert "需求评估 可实施  RD-20261201-0001" in _cli(tmp_path, ["tickets", "show", number], capsys)


def _cli(folder: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["--config", str(folder / "maildesk.toml"), *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_needs_change_waits_on_the_requester_and_their_reply_brings_it_back_to_be_evaluated(
        desk: Helpdesk) -> None:
    """需调整方案 stops the clock; the requester's changed proposal resumes it; 暂不可实施 then closes it."""
    desk.now = utc(at("2026-11-23", 10))  # Monday
    number = _requirement(desk)
    desk.now = utc(at("2026-11-24", 10))
    desk.staff(desk.ticket(number), "#评估 需调整方案 请说明需要导出哪些字段", sender=PM)
    assert desk.ticket(number).status == Status.WAITING_USER
    [mail] = desk.outbox("evaluation")
    assert "需调整方案" in body_of(mail) and "请按上述意见调整方案后直接回复本邮件" in body_of(mail)
    desk.now = utc(at("2026-11-25", 10))  # a working day of waiting: the due time moves a day on
    desk.reporter(desk.ticket(number), "需要客户名称、金额、日期三个字段。", sender=REQUESTER)
    t = desk.ticket(number)
    assert t.status == Status.IN_PROGRESS and t.resolve_due == utc(at("2026-11-27", 10))
    desk.now = utc(at("2026-11-25", 11))
    desk.staff(t, "#评估 暂不可实施：本季度开发资源已排满", sender=PM)
    assert desk.ticket(number).status == Status.CLOSED
    last = desk.outbox("evaluation")[-1]
    assert "暂不可实施" in last.subject and "本季度开发资源已排满" in body_of(last) and "RD-" not in body_of(last)
    assert [e.to_value for e in desk.events(number, "evaluated")] == ["needs_change", "not_now"]


def test_wrong_evaluations_are_refused_and_change_nothing(desk: Helpdesk) -> None:
    """Not a requirement, no outcome, no reason, an engineer deciding, #status resolved, #close or #status closed
    (both ask the requester "is it solved?" on a fault): the sender is told why and the ticket stays as it was."""
    desk.now = utc(at("2026-11-23", 10))
    number = _requirement(desk)
    fault = desk.open_ticket("财务部打印机卡纸", "三楼打印机一直卡纸。")
    desk.staff(fault, "#评估 可实施 好的")
    desk.staff(desk.ticket(number), "#评估 也许吧", sender=PM)
    desk.staff(desk.ticket(number), "#评估 可实施", sender=PM)
    desk.staff(desk.ticket(number), "#评估 可实施 我觉得可以", sender=ENGINEER)
    desk.staff(desk.ticket(number), "#状态 已解决\n已经做了", sender=PM)
    desk.staff(desk.ticket(number), "#关闭\n已经做了", sender=PM)
    desk.staff(desk.ticket(number), "#状态 已关闭\n已经做了", sender=PM)
    errors = [body_of(m) for m in desk.outbox("command_error")]
    assert len(errors) == 7
    assert "只有「需求」类工单需要评估" in errors[0]
    assert "缺少评估结论" in errors[1] and "可实施、暂不可实施、需调整方案" in errors[1]
    assert "请写明评估意见" in errors[2]
    assert "需求评估只能由产品经理" in errors[3]
    assert all("需求不需要「已解决」" in e for e in errors[4:])
    assert not desk.outbox("evaluation") and not desk.outbox("confirm")
    assert desk.ticket(number).status == Status.IN_PROGRESS  # the words went to the requester, nothing more
    assert not desk.events(number, "evaluated")


@pytest.fixture
def english(tmp_path: Path, db_url: str) -> Iterator[Helpdesk]:
    """An English desk with a product manager."""
    from tests.test_english_desk import PEOPLE, english_desk

    with english_desk(tmp_path, db_url,
                      people=PEOPLE + "pam@example.com,Pam Hart,Product,E6,8303,,product,product,no\n") as desk:
        yield desk


def test_an_english_desk_evaluates_in_english(english: Helpdesk) -> None:
    """#type requirement makes the ticket a requirement with its own deadline; #evaluate not-now tells the
    requester in English, and no mail of it holds a Chinese character."""
    from tests.test_english_desk import CJK, _texts

    desk = english
    desk.now = utc(at("2026-11-26", 10))
    ticket = desk.open_ticket("Feature request: export to Excel", "Please add an Excel export to the sales report.",
                              sender="ann@example.com", name="Ann Reed")
    desk.staff(ticket, "#type requirement\n#assign pam@example.com", sender="dan@example.com", re="Re: ")
    t = desk.ticket(ticket.number)
    assert (t.type, t.assignee, t.resolve_due) == ("requirement", "pam@example.com", utc(at("2026-12-01", 10)))
    sweep(desk.app, utc(at("2026-11-30", 15)))
    sweep(desk.app, utc(at("2026-12-01", 10)))
    desk.now = utc(at("2026-12-01", 11))
    desk.staff(t, "#evaluate not-now: no budget this quarter", sender="pam@example.com", re="Re: ")
    [mail] = desk.outbox("evaluation")
    assert "not now" in mail.subject and "no budget this quarter" in body_of(mail)
    assert {"reminder", "escalation", "evaluation"} <= {m.kind for m in desk.outbox()}
    for row in desk.outbox():
        assert not CJK.findall(_texts(row)), row.kind


def test_reports_count_requirements_by_outcome(desk: Helpdesk, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The week's requirements by outcome, pending while not evaluated, in JSON, CSV and the Chinese table."""
    desk.now = utc(at("2026-11-23", 10))
    accepted, declined, _open = _requirement(desk), _requirement(desk, "新需求：审批流程支持会签"), \
        _requirement(desk, "优化建议：首页加载太慢", "希望能增加缓存。")
    desk.open_ticket()  # a fault: no requirement
    desk.later(hours=1)
    desk.staff(desk.ticket(accepted), "#评估 可实施 下个版本", sender=PM)
    desk.staff(desk.ticket(declined), "#评估 暂不可实施 与现有流程冲突", sender=PM)
    args = ["report", "--from", "2026-11-23", "--to", "2026-11-29", "--now", "2026-11-30T10:00:00+08:00"]
    report = json.loads(_cli(tmp_path, [*args, "--format", "json"], capsys))
    assert report["requirements"] == {"feasible": 1, "not_now": 1, "needs_change": 0, "pending": 1}
    rows = _cli(tmp_path, [*args, "--format", "csv"], capsys).splitlines()
    assert "requirements,feasible,count,1" in rows and "requirements,pending,count,1" in rows
    monkeypatch.setenv("COLUMNS", "160")
    table = _cli(tmp_path, args, capsys)
    assert "需求（按评估结论）" in table and "可实施" in table and "待评估" in table, table


@pytest.mark.parametrize(("section", "needles"), [
    ('type = "wish"', ["requirements.type", "'wish'", "types"]),
    ('number_prefix = "TS"', ["requirements.number_prefix", "ticket_prefix"]),
    ('escalation = [{ after_days = 3, to = "manager" }, { after_days = 2, to = "director" }]',
     ["requirements.escalation[1].after_days", "2 working days"]),
    ('escalation = [{ after_days = 3, to = "manger" }]', ["requirements.escalation[0].to", "'manger'"]),
], ids=["type", "prefix", "ladder", "role"])
def test_a_wrong_requirements_section_is_one_line_naming_the_key(tmp_path: Path, section: str,
                                                                 needles: list[str]) -> None:
    """The [requirements] section is validated like the priorities: exit 2, one line, the dotted key."""
    from tests.installation import assert_one_line_error, cli, install

    config = install(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + f"\n[requirements]\n{section}\n", encoding="utf-8")
    assert_one_line_error(cli(config, "rules", "check"), *needles)


def test_a_late_evaluation_opens_a_review_naming_the_evaluation(desk: Helpdesk) -> None:
    """Evaluated a working day after it was due: the supervisors are asked for a review (复盘) of the evaluation."""
    from maildesk.views import ticket_detail

    desk.now = utc(at("2026-11-23", 10))
    number = _requirement(desk)
    desk.now = utc(at("2026-11-27", 10))
    desk.staff(desk.ticket(number), "#评估 暂不可实施 与现有流程冲突", sender=PM)
    [review] = desk.outbox("review")
    assert review.to_addrs == [MANAGER] and "需求评估时限已超出 9 小时" in body_of(review)
    with desk.app.store.session() as s:  # the ORM's view (tickets set/new --json) shows the same evaluation
        shown = ticket_detail(s, desk.ticket(number), desk.app.settings.tz)["requirement"]
    assert shown["outcome"] == "not_now" and shown["rd_number"] is None and shown["evaluated_by"] == PM

"""The packaged mail templates and the operator's overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from maildesk.errors import ConfigError
from maildesk.outbound.templates import LANGS, PACKAGED_KINDS, TemplateError, Templates

NUMBER = "TS-20261122-0007"

TICKET: dict[str, Any] = {
    "number": NUMBER,
    "subject": "回复: 打印机卡纸 <urgent>",
    "priority": "P2",
    "priority_name": "高",
    "type_name": "硬件故障",
    "status_name": "处理中",
    "response_due": "2026-11-22 13:30",
    "resolve_due": "2026-11-22 17:30",
    "reporter_name": "张三",
    "assignee_name": "李工",
    "created_at": "2026-11-22 09:30",
}

# One sample context per packaged kind, with every key the module docstring documents.
SAMPLES: dict[str, dict[str, Any]] = {
    "ack": {"ticket": TICKET, "kb_articles": [{"id": 12, "title": "打印机卡纸的处理方法",
                                               "summary": "打开后盖取出卡纸，重启打印机。"}]},
    "evaluation": {"reporter_name": "张三", "ticket": TICKET, "evaluator_name": "徐婷", "outcome": "feasible",
                   "outcome_name": "可实施", "note": "计划在 1 月版本上线", "words": "感谢您的建议。",
                   "rd_number": "RD-20261201-0001"},
    "kb_article": {"reader_name": "张三", "ticket": TICKET, "requested": 12,
                   "article": {"id": 12, "title": "打印机卡纸的处理方法", "problem": "三楼打印机卡纸",
                               "solution": "打开后盖取出卡纸，重启打印机。"}},
    "assignment": {
        "assignee_name": "李工",
        "ticket": TICKET,
        "reporter": {
            "name": "张三",
            "address": "zhangsan@example.cn",
            "department": "财务部",
            "employee_id": "E1024",
            "extension": "8021",
        },
        "description": "三楼打印机一直卡纸，\n报错 E-05。",
        "form": {"system": "打印服务器", "impact": "财务部 5 人", "occurred": "今天上午9点 (2026-11-22 09:00)"},
        "briefing": {"attached": ["卡纸.jpg"], "listed": [{"name": "录像.mp4", "size": "48 MB"}],
                     "history": [{"at": "11-22 10:15", "what": "内部备注", "who": "李工", "text": "已联系厂家"}]},
    },
    "reject": {"sender_name": "王五", "original_subject": "请帮忙开通权限"},
    "command_error": {
        "staff_name": "李工",
        "ticket": TICKET,
        "errors": [{"line": "优先级: P9", "reason": "没有这个优先级（可选 P1–P4）"}],
        "applied": ["状态: 处理中"],
    },
    "relay": {"ticket": TICKET, "engineer_name": "李工", "body": "您好，\n请先重启打印机再试。"},
    "progress": {
        "reporter_name": "张三",
        "ticket": TICKET,
        "entries": [{"at": "11-22 10:15", "action": "远程检查", "result": "定影器故障"}],
        "next_update": "2026-11-22 14:00",
    },
    "reminder": {
        "assignee_name": "李工",
        "ticket": TICKET,
        "target_name": "首次响应",
        "due": "2026-11-22 13:30",
        "remaining": "30 分钟",
    },
    "escalation": {
        "recipient_name": "赵经理",
        "level": 2,
        "role": "技术支持经理",
        "ticket": TICKET,
        "missed": "解决时限",
        "due": "2026-11-22 17:30",
        "overdue_by": "2 小时 15 分钟",
    },
    "digest": {
        "recipient_name": "赵经理",
        "period": "2026-11-22 09:00–10:00",
        "generated_at": "2026-11-22 10:00",
        "breaches": [
            {
                "number": NUMBER,
                "subject": "打印机卡纸",
                "priority": "P2",
                "assignee_name": "李工",
                "overdue_by": "1 小时",
                "system": "打印服务器",
                "impact": "财务部 5 人",
            },
        ],
        "at_risk": [
            {
                "number": "TS-20261122-0008",
                "subject": "无法登录",
                "priority": "P1",
                "assignee_name": "周工",
                "due": "10:30",
                "system": "",
                "impact": "",
            },
        ],
        "oldest": [{"number": "TS-20261101-0001", "subject": "需求", "status_name": "待协同", "age": "21 天"}],
        "load": [{"engineer": "李工", "open": 5, "breached": 1}],
    },
    "confirm": {
        "reporter_name": "张三",
        "ticket": TICKET,
        "engineer_name": "李工",
        "resolution": "更换了定影器。",
        "auto_close_after": "3 个工作日",
    },
    "survey": {"reporter_name": "张三", "ticket": TICKET},
    "closed": {
        "reporter_name": "张三",
        "ticket": TICKET,
        "close_reason": "您已确认问题解决",
        "resolution": "更换了定影器。",
        "kb_article": {"id": 12, "title": "打印机卡纸的处理方法"},
    },
    "review_new": {
        "recipient_name": "赵经理",
        "ticket": TICKET,
        "form": {"system": "打印服务器", "impact": "财务部 5 人", "occurred": ""},
        "description": "三楼打印机一直卡纸。",
        "team": "hardware",
    },
    "priority_changed": {
        "reader_name": "张三",
        "ticket": TICKET,
        "old_priority": "P3",
        "old_priority_name": "中",
        "changed_by": "赵经理",
        "response_due": "",
        "resolve_due": "2026-11-22 17:30",
        "for_staff": False,
    },
    "report": {
        "recipient_name": "赵经理",
        "title": "技术支持周报",
        "period_from": "2026-11-16",
        "period_to": "2026-11-22",
        "summary": [{"label": "工单数", "value": 42}, {"label": "解决率", "value": "92%"}],
        "tables": [{"title": "按类型", "columns": ["类型", "数量"], "rows": [["硬件故障", 12], ["软件异常", 30]]}],
        "charts": [{"cid": "chart-types@maildesk", "title": "按类型分布"}],
    },
    "mobilise": {
        "recipient_name": "赵经理", "reason": "new", "count": 0, "due": "", "overdue_by": "", "by": "",
        "roles": "值班人员、技术支持经理", "ticket": {**TICKET, "resolve_due": "2026-11-22 17:30"},
        "words": "ERP 无法登录，全公司都受影响。", "impact": "销售部 30 多人",
        "attachments": [{"name": "报错截图.png", "size": "1.2 MB"}], "review": True,
    },
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", PACKAGED_KINDS)
def test_every_packaged_template_renders(kind: str, lang: str) -> None:
    """Every packaged kind renders in Chinese and English with its documented context, without leftovers."""
    mail = Templates().render(kind, lang, SAMPLES[kind])
    assert mail.subject and "\n" not in mail.subject
    assert mail.text.strip() and mail.html is not None
    for part in (mail.subject, mail.text, mail.html):
        assert "{{" not in part and "{%" not in part
    if "ticket" in SAMPLES[kind]:
        assert NUMBER in mail.subject and NUMBER in mail.text


def test_every_kind_has_a_sample() -> None:
    """The render test above covers every packaged kind, so a new kind cannot ship untested."""
    assert set(SAMPLES) == set(PACKAGED_KINDS)


def test_ack_subject_carries_the_tag_once_after_one_re() -> None:
    """A reporter's "回复:" subject becomes "Re: [TS-…] topic" in the acknowledgement."""
    mail = Templates().render("ack", "zh", SAMPLES["ack"])
    assert mail.subject == f"Re: [{NUMBER}] 打印机卡纸 <urgent>"
    assert "[12] 打印机卡纸的处理方法" in mail.text


def test_html_is_escaped_and_text_is_not() -> None:
    """Markup in a reporter's subject is shown literally in HTML and untouched in the text part."""
    mail = Templates().render("ack", "zh", SAMPLES["ack"])
    assert mail.html is not None
    assert "打印机卡纸 &lt;urgent&gt;" in mail.html and "<urgent>" not in mail.html
    assert "打印机卡纸 <urgent>" in mail.text


def test_relay_body_keeps_its_lines_in_html() -> None:
    """An engineer's multi-line answer keeps its line breaks in the HTML part."""
    mail = Templates().render("relay", "zh", SAMPLES["relay"])
    assert mail.html is not None and "您好，<br>\n请先重启打印机再试。" in mail.html
    assert mail.text.startswith("您好，\n请先重启打印机再试。\n")


def test_relay_body_in_html_is_escaped_on_every_line() -> None:
    """Markup on any line of a body is shown literally, whatever the line ends (CRLF, CR, LF)."""
    body = '第一行 <script>alert(1)</script>\r\n第二行 a&b\r第三行 "x" \'y\'\n'
    mail = Templates().render("relay", "zh", {**SAMPLES["relay"], "body": body})
    assert mail.html is not None and "<script>" not in mail.html
    assert ("第一行 &lt;script&gt;alert(1)&lt;/script&gt;<br>\n第二行 a&amp;b<br>\n"
            "第三行 &#34;x&#34; &#39;y&#39;</div>") in mail.html


def test_survey_teaches_the_reply_format() -> None:
    """The survey shows the "5 5 4 很及时" example reporters copy."""
    assert "5 5 4 很及时" in Templates().render("survey", "zh", SAMPLES["survey"]).text


def test_confirm_offers_the_three_answers() -> None:
    """The confirmation request names 已解决 / 仍有问题 / 需进一步优化."""
    text = Templates().render("confirm", "zh", SAMPLES["confirm"]).text
    assert all(answer in text for answer in ("已解决", "仍有问题", "需进一步优化"))


def test_missing_template_names_kind_and_language() -> None:
    """Asking for a kind or language nobody wrote fails with both named."""
    with pytest.raises(TemplateError, match=r"'ack'.*'fr'"):
        Templates().render("ack", "fr", SAMPLES["ack"])
    with pytest.raises(TemplateError, match=r"'welcome'.*'zh'"):
        Templates().render("welcome", "zh", {})


def test_undefined_variable_is_an_error() -> None:
    """A context without a key the template uses fails instead of sending a blank."""
    context = {"ticket": TICKET}  # kb_articles missing
    with pytest.raises(TemplateError, match=r"ack \(zh\).*kb_articles"):
        Templates().render("ack", "zh", context)


def test_subject_newline_cannot_inject_a_header() -> None:
    """A ticket subject with a line break still renders a one-line subject."""
    ticket = {**TICKET, "subject": "打印机\r\nBcc: evil@example.com"}
    mail = Templates().render("ack", "zh", {**SAMPLES["ack"], "ticket": ticket})
    assert mail.subject == f"Re: [{NUMBER}] 打印机 Bcc: evil@example.com"


def test_desk_name_default_can_be_set_once() -> None:
    """The team name given as a default appears in the signature of every mail."""
    mail = Templates(defaults={"desk_name": "信息中心运维组"}).render("survey", "zh", SAMPLES["survey"])
    assert "信息中心运维组" in mail.text


def test_operator_folder_overrides_and_falls_back(tmp_path: Path) -> None:
    """An operator's template wins; kinds the operator did not write come from the package."""
    (tmp_path / "ack.zh.txt.j2").write_text("工单 {{ ticket.number }} 已收到。\n", encoding="utf-8")
    templates = Templates(tmp_path)
    mail = templates.render("ack", "zh", SAMPLES["ack"])
    assert mail.text == f"工单 {NUMBER} 已收到。\n"
    assert mail.subject == f"Re: [{NUMBER}] 打印机卡纸 <urgent>"  # packaged subject
    # The packaged HTML would still say the old words, so the mail goes text-only.
    assert mail.html is None
    assert templates.render("survey", "zh", SAMPLES["survey"]).html is not None


def test_operator_html_without_text_is_refused(tmp_path: Path) -> None:
    """An operator HTML template without its text twin is reported instead of mixing folders."""
    (tmp_path / "ack.zh.html.j2").write_text("<p>{{ ticket.number }}</p>", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"ack\.zh\.txt\.j2"):
        Templates(tmp_path).render("ack", "zh", SAMPLES["ack"])


def test_operator_template_syntax_error_is_named(tmp_path: Path) -> None:
    """A broken operator template fails with its file name."""
    (tmp_path / "reject.zh.subject.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"reject\.zh\.subject\.j2"):
        Templates(tmp_path).render("reject", "zh", SAMPLES["reject"])


def test_missing_operator_folder_is_a_config_error(tmp_path: Path) -> None:
    """A template folder that does not exist is reported when the templates are loaded, naming it."""
    with pytest.raises(ConfigError, match=r"templates\.directory.*nowhere"):
        Templates(tmp_path / "nowhere")


def test_available_tells_which_kinds_exist() -> None:
    """``available`` answers whether a kind can be rendered in a language."""
    templates = Templates()
    assert templates.available("ack", "zh") and templates.available("report", "en")
    assert not templates.available("ack", "fr") and not templates.available("welcome", "zh")

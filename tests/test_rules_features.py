"""Every feature of the rule language, pinned by a realistic mail (most of them Chinese)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from maildesk.mail import Address, Attachment, InboundMail
from maildesk.people.directory import Person
from maildesk.rules.engine import evaluate
from maildesk.rules.loader import load_rules
from maildesk.rules.model import BurstHit, Decision, Defaults, RuleSet

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
TYPES = ("hardware", "software", "permission", "business", "consultation", "requirement", "other")
PRIORITIES = ("P1", "P2", "P3", "P4")
TEAMS = ("hardware", "software", "business", "product")

PEOPLE = {
    "zhang": Person("zhang.wei@corp.example", "张伟", "财务部", "E1001", "8101", "13800138001"),
    "chen": Person("chen.jing@corp.example", "陈静", "市场部", "E1004", "8104"),
    "huang": Person("huang.gang@corp.example", "黄刚", "信息中心", "E3002", "8302", role="director"),
}


def make_mail(
    subject: str = "",
    body: str = "",
    sender: str = "zhang.wei@corp.example",
    to: Iterable[str] = ("support@corp.example",),
    cc: Iterable[str] = (),
    headers: dict[str, str] | None = None,
    attachments: Iterable[tuple[str, str]] = (),
) -> InboundMail:
    """An InboundMail as the parser would build it; attachments are (filename, content type)."""
    return InboundMail(
        raw=b"",
        message_id=f"{abs(hash((subject, body, sender)))}@test.example",
        subject=subject,
        from_addr=Address("", sender.lower()),
        to=tuple(Address("", a) for a in to),
        cc=tuple(Address("", a) for a in cc),
        text=body,
        attachments=tuple(Attachment(name, ctype, b"data") for name, ctype in attachments),
        headers={k.lower(): (v,) for k, v in (headers or {}).items()},
    )


def load_features() -> RuleSet:
    return load_rules(FIXTURES / "features.toml", types=TYPES, priorities=PRIORITIES, teams=TEAMS)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_features()


def run(rules: RuleSet, mail: InboundMail, who: str | None = "zhang", hours: bool = True) -> Decision:
    person = PEOPLE[who] if who else None
    return evaluate(rules, mail, person, in_business_hours=hours, defaults=Defaults())


@dataclass(frozen=True)
class Case:
    id: str
    mail: InboundMail
    hits: tuple[str, ...]
    not_hits: tuple[str, ...] = ()
    who: str | None = "zhang"
    hours: bool = True
    expect: dict[str, object] = field(default_factory=dict)


VENDOR = "wang.lei@vendor.example"
CASES = [
    # sender, sender_domain
    Case(
        "sender equals ignores case",
        make_mail("下季度预算系统问题", sender="CEO@corp.example"),
        ("sender-equals",),
        who=None,
    ),
    Case(
        "sender_domain in a list",
        make_mail("Invoice portal returns HTTP 500", "Since Monday every upload fails.", sender=VENDOR),
        ("sender-domain-in", "unregistered"),
        who=None,
    ),
    Case("sender glob", make_mail("申报系统无法使用", sender="li.ming@tax.sh.gov.cn"), ("sender-glob",), who=None),
    # subject contains_any, Chinese and English, subject only
    Case(
        "subject contains_any Chinese",
        make_mail("三楼打印机卡纸", "三楼东侧的打印机一直卡纸，麻烦派人看看。"),
        ("printer",),
        expect={"type": "hardware", "team": "hardware", "assignee": "liu.yang@corp.example", "priority": "P3"},
    ),
    Case("subject contains_any ignores case", make_mail("PRINTER on floor 2 is jammed"), ("printer",)),
    Case("subject field does not read the body", make_mail("求助", "打印机坏了"), (), ("printer",)),
    # stop
    Case(
        "stop ends the evaluation",
        make_mail("测试 打印机", "请忽略", attachments=[("error.log", "text/plain")]),
        ("printer", "test-mail"),
        ("has-attachment", "log-file"),
        expect={"skip_ack": True, "skipped_has": "has-attachment"},
    ),
    # regex, both compilation paths
    Case(
        "regex on casefolded body",
        make_mail("电脑故障", "开机就蓝屏，错误代码 0x0000007B，重启也一样。"),
        ("bluescreen",),
        expect={"type": "hardware"},
    ),
    Case(
        "regex English ignores case",
        make_mail("Laptop", "My laptop shows a Blue Screen after the update."),
        ("bluescreen",),
    ),
    Case(
        "regex with upper-case letters uses IGNORECASE",
        make_mail("报表导出失败", "导出时报错：ora-00942: table or view does not exist"),
        ("oracle-error",),
        who="chen",
        expect={"type": "software", "team": "software"},
    ),
    # subject_or_body
    Case("subject_or_body finds the body", make_mail("移动办公", "打开审批页面就闪退，安卓手机。"), ("crash",)),
    Case("subject_or_body finds the subject", make_mail("App crash on startup", "See below."), ("crash",)),
    # NFKC and case
    Case(
        "full-width letters match half-width",
        make_mail("ＥＲＰ系统无法保存凭证", "保存时一直转圈。"),
        ("erp",),
        expect={"type": "business", "team": "business"},
    ),
    Case("lower-case value matches upper-case text", make_mail("ERP 月结报错"), ("erp",)),
    Case("case_sensitive matches exact case", make_mail("SAP 登录报错"), ("sap-exact-case",)),
    Case("case_sensitive rejects other case", make_mail("sap 登录报错"), (), ("sap-exact-case",)),
    # department, role, match all, exists = false
    Case(
        "department and subject both match",
        make_mail("月度报表打不开"),
        ("finance-report",),
        expect={"type": "business"},
    ),
    Case("match all needs every condition", make_mail("月度报表打不开"), (), ("finance-report",), who="chen"),
    Case("role in", make_mail("会议室投影仪没信号"), ("director",), ("unregistered",), who="huang"),
    Case(
        "exists false: unknown sender",
        make_mail("邮箱满了", sender="someone@gmail.example"),
        ("unregistered",),
        who=None,
    ),
    # headers
    Case(
        "header exists",
        make_mail("PROBLEM: Disk space is low on db01", headers={"X-Monitoring-System": "Zabbix 6.0"}),
        ("monitoring",),
        expect={"skip_ack": True},
    ),
    Case("header equals ignores case", make_mail("系统很慢", headers={"Importance": "High"}), ("high-importance",)),
    Case(
        "match any: second condition",
        make_mail("Outlook 收不到邮件", headers={"X-Priority": "1 (Highest)"}),
        ("high-importance",),
        expect={"priority": "P2"},
    ),
    # recipients
    Case(
        "to glob",
        make_mail("鼠标失灵", to=["Hardware@corp.example"]),
        ("to-hardware",),
        expect={"team": "hardware"},
    ),
    Case(
        "cc in",
        make_mail("跨部门数据对接", cc=["boss@corp.example", "li.na@corp.example"]),
        ("cc-boss",),
        expect={"flags": ("collaboration",)},
    ),
    # attachments
    Case(
        "attachment exists and name glob",
        make_mail("系统报错", "日志在附件里", attachments=[("error.log", "text/plain")]),
        ("has-attachment", "log-file"),
    ),
    Case(
        "attachment name glob: Chinese name, upper-case extension",
        make_mail("同步失败", attachments=[("系统日志.LOG", "application/octet-stream")]),
        ("log-file",),
    ),
    Case(
        "attachment type",
        make_mail("报错截图", attachments=[("截图.png", "image/png")]),
        ("screenshot", "has-attachment"),
        ("log-file",),
    ),
    Case("says see attachment, has none", make_mail("报销单提交失败", "报错截图见附件。"), ("missing-attachment",)),
    Case(
        "says see attachment, has one",
        make_mail("报销单提交失败", "报错截图见附件。", attachments=[("a.png", "image/png")]),
        (),
        ("missing-attachment",),
    ),
    # not
    Case(
        "not: outside sender complains",
        make_mail("投诉：工单三天没人处理", sender=VENDOR),
        ("external-complaint",),
        who=None,
        expect={"priority": "P2"},
    ),
    Case("not: inside sender complains", make_mail("投诉：工单三天没人处理"), (), ("external-complaint",)),
    # priority only rises; later scalars override; tags accumulate
    Case(
        "a later rule may raise the priority",
        make_mail("建议增加报表导出功能"),
        ("suggestion", "late-p3"),
        expect={"priority": "P3", "type": "requirement", "team": "product", "assignee": "xu.ting@corp.example"},
    ),
    Case(
        "a later milder rule never lowers it",
        make_mail("建议：系统全部中断时自动短信通知"),
        ("suggestion", "outage", "late-p3"),
        expect={"priority": "P1", "flags": ("requirement",)},
    ),
    Case(
        "later scalar values override earlier ones",
        make_mail("打印机驱动安装后 crash", to=["hardware@corp.example"]),
        ("printer", "crash", "to-hardware"),
        expect={"type": "software", "team": "hardware"},
    ),
    Case(
        "tags accumulate in rule order without duplicates",
        make_mail("Printer error", attachments=[("printer.log", "text/plain"), ("photo.jpg", "image/jpeg")]),
        ("printer", "has-attachment", "log-file", "screenshot"),
        expect={"tags": ("硬件", "有附件", "日志", "截图")},
    ),
    # business hours
    Case("out of hours", make_mail("周末服务器告警"), ("night",), hours=False, expect={"flags": ("out_of_hours",)}),
    Case("in hours", make_mail("服务器告警"), (), ("night",), hours=True),
    # bursts
    Case(
        "burst per department",
        make_mail("ERP无法登录", "输入密码后提示会话过期"),
        ("login-burst", "erp"),
        expect={"bursts": (BurstHit("login-burst", 5, 60, "department", "P1", "财务部"),)},
    ),
    Case(
        "burst needs a known department",
        make_mail("cannot log in to the portal", sender=VENDOR),
        ("login-burst",),
        who=None,
        expect={"bursts": ()},
    ),
    Case(
        "burst over everyone",
        make_mail("VPN 连不上", "在家办公连不上ＶＰＮ"),
        ("vpn-burst",),
        expect={"bursts": (BurstHit("vpn-burst", 20, 30, "all", "P2", "*"),)},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_feature(rules: RuleSet, case: Case) -> None:
    """Each mail hits the rules of its feature, misses the ones it must not hit, and gets their effect."""
    decision = run(rules, case.mail, case.who, case.hours)
    for name in case.hits:
        assert name in decision.hits, decision.explain()
    for name in case.not_hits:
        assert name not in decision.hits, decision.explain()
    for key, value in case.expect.items():
        if key == "skipped_has":
            assert value in decision.skipped
        else:
            assert getattr(decision, key) == value, (key, decision.explain())


def test_cases_cover_every_feature_rule(rules: RuleSet) -> None:
    """The table above exercises every rule of the feature file, so every field and operator."""
    hit = {name for case in CASES for name in case.hits}
    assert {r.name for r in rules} - hit == set()
    fields = {c.field.partition(":")[0] for r in rules for c in r.conditions}
    ops = {c.op for r in rules for c in r.conditions}
    assert fields >= {
        "sender",
        "sender_domain",
        "department",
        "role",
        "subject",
        "body",
        "subject_or_body",
        "header",
        "to",
        "cc",
        "attachment",
        "attachment_name",
        "attachment_type",
        "business_hours",
    }
    assert ops == {"contains", "contains_any", "regex", "equals", "in", "glob", "exists", "is"}
    assert sum(any("\u4e00" <= ch <= "\u9fff" for ch in c.mail.subject + c.mail.text) for c in CASES) > len(CASES) / 2

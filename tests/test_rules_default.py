"""The starter rule set classifies the mail a Chinese support desk really gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from maildesk.ingest.parse import parse_mail
from maildesk.mail import InboundMail
from maildesk.people.directory import Directory, default_people_path, load_directory
from maildesk.rules.engine import evaluate
from maildesk.rules.loader import default_rules_path, load_rules
from maildesk.rules.model import Decision, Defaults, RuleSet
from tests.test_rules_features import PRIORITIES, TEAMS, TYPES, make_mail

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "rules"
ZHANG = "zhang.wei@example.com"  # 财务部 in the sample directory
CHEN = "chen.jing@example.com"  # 市场部
HUANG = "huang.gang@example.com"  # director


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(default_rules_path(), types=TYPES, priorities=PRIORITIES, teams=TEAMS)


@pytest.fixture(scope="module")
def people() -> Directory:
    return load_directory(default_people_path())


def decide(rules: RuleSet, people: Directory, mail: InboundMail, hours: bool = True) -> Decision:
    return evaluate(rules, mail, people.get(mail.sender), in_business_hours=hours, defaults=Defaults())


def test_config_copy_is_the_packaged_rules() -> None:
    """config/rules.toml is the same file `maildesk init` installs from the package."""
    assert (ROOT / "config" / "rules.toml").read_bytes() == default_rules_path().read_bytes()


@dataclass(frozen=True)
class Expect:
    type: str
    priority: str
    team: str | None
    tags: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    hits: tuple[str, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)
    hours: bool = True


EML_CASES = {
    "erp_login_gbk.eml": Expect(
        "business", "P1", "business", ("紧急", "影响范围大", "登录问题"), (), ("wide-impact", "login-burst")
    ),
    "printer_screenshot.eml": Expect("hardware", "P3", "hardware", ("硬件",)),
    "crm_feature_request.eml": Expect("requirement", "P4", "product", ("需求",), ("requirement",)),
    "invoice_exe_attachment.eml": Expect(
        "other", "P3", None, ("可疑附件",), (), ("suspicious-attachment",), {"quarantine": True, "skip_ack": True}
    ),
    "zabbix_alert.eml": Expect("software", "P3", "software", ("监控告警",), (), (), {"skip_ack": True}),
}


def check(decision: Decision, expect: Expect) -> None:
    got = (decision.type, decision.priority, decision.team)
    assert got == (expect.type, expect.priority, expect.team), decision.explain()
    assert set(expect.tags) <= set(decision.tags), decision.explain()
    assert set(expect.flags) <= set(decision.flags), decision.explain()
    assert set(expect.hits) <= set(decision.hits), decision.explain()
    for key, value in expect.extra.items():
        assert getattr(decision, key) == value, decision.explain()


@pytest.mark.parametrize("name", sorted(EML_CASES))
def test_eml_fixture(rules: RuleSet, people: Directory, name: str) -> None:
    """A real-looking mail (GBK, RFC 2047, attachments) parsed by the parser gets the expected class."""
    mail = parse_mail((FIXTURES / name).read_bytes())
    check(decide(rules, people, mail), EML_CASES[name])


def test_erp_login_burst_is_reported_for_the_department(rules: RuleSet, people: Directory) -> None:
    """ "无法登录" from a known sender reports a burst keyed by the sender's department."""
    decision = decide(rules, people, parse_mail((FIXTURES / "erp_login_gbk.eml").read_bytes()))
    assert [(b.rule, b.count, b.minutes, b.priority, b.key) for b in decision.bursts] == [
        ("login-burst", 5, 60, "P1", "财务部")
    ]


def test_quarantined_mail_is_not_classified_further(rules: RuleSet, people: Directory) -> None:
    """An executable attachment stops the evaluation: nothing else in the mail is considered."""
    decision = decide(rules, people, parse_mail((FIXTURES / "invoice_exe_attachment.eml").read_bytes()))
    assert decision.hits == ("suspicious-attachment",)
    assert "out-of-hours" in decision.skipped


INLINE_CASES = [
    (
        "电脑无法开机",
        make_mail("电脑无法开机", "按电源键没反应，指示灯不亮。", sender=CHEN),
        Expect("hardware", "P3", "hardware"),
    ),
    (
        "OA is a business system",
        make_mail("OA系统审批流程打不开", "点击待办就一直转圈。", sender=CHEN),
        Expect("business", "P3", "business", ("软件报错", "业务系统")),
    ),
    (
        "oa inside download is not OA",
        make_mail("download 页面报错", "下载附件时报错 500。", sender=CHEN),
        Expect("software", "P3", "software"),
    ),
    (
        "business-system permission goes to the business team",
        make_mail("申请开通CRM账号", "新入职销售，需要开通 CRM 账号和客户查看权限。", sender=CHEN),
        Expect("permission", "P3", "business", ("权限申请",)),
    ),
    (
        "VPN permission",
        make_mail("VPN权限申请", "出差需要远程访问内网。", sender=CHEN),
        Expect("permission", "P3", "software"),
    ),
    (
        "consultation is P4",
        make_mail("请问如何设置邮箱签名？", "想加上公司 logo。", sender=CHEN),
        Expect("consultation", "P4", "software", ("咨询",)),
    ),
    (
        "English how-to about a password",
        make_mail("How to reset my password?", "I forgot it after the holiday.", sender=CHEN),
        Expect("permission", "P4", "software"),
    ),
    (
        "a fault asked as a question rises to P3",
        make_mail("请问打印机卡纸怎么办", "", sender=CHEN),
        Expect("hardware", "P3", "hardware", ("咨询", "硬件")),
    ),
    (
        "production down is P1",
        make_mail("生产环境数据库宕机", "订单系统全部报错。", sender=CHEN),
        Expect("software", "P1", "software", ("生产故障",)),
    ),
    (
        "an outage naming nothing but production still reaches a team",
        make_mail("紧急：生产环境订单系统全部无法访问", "所有门店都打不开下单页面。", sender=CHEN),
        Expect("software", "P1", "software", ("生产故障",)),
    ),
    (
        "an outage of a business system goes to the business team",
        make_mail("生产环境 ERP 宕机", "ERP 全部打不开。", sender=CHEN),
        Expect("business", "P1", "business", ("生产故障",)),
    ),
    (
        "requirement goes to product",
        make_mail("希望增加一个功能：报表自动发送", "每周一早上自动发到邮箱。", sender=CHEN),
        Expect("requirement", "P4", "product", (), ("requirement",)),
    ),
    (
        "collaboration flag",
        make_mail("跨部门协同处理：合同系统与财务系统对接", "需要法务部和财务部一起确认字段。", sender=ZHANG),
        Expect("business", "P3", "business", ("协同处理",), ("collaboration",)),
    ),
    (
        "director's mail is tagged",
        make_mail("会议室投影仪没有信号", "下午两点有客户会议。", sender=HUANG),
        Expect("hardware", "P3", "hardware", ("领导反馈",)),
    ),
    (
        "out of hours flag",
        make_mail("邮箱收不到外部邮件", "", sender=CHEN),
        Expect("other", "P3", None, (), ("out_of_hours",), ("out-of-hours",), hours=False),
    ),
    (
        "English crash",
        make_mail("Outlook crashes when opening attachments", "Every time since the update.", sender=CHEN),
        Expect("software", "P3", "software"),
    ),
    (
        "English urgent hardware",
        make_mail("Blue screen on my laptop, urgent", "Meeting with a customer at 3pm.", sender=CHEN),
        Expect("hardware", "P2", "hardware", ("紧急",)),
    ),
    (
        "full-width exclamation after 急",
        make_mail("急！报销系统提交失败", "提示错误代码 E102。", sender=ZHANG),
        Expect("business", "P2", "business", ("紧急",)),
    ),
    ("unclassified mail gets the defaults", make_mail("年会节目报名", "", sender=CHEN), Expect("other", "P3", None)),
]


@pytest.mark.parametrize(("mail", "expect"), [(m, e) for _, m, e in INLINE_CASES], ids=[i for i, _, _ in INLINE_CASES])
def test_starter_rules(rules: RuleSet, people: Directory, mail: InboundMail, expect: Expect) -> None:
    """The starter rules give each everyday mail the type, priority, team, tags and flags a supervisor expects."""
    check(decide(rules, people, mail, expect.hours), expect)

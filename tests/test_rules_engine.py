"""The decision as the operator reads it: defaults, explanations, the JSON shape of `rules test`."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import pytest

from maildesk.rules.engine import evaluate
from maildesk.rules.fields import Extractor, MailContext, Values
from maildesk.rules.loader import parse_rules
from maildesk.rules.model import Defaults, RuleSet
from tests.test_rules_features import PEOPLE, PRIORITIES, TEAMS, TYPES, load_features, make_mail, run

PRINTER_RULES = """
[[rule]]
name = "printer"
conditions = [{ field = "subject", op = "contains_any", value = ["打印机", "printer"] }]
[rule.actions]
type = "hardware"
team = "hardware"

[[rule]]
name = "urgent"
match = "any"
conditions = [
  { field = "subject", op = "contains", value = "紧急" },
  { field = "header:Importance", op = "equals", value = "high" },
]
[rule.actions]
priority = "P1"

[[rule]]
name = "blue"
conditions = [
  { field = "body", op = "regex", value = "blue ?screen|蓝屏" },
  { field = "business_hours", op = "is", value = true },
]
[rule.actions]
type = "hardware"
"""


def _printer_rules() -> RuleSet:
    return parse_rules(PRINTER_RULES, source="rules.toml", types=TYPES, priorities=PRIORITIES, teams=TEAMS)


def test_explain_names_what_matched() -> None:
    """A hit line shows the field, the operator and the keyword that matched, as the brief's example."""
    decision = run(_printer_rules(), make_mail("紧急：财务部打印机卡纸", "打印不了"))
    lines = decision.explain()
    assert 'hit  printer: subject contains_any "打印机"' in lines
    assert 'hit  urgent: subject contains "紧急"' in lines
    assert 'miss blue: body regex "blue ?screen|蓝屏" did not match' in lines


def test_explain_all_conditions_and_regex_evidence() -> None:
    """A hit of a match-all rule lists every condition, with the text a regex matched."""
    decision = run(_printer_rules(), make_mail("电脑故障", "开机后蓝屏"), hours=True)
    assert 'hit  blue: body regex "blue ?screen|蓝屏" matched "蓝屏" and business_hours is true' in decision.explain()
    assert "miss urgent: none of its 2 conditions matched" in decision.explain()


def test_defaults_apply_when_nothing_hits() -> None:
    """A mail no rule classifies gets the configured type, priority and team."""
    decision = evaluate(
        _printer_rules(),
        make_mail("年会节目报名", "请问报名截止到哪天？"),
        None,
        in_business_hours=True,
        defaults=Defaults(type="other", priority="P3", team="software"),
    )
    assert (decision.hits, decision.type, decision.priority, decision.team) == ((), "other", "P3", "software")
    assert decision.misses == ("printer", "urgent", "blue")


def test_rules_test_json_shape() -> None:
    """`as_dict` has the keys the CLI contract promises for `rules test --json`, and is JSON."""
    decision = run(load_features(), make_mail("ERP无法登录", "提示会话过期"))
    data = json.loads(json.dumps(decision.as_dict(), ensure_ascii=False))
    for key in ("hits", "misses", "type", "priority", "team", "assignee", "tags", "flags"):
        assert key in data
    assert data["bursts"] == [
        {"rule": "login-burst", "count": 5, "minutes": 60, "per": "department", "priority": "P1", "key": "财务部"}
    ]
    assert 'burst login-burst: P1 if 5 within 60 min for department "财务部"' in data["explain"]


def test_stop_is_explained() -> None:
    """After a stop rule the explanation says which rules were never evaluated."""
    rules = load_features()
    decision = run(rules, make_mail("测试", "请忽略"))
    assert decision.hits[-1] == "test-mail"
    assert decision.skipped == tuple(r.name for r in rules.rules[5:])
    assert decision.explain()[-1].startswith("stop test-mail: not evaluated: bluescreen, oracle-error")


def test_priority_kept_is_explained() -> None:
    """When a milder rule asks for a lower priority, the explanation says the higher one was kept."""
    decision = run(load_features(), make_mail("建议：系统全部中断时自动短信通知"))
    assert "keep P1: late-p3 asked for P3, priority only rises" in decision.explain()


def test_unknown_department_burst_is_explained() -> None:
    """A burst rule hit by a sender without a department says why it is not counted."""
    decision = run(load_features(), make_mail("无法登录", sender="x@gmail.example"), who=None)
    assert decision.bursts == ()
    assert "burst login-burst: not counted, the sender's department is unknown" in decision.explain()


def test_evaluation_is_pure() -> None:
    """The same mail evaluated twice gives the same decision: nothing is remembered between mails."""
    rules = load_features()
    mail = make_mail("ＥＲＰ 报表 崩溃", "见附件", cc=["boss@corp.example"])
    first = evaluate(rules, mail, PEOPLE["zhang"], in_business_hours=False, defaults=Defaults())
    evaluate(rules, make_mail("打印机"), None, in_business_hours=True, defaults=Defaults())
    second = evaluate(rules, mail, PEOPLE["zhang"], in_business_hours=False, defaults=Defaults())
    assert first == second
    assert first.explain() == second.explain()


def test_two_hundred_rules_normalise_each_field_of_a_mail_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """With 200 rules, each field of a mail is extracted and normalised once, however many rules look at it.

    That is what keeps a large rule set cheap; its speed is measured by bench/rules.py (about
    3,000 mails/s on one core), not here, where a busy machine's timing would make the test flaky.
    """
    spec = importlib.util.spec_from_file_location("bench_rules", Path(__file__).parent.parent / "bench" / "rules.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rng = random.Random(7)
    rules = parse_rules(bench.make_rules(200, rng), source="bench", types=TYPES, priorities=PRIORITIES, teams=TEAMS)
    loads: list[tuple[str, bool]] = []
    real_load = MailContext.load

    def counted(self: MailContext, key: tuple[str, bool], extractor: Extractor) -> Values:
        loads.append(key)
        return real_load(self, key, extractor)

    monkeypatch.setattr(MailContext, "load", counted)
    for i in range(50):
        loads.clear()
        evaluate(rules, bench.make_mail(i, rng), None, in_business_hours=True, defaults=Defaults())
        assert loads, "the rules looked at no field of the mail"
        assert len(loads) == len(set(loads)), f"a field was normalised more than once: {sorted(loads)}"


def test_many_keywords_name_the_first_listed_in_the_first_field_that_holds_any() -> None:
    """A contains_any with many keywords (screened by one scan) still names the first keyword in the rule's
    order, looked for in the first value that holds any: the subject before the body, whatever stands
    earlier in the text; full-width and upper-case text matches as with few keywords, and a miss is a miss."""
    from maildesk.rules.conditions import ALTERNATION_FROM

    keywords = ["蓝屏", "黑屏", "键盘", "鼠标", "显示器", "打印机", "扫描仪", "ERP", "a.b", "(x)"]
    assert len(keywords) >= ALTERNATION_FROM
    rules = parse_rules(f"""
[[rule]]
name = "many"
conditions = [{{ field = "subject_or_body", op = "contains_any", value = {json.dumps(keywords, ensure_ascii=False)} }}]
[rule.actions]
type = "hardware"
""", source="rules.toml", types=TYPES, priorities=PRIORITIES, teams=TEAMS)

    def evidence(subject: str, body: str) -> list[str]:
        return [line for line in run(rules, make_mail(subject, body)).explain() if line.startswith(("hit", "miss"))]

    assert evidence("鼠标和键盘都坏了", "还有蓝屏") == ['hit  many: subject_or_body contains_any "键盘"']
    assert evidence("电脑故障", "扫描仪坏了，然后黑屏") == ['hit  many: subject_or_body contains_any "黑屏"']
    assert evidence("ＥＲＰ 打不开", "") == ['hit  many: subject_or_body contains_any "ERP"']
    assert evidence("see (X) now", "") == ['hit  many: subject_or_body contains_any "(x)"']
    assert evidence("aXb", "电脑故障") == [
        f'miss many: subject_or_body contains_any {_quote_list(keywords)} did not match']


def _quote_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"

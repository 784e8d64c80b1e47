"""A broken rules file fails at load with a message naming the file, the rule and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from maildesk.errors import MaildeskError
from maildesk.rules.loader import load_rules
from maildesk.rules.model import RuleError

TYPES = ("hardware", "software", "permission", "business", "consultation", "requirement", "other")
PRIORITIES = ("P1", "P2", "P3", "P4")
TEAMS = ("hardware", "software", "business", "product")

GOOD_CONDITION = '{ field = "subject", op = "contains", value = "打印机" }'


def rule(conditions: str = GOOD_CONDITION, extra: str = "", name: str = "printer") -> str:
    return f'[[rule]]\nname = "{name}"\n{extra}\nconditions = [\n  {conditions},\n]\n'


def two_conditions(second: str) -> str:
    return rule(f"{GOOD_CONDITION},\n  {second}")


# (id, file text, the message must contain each of these)
BROKEN = [
    ("toml syntax", rule() + "[[rule]]\nname = 打印机\n", ["TOML syntax error", "line 8"]),
    ("unknown top-level key", "version = 2\n" + rule(), ["version", "unknown top-level key"]),
    ("rule not a table array", 'rule = "x"\n', ["rule:", "[[rule]]"]),
    (
        "missing name",
        '[[rule]]\nconditions = [{ field = "subject", op = "contains", value = "x" }]\n',
        ["rule[0] name:"],
    ),
    ("duplicate name", rule() + rule(), ['rule "printer" name: duplicate rule name (first at rule[0])']),
    ("unknown rule key", rule(extra='priority = "P1"'), ['rule "printer" priority: unknown key']),
    ("bad match", rule(extra='match = "some"'), ['rule "printer" match: must be "all" or "any"']),
    (
        "no conditions",
        '[[rule]]\nname = "printer"\nconditions = []\n',
        ['rule "printer" conditions: must be a non-empty'],
    ),
    (
        "unknown operator",
        two_conditions('{ field = "body", op = "containz", value = "x" }'),
        ['rules.toml: rule "printer" conditions[1].op: unknown operator "containz"'],
    ),
    (
        "unknown field",
        rule('{ field = "sujet", op = "contains", value = "x" }'),
        ['conditions[0].field: unknown field "sujet"'],
    ),
    (
        "empty header name",
        rule('{ field = "header:", op = "exists" }'),
        ['conditions[0].field: unknown field "header:"'],
    ),
    (
        "unknown condition key",
        rule('{ field = "subject", op = "contains", value = "x", negate = true }'),
        ["conditions[0].negate: unknown key"],
    ),
    (
        "operator wrong for field",
        rule('{ field = "business_hours", op = "contains", value = "x" }'),
        ["conditions[0].op: field business_hours does not take contains"],
    ),
    (
        "bad regex",
        rule('{ field = "body", op = "regex", value = "(打印机" }'),
        ['conditions[0].value: bad regular expression "(打印机"', "missing )"],
    ),
    (
        "list for contains",
        rule('{ field = "body", op = "contains", value = ["a", "b"] }'),
        ["conditions[0].value: contains needs a non-empty string", "use contains_any"],
    ),
    (
        "string for contains_any",
        rule('{ field = "body", op = "contains_any", value = "a" }'),
        ["conditions[0].value: contains_any needs a non-empty list"],
    ),
    ("missing value", rule('{ field = "body", op = "regex" }'), ["conditions[0].value: regex needs a value"]),
    (
        "is needs a boolean",
        rule('{ field = "business_hours", op = "is", value = "no" }'),
        ["conditions[0].value: is needs true or false"],
    ),
    (
        "not must be boolean",
        rule('{ field = "body", op = "contains", value = "x", not = "yes" }'),
        ["conditions[0].not: expected true or false"],
    ),
    (
        "unknown type",
        rule() + '[rule.actions]\ntype = "hardwear"\n',
        ["rule \"printer\" actions.type: unknown type 'hardwear'"],
    ),
    (
        "unknown priority",
        rule() + '[rule.actions]\npriority = "P0"\n',
        ["rule \"printer\" actions.priority: unknown priority 'P0'"],
    ),
    (
        "unknown team",
        rule() + '[rule.actions]\nteam = "network"\n',
        ["rule \"printer\" actions.team: unknown team 'network'"],
    ),
    ("unknown action key", rule() + '[rule.actions]\nlabel = "x"\n', ['rule "printer" actions.label: unknown key']),
    ("tags not a list", rule() + '[rule.actions]\ntags = "硬件"\n', ['rule "printer" actions.tags: must be a list']),
    (
        "skip_ack not boolean",
        rule() + '[rule.actions]\nskip_ack = "yes"\n',
        ['rule "printer" actions.skip_ack: must be true or false'],
    ),
    (
        "assignee not an address",
        rule() + '[rule.actions]\nassignee = "刘洋"\n',
        ['rule "printer" actions.assignee: must be a mail address'],
    ),
    (
        "burst count zero",
        rule() + '[rule.burst]\ncount = 0\nminutes = 60\npriority = "P1"\n',
        ['rule "printer" burst.count: must be a whole number'],
    ),
    (
        "burst per unknown",
        rule() + '[rule.burst]\ncount = 5\nminutes = 60\nper = "team"\npriority = "P1"\n',
        ['rule "printer" burst.per: must be "department" or "all"'],
    ),
    (
        "burst priority unknown",
        rule() + '[rule.burst]\ncount = 5\nminutes = 60\npriority = "urgent"\n',
        ['rule "printer" burst.priority: unknown priority'],
    ),
    (
        "burst unknown key",
        rule() + '[rule.burst]\ncount = 5\nminutes = 60\npriority = "P1"\nwindow = 3\n',
        ['rule "printer" burst.window: unknown key'],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in BROKEN], ids=[i for i, _, _ in BROKEN])
def test_broken_rules_file(tmp_path: Path, text: str, expected: list[str]) -> None:
    """Loading fails with a RuleError that names the file, the rule and the key at fault."""
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rules(path, types=TYPES, priorities=PRIORITIES, teams=TEAMS)
    message = str(caught.value)
    assert message.startswith(str(path) + ": ")
    for fragment in expected:
        assert fragment in message
    assert isinstance(caught.value, MaildeskError)


def test_missing_rules_file(tmp_path: Path) -> None:
    """A rules file that is not there is a RuleError naming it, not a traceback."""
    with pytest.raises(RuleError, match=re.escape("rules.toml: cannot read the rules file")):
        load_rules(tmp_path / "rules.toml", types=TYPES, priorities=PRIORITIES, teams=TEAMS)


def test_configured_vocabulary_is_used(tmp_path: Path) -> None:
    """Types, teams and priorities come from the configuration, not a built-in list."""
    path = tmp_path / "rules.toml"
    path.write_text(rule() + '[rule.actions]\ntype = "network"\npriority = "S1"\nteam = "noc"\n', encoding="utf-8")
    rules = load_rules(path, types={"network"}, priorities=["S1", "S2"], teams={"noc"})
    assert rules.rules[0].actions.priority == "S1"
    with pytest.raises(RuleError, match=re.escape("actions.type: unknown type 'network'")):
        load_rules(path, types=TYPES, priorities=["S1"], teams={"noc"})


def test_empty_rules_file_is_valid(tmp_path: Path) -> None:
    """A file with no rules loads as an empty rule set (every mail then gets the defaults)."""
    path = tmp_path / "rules.toml"
    path.write_text("# no rules yet\n", encoding="utf-8")
    assert len(load_rules(path, types=TYPES, priorities=PRIORITIES, teams=TEAMS)) == 0

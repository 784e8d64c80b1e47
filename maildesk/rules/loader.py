"""Read and validate a rules file once, into a compiled ``RuleSet``; every error names rule and key."""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Set
from importlib import resources
from pathlib import Path

from maildesk.rules.conditions import Condition, ConditionError, compile_condition
from maildesk.rules.model import Actions, BurstSpec, Rule, RuleError, RuleSet

RULE_KEYS = frozenset({"name", "description", "match", "conditions", "actions", "burst"})
ACTION_KEYS = frozenset({"type", "priority", "team", "assignee", "system", "tags", "flags", "skip_ack", "quarantine",
                         "stop"})
BURST_KEYS = frozenset({"count", "minutes", "per", "priority"})


def default_rules_path() -> Path:
    """The starter rule set shipped with the package (``config/rules.toml`` is a copy)."""
    return Path(str(resources.files("maildesk.rules").joinpath("default_rules.toml")))


def load_rules(path: Path, *, types: Collection[str], priorities: Collection[str], teams: Collection[str]) -> RuleSet:
    """Load a rules file; ``priorities`` in order, highest first (a set is sorted: P1 < P2 ...)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RuleError(str(path), None, "", f"cannot read the rules file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RuleError(str(path), None, "", f"not UTF-8 text: {exc}") from exc
    return parse_rules(text, source=str(path), types=types, priorities=priorities, teams=teams)


def parse_rules(
    text: str,
    *,
    source: str = "<rules>",
    types: Collection[str],
    priorities: Collection[str],
    teams: Collection[str],
) -> RuleSet:
    """Like ``load_rules`` for text already in memory; ``source`` names it in errors."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(source, None, "", f"TOML syntax error: {exc}") from exc
    order = tuple(sorted(priorities)) if isinstance(priorities, Set) else tuple(priorities)
    checker = _Checker(source, frozenset(types), order, frozenset(teams))
    extra = sorted(set(doc) - {"rule"})
    if extra:
        raise RuleError(source, None, extra[0], "unknown top-level key (rules are [[rule]] tables)")
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list):
        raise RuleError(source, None, "rule", "must be an array of tables: [[rule]]")
    rules: list[Rule] = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(raw_rules):
        rule = checker.rule(index, raw)
        if rule.name in first_index:
            raise RuleError(
                source, f'rule "{rule.name}"', "name", f"duplicate rule name (first at rule[{first_index[rule.name]}])"
            )
        first_index[rule.name] = index
        rules.append(rule)
    return RuleSet(source=source, rules=tuple(rules), priorities=order)


class _Checker:
    """Validation of one file; holds the vocabularies the rules are checked against."""

    def __init__(self, source: str, types: frozenset[str], priorities: tuple[str, ...], teams: frozenset[str]):
        self.source, self.types, self.priorities, self.teams = source, types, priorities, teams
        self.label = ""

    def fail(self, key: str, problem: str) -> RuleError:
        return RuleError(self.source, self.label, key, problem)

    def rule(self, index: int, raw: object) -> Rule:
        self.label = f"rule[{index}]"
        if not isinstance(raw, dict):
            raise self.fail("", "must be a table")
        name = raw.get("name")
        if isinstance(name, str) and name.strip():
            self.label = f'rule "{name}"'
        else:
            raise self.fail("name", "missing or empty: every rule needs a name, it is what explanations show")
        self.unknown_keys("", raw, RULE_KEYS)
        description = raw.get("description", "")
        if not isinstance(description, str):
            raise self.fail("description", "must be a string")
        match = raw.get("match", "all")
        if match not in ("all", "any"):
            raise self.fail("match", f'must be "all" or "any", got {match!r}')
        return Rule(
            name=name.strip(),
            conditions=self.conditions(raw.get("conditions")),
            match_all=match == "all",
            description=description,
            actions=self.actions(raw.get("actions", {})),
            burst=self.burst(raw["burst"]) if "burst" in raw else None,
        )

    def unknown_keys(self, prefix: str, raw: dict[str, object], known: frozenset[str]) -> None:
        unknown = sorted(set(raw) - known)
        if unknown:
            raise self.fail(prefix + unknown[0], f"unknown key (known: {', '.join(sorted(known))})")

    def conditions(self, raw: object) -> tuple[Condition, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("conditions", "must be a non-empty list of { field, op, value } tables")
        compiled: list[Condition] = []
        for i, item in enumerate(raw):
            try:
                compiled.append(compile_condition(item))
            except ConditionError as exc:
                key = f"conditions[{i}]" + (f".{exc.key}" if exc.key else "")
                raise self.fail(key, exc.problem) from None
        return tuple(compiled)

    def actions(self, raw: object) -> Actions:
        if not isinstance(raw, dict):
            raise self.fail("actions", "must be a table: [rule.actions]")
        self.unknown_keys("actions.", raw, ACTION_KEYS)
        vocab = {"type": self.types, "priority": frozenset(self.priorities), "team": self.teams}
        scalars: dict[str, str | None] = {}
        for key in ("type", "priority", "team", "assignee", "system"):
            value = raw.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise self.fail(f"actions.{key}", f"must be a non-empty string, got {value!r}")
            if value is not None and key in vocab and value not in vocab[key]:
                known = ", ".join(sorted(vocab[key]))
                raise self.fail(f"actions.{key}", f"unknown {key} {value!r} (known: {known})")
            if key == "assignee" and value is not None and "@" not in value:
                raise self.fail("actions.assignee", f"must be a mail address, got {value!r}")
            scalars[key] = value
        lists = {key: self.strings(f"actions.{key}", raw.get(key, [])) for key in ("tags", "flags")}
        bools = {key: self.flag(f"actions.{key}", raw.get(key)) for key in ("skip_ack", "quarantine", "stop")}
        return Actions(
            type=scalars["type"],
            priority=scalars["priority"],
            team=scalars["team"],
            assignee=scalars["assignee"].strip().lower() if scalars["assignee"] else None,
            system=scalars["system"].strip() if scalars["system"] else None,
            tags=lists["tags"],
            flags=lists["flags"],
            skip_ack=bools["skip_ack"],
            quarantine=bools["quarantine"],
            stop=bool(bools["stop"]),
        )

    def strings(self, key: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, f"must be a list of non-empty strings, got {value!r}")
        return tuple(v.strip() for v in value)

    def flag(self, key: str, value: object) -> bool | None:
        if value is not None and not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value

    def burst(self, raw: object) -> BurstSpec:
        if not isinstance(raw, dict):
            raise self.fail("burst", "must be a table: [rule.burst]")
        self.unknown_keys("burst.", raw, BURST_KEYS)
        numbers: dict[str, int] = {}
        for key in ("count", "minutes"):
            value = raw.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise self.fail(f"burst.{key}", f"must be a whole number of at least 1, got {value!r}")
            numbers[key] = value
        per = raw.get("per", "department")
        if per not in ("department", "all"):
            raise self.fail("burst.per", f'must be "department" or "all", got {per!r}')
        priority = raw.get("priority")
        if priority not in self.priorities:
            raise self.fail("burst.priority", f"unknown priority {priority!r} (known: {', '.join(self.priorities)})")
        assert isinstance(priority, str) and isinstance(per, str)
        return BurstSpec(count=numbers["count"], minutes=numbers["minutes"], per=per, priority=priority)

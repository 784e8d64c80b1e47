"""The rule model: rules, what they do, and the decision an evaluation returns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from maildesk.errors import MaildeskError
from maildesk.rules.conditions import Condition


class RuleError(MaildeskError):
    """A rules file is wrong; the message names the file, the rule and the key."""

    def __init__(self, source: str, rule: str | None, key: str, problem: str) -> None:
        self.source, self.rule, self.key, self.problem = source, rule, key, problem
        where = " ".join(part for part in (rule, key) if part)
        super().__init__(f"{source}: {where}: {problem}" if where else f"{source}: {problem}")


@dataclass(frozen=True)
class Actions:
    """What a hit rule does; ``None`` means "leave as the earlier rules set it"."""

    type: str | None = None
    priority: str | None = None
    team: str | None = None
    assignee: str | None = None
    system: str | None = None  # 涉及系统, where the mail's own form does not say
    tags: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    skip_ack: bool | None = None
    quarantine: bool | None = None
    stop: bool = False


@dataclass(frozen=True)
class BurstSpec:
    """``count`` hits within ``minutes`` (per department or overall) raise the ticket to ``priority``."""

    count: int
    minutes: int
    per: str  # "department" or "all"
    priority: str


@dataclass(frozen=True)
class Rule:
    """One named rule: conditions joined by all/any, then actions."""

    name: str
    conditions: tuple[Condition, ...]
    match_all: bool = True
    description: str = ""
    actions: Actions = Actions()
    burst: BurstSpec | None = None


@dataclass(frozen=True)
class RuleSet:
    """Rules in evaluation order plus the priority order they were checked against (highest first)."""

    source: str
    rules: tuple[Rule, ...]
    priorities: tuple[str, ...]

    def rank(self, priority: str) -> int:
        """0 for the highest priority; unknown names rank below every known one."""
        try:
            return self.priorities.index(priority)
        except ValueError:
            return len(self.priorities)

    def get(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)


@dataclass(frozen=True)
class Defaults:
    """What a mail gets when no rule says otherwise."""

    type: str = "other"
    priority: str = "P3"
    team: str | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class BurstHit:
    """A burst rule hit: the caller counts stored tickets for (rule, key) in the window."""

    rule: str
    count: int
    minutes: int
    per: str
    priority: str
    key: str  # the department, or "*" when counting over everyone


# (rule, hit?, conditions with their evidence: every condition of a hit all-rule, the first
# matching one of a hit any-rule, the first failing one of a missed all-rule, none otherwise)
Step = tuple[Rule, bool, tuple[tuple[Condition, str | None], ...]]


@dataclass(frozen=True)
class Decision:
    """The outcome of evaluating a rule set on one mail, with the reasons kept for ``explain``."""

    hits: tuple[str, ...]
    misses: tuple[str, ...]
    type: str
    priority: str
    team: str | None
    assignee: str | None
    tags: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    skip_ack: bool = False
    quarantine: bool = False
    bursts: tuple[BurstHit, ...] = ()
    system: str = ""  # the system concerned, as a rule named it ("" when none did)
    skipped: tuple[str, ...] = ()  # rules after a stop, never evaluated
    steps: tuple[Step, ...] = field(default=(), repr=False, compare=False)
    notes: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def explain(self) -> list[str]:
        """One line per evaluated rule, e.g. ``hit  printer: subject contains_any "打印机"``."""
        lines: list[str] = []
        for rule, hit, conditions in self.steps:
            if hit:
                joined = " and ".join(c.describe(ev) for c, ev in conditions)
                lines.append(f"hit  {rule.name}: {joined}")
            elif conditions:
                lines.append(f"miss {rule.name}: {conditions[0][0].describe()} did not match")
            else:
                lines.append(f"miss {rule.name}: none of its {len(rule.conditions)} conditions matched")
        lines.extend(self.notes)
        for b in self.bursts:
            scope = f"department {json.dumps(b.key, ensure_ascii=False)}" if b.per == "department" else "everyone"
            lines.append(f"burst {b.rule}: {b.priority} if {b.count} within {b.minutes} min for {scope}")
        if self.skipped:
            lines.append(f"stop {self.hits[-1]}: not evaluated: {', '.join(self.skipped)}")
        return lines

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of ``maildesk rules test --json``."""
        return {
            "hits": list(self.hits),
            "misses": list(self.misses),
            "type": self.type,
            "priority": self.priority,
            "team": self.team,
            "assignee": self.assignee,
            "tags": list(self.tags),
            "flags": list(self.flags),
            "system": self.system,
            "skip_ack": self.skip_ack,
            "quarantine": self.quarantine,
            "bursts": [
                {
                    "rule": b.rule,
                    "count": b.count,
                    "minutes": b.minutes,
                    "per": b.per,
                    "priority": b.priority,
                    "key": b.key,
                }
                for b in self.bursts
            ],
            "explain": self.explain(),
        }

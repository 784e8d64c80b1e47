"""Conditions: one field, one operator, one value, compiled once into a fast test.

A test returns evidence (what matched, for the explanation) or None. Most conditions
miss, so a miss must cost little: one dict lookup for the cached field values plus one
C-level substring or regex search.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from maildesk.errors import MaildeskError
from maildesk.rules.fields import Extractor, MailContext, Values, normalize, resolve_field

Matcher = Callable[[Values], str | None]
Test = Callable[[MailContext], str | None]

CONDITION_KEYS = frozenset({"field", "op", "value", "not", "case_sensitive"})
_NUMERIC_ESCAPE = re.compile(r"\\[0-9xu]")


class ConditionError(MaildeskError):
    """One condition table is wrong; the loader adds the file and the rule to the message."""

    def __init__(self, key: str, problem: str) -> None:
        self.key, self.problem = key, problem
        super().__init__(f"{key}: {problem}" if key else problem)


@dataclass(frozen=True)
class Condition:
    """A compiled condition; ``test`` is built from the other fields by ``compile_condition``."""

    field: str
    op: str
    value: object
    negate: bool
    case_sensitive: bool
    test: Test = dataclasses.field(repr=False, compare=False)

    def describe(self, evidence: str | None = None) -> str:
        """``subject contains_any "打印机"``: what matched when known, else the rule's value."""
        if not evidence or self.op in ("exists", "is"):
            return self.described
        if self.op == "contains_any":
            return f"{'not ' if self.negate else ''}{self.field} {self.op} {_quote(evidence)}"
        if self.op in ("regex", "glob", "in"):
            return f"{self.described} matched {_quote(evidence)}"
        return self.described

    @functools.cached_property
    def described(self) -> str:
        """The condition as the rule states it, made once: every new ticket's explanation shows its
        misses this way (the dataclass is frozen, but a cached property writes past __setattr__)."""
        prefix = "not " if self.negate else ""
        if self.op in ("exists", "is"):
            shown = "" if self.op == "exists" and self.value is True else f" {_quote(self.value)}"
            return f"{prefix}{self.field} {self.op}{shown}"
        return f"{prefix}{self.field} {self.op} {_quote(self.value)}"


def _quote(value: object) -> str:
    # Plain quotes rather than JSON: a regex reads better without doubled backslashes.
    if isinstance(value, str):
        return '"' + value.replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_quote(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


# --- values -------------------------------------------------------------------


def _text(op: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        hint = " (use contains_any for a list)" if op == "contains" and isinstance(value, list) else ""
        raise ConditionError("value", f"{op} needs a non-empty string, got {_quote(value)}{hint}")
    return value


def _texts(op: str, value: object) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConditionError("value", f"{op} needs a non-empty list of non-empty strings, got {_quote(value)}")
    return value


def _flag(op: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConditionError("value", f"{op} needs true or false, got {_quote(value)}")
    return value


def _regex(pattern: str, flags: int, what: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ConditionError("value", f"bad {what} {_quote(pattern)}: {exc}") from exc


# --- matchers: each runs over a field's values, returns the evidence or None ---------


# From this many needles on, a miss is proven by one scan of each value rather than one a needle:
# a regex alternation of plain literals scans only where a needle's first character stands (measured
# on the starter rules and a mail with a 2 KB log: 5-7 us against 10-20 us; below 8 needles, no gain).
ALTERNATION_FROM = 8


def _contains(needles: list[tuple[str, str]]) -> Matcher:
    def match(values: Values) -> str | None:
        for v in values:
            for needle, shown in needles:
                if needle in v:
                    return shown
        return None

    if len(needles) < ALTERNATION_FROM:
        return match
    anywhere = re.compile("|".join(re.escape(needle) for needle, _ in needles)).search

    def screened(values: Values) -> str | None:
        # Most mails hold none of the needles: one scan says so. When one does, the loop above says
        # which, as always: the first needle in the rule's order, in the first value holding any.
        for v in values:
            if anywhere(v) is not None:
                return match(values)
        return None

    return screened


def _search(pattern: re.Pattern[str], whole: bool) -> Matcher:
    run = pattern.fullmatch if whole else pattern.search

    def match(values: Values) -> str | None:
        for v in values:
            m = run(v)
            if m is not None:
                return m.group(0)
        return None

    return match


def _member(targets: frozenset[str]) -> Matcher:
    def match(values: Values) -> str | None:
        for v in values:
            if v in targets:
                return v
        return None

    return match


def _present(values: Values) -> str | None:
    return values[0] if values else None


# Each builder takes (value, fold, re flags) and returns a matcher. "fold" means the field
# values it will see are casefolded, so its own literals must be casefolded too.
_Builder = Callable[[object, bool, int], Matcher]
_BUILDERS: dict[str, _Builder] = {
    "contains": lambda v, fold, _: _contains([(normalize(_text("contains", v), fold), str(v))]),
    "contains_any": lambda v, fold, _: _contains([(normalize(t, fold), t) for t in _texts("contains_any", v)]),
    "regex": lambda v, _, flags: _search(_regex(_text("regex", v), flags, "regular expression"), False),
    "glob": lambda v, _, flags: _search(
        _regex(fnmatch.translate(normalize(_text("glob", v), False)), flags, "glob pattern"), True
    ),
    "equals": lambda v, fold, _: _member(frozenset({normalize(_text("equals", v), fold).strip()})),
    "in": lambda v, fold, _: _member(frozenset(normalize(t, fold).strip() for t in _texts("in", v))),
    "exists": lambda v, _fold, _flags: _present,
    # only business_hours takes "is"; its single value is "true" or "false"
    "is": lambda v, _fold, _flags: _member(frozenset({"true" if _flag("is", v) else "false"})),
}
OPERATORS = tuple(_BUILDERS)
_FOLDING_OPS = frozenset({"contains", "contains_any", "equals", "in"})


def _folds(op: str, value: object, case_sensitive: bool) -> bool:
    """Whether the test compares casefolded text rather than using re.IGNORECASE.

    A regex may run without IGNORECASE on casefolded text, 5-8 times faster in sre, when
    casefolding leaves the pattern alone: no upper-case letter means no escape like \\S or
    \\W and no [A-Z] class whose meaning would change, and no numeric escape (\\x41, \\101)
    that could spell an upper-case letter.
    """
    if case_sensitive:
        return False
    if op in _FOLDING_OPS:
        return True
    return op == "regex" and isinstance(value, str) and value.casefold() == value and not _NUMERIC_ESCAPE.search(value)


def compile_condition(raw: object) -> Condition:
    """Validate one ``{ field, op, value, not, case_sensitive }`` table and compile its test."""
    if not isinstance(raw, dict):
        raise ConditionError("", f"a condition must be a table like {{ field = ..., op = ... }}, got {raw!r}")
    unknown = sorted(set(raw) - CONDITION_KEYS)
    if unknown:
        raise ConditionError(unknown[0], f"unknown key (known: {', '.join(sorted(CONDITION_KEYS))})")
    name, op = raw.get("field"), raw.get("op")
    if not isinstance(name, str):
        raise ConditionError("field", "missing or not a string")
    resolved = resolve_field(name)
    if resolved is None:
        raise ConditionError("field", f"unknown field {_quote(name)}")
    extractor, allowed = resolved
    if not isinstance(op, str):
        raise ConditionError("op", "missing or not a string")
    if op not in _BUILDERS:
        raise ConditionError("op", f"unknown operator {_quote(op)} (known: {', '.join(OPERATORS)})")
    if op not in allowed:
        raise ConditionError("op", f"field {name} does not take {op} (it takes: {', '.join(sorted(allowed))})")
    negate, case_sensitive = raw.get("not", False), raw.get("case_sensitive", False)
    if not isinstance(negate, bool):
        raise ConditionError("not", f"expected true or false, got {_quote(negate)}")
    if not isinstance(case_sensitive, bool):
        raise ConditionError("case_sensitive", f"expected true or false, got {_quote(case_sensitive)}")
    if "value" not in raw and op != "exists":
        raise ConditionError("value", f"{op} needs a value")
    value = raw.get("value", True)
    fold = _folds(op, value, case_sensitive)
    matcher = _BUILDERS[op](value, fold, 0 if case_sensitive or fold else re.IGNORECASE)
    # "exists = false" is "not exists": one negation covers both
    inverted = op == "exists" and not _flag("exists", value)
    test = _build_test(name, extractor, fold, matcher, negate != inverted)
    return Condition(name, op, value, negate, case_sensitive, test)


def _build_test(name: str, get: Extractor, fold: bool, matcher: Matcher, negate: bool) -> Test:
    key = (name, fold)
    if negate:

        def negated(ctx: MailContext) -> str | None:
            values = ctx.cache.get(key)
            if values is None:
                values = ctx.load(key, get)
            return "" if matcher(values) is None else None

        return negated

    def test(ctx: MailContext) -> str | None:
        values = ctx.cache.get(key)
        if values is None:
            values = ctx.load(key, get)
        return matcher(values)

    return test

"""Evaluate a rule set on one mail: every rule in order, every hit's actions in order."""

from __future__ import annotations

import logging

from maildesk.mail import InboundMail
from maildesk.people.directory import Person
from maildesk.rules.conditions import Condition
from maildesk.rules.fields import MailContext
from maildesk.rules.model import BurstHit, Decision, Defaults, Rule, RuleSet, Step

log = logging.getLogger(__name__)


class _Outcome:
    """The decision being built; scalars start unset so the defaults apply only where no rule spoke."""

    def __init__(self) -> None:
        self.type: str | None = None
        self.priority: str | None = None
        self.team: str | None = None
        self.assignee: str | None = None
        self.system: str | None = None
        self.tags: dict[str, None] = {}  # a dict keeps first-seen order without duplicates
        self.flags: dict[str, None] = {}
        self.skip_ack: bool | None = None
        self.quarantine: bool | None = None
        self.bursts: list[BurstHit] = []
        self.notes: list[str] = []

    def apply(self, rules: RuleSet, rule: Rule, person: Person | None) -> None:
        # Later rules override earlier ones for every scalar but priority.
        for name in ("type", "team", "assignee", "system", "skip_ack", "quarantine"):
            value = getattr(rule.actions, name)
            if value is not None:
                setattr(self, name, value)
        asked = rule.actions.priority
        if asked is not None:
            # Priority only ever rises: a later, milder rule must not undo an urgent one.
            if self.priority is None or rules.rank(asked) < rules.rank(self.priority):
                self.priority = asked
            elif asked != self.priority:
                self.notes.append(f"keep {self.priority}: {rule.name} asked for {asked}, priority only rises")
        self.tags.update(dict.fromkeys(rule.actions.tags))
        self.flags.update(dict.fromkeys(rule.actions.flags))
        if rule.burst is not None:
            self._burst(rule, person)

    def _burst(self, rule: Rule, person: Person | None) -> None:
        spec = rule.burst
        assert spec is not None
        if spec.per == "all":
            key = "*"
        elif person is not None and person.department:
            key = person.department
        else:
            # Lumping every unknown sender into one "department" would fake bursts.
            self.notes.append(f"burst {rule.name}: not counted, the sender's department is unknown")
            return
        self.bursts.append(BurstHit(rule.name, spec.count, spec.minutes, spec.per, spec.priority, key))


def evaluate(
    rules: RuleSet,
    mail: InboundMail,
    person: Person | None,
    *,
    in_business_hours: bool,
    defaults: Defaults,
) -> Decision:
    """Classify one mail; pure and deterministic, the caller stores and counts."""
    ctx = MailContext(mail, person, in_business_hours)
    steps: list[Step] = []
    hits: list[str] = []
    misses: list[str] = []
    out = _Outcome()
    skipped: tuple[str, ...] = ()
    all_rules = rules.rules
    for index, rule in enumerate(all_rules):
        failed: Condition | None = None
        found: Condition | None = None
        if rule.match_all:
            for cond in rule.conditions:
                if cond.test(ctx) is None:
                    failed = cond
                    break
        else:
            for cond in rule.conditions:
                if cond.test(ctx) is not None:
                    found = cond
                    break
        if failed is not None or (found is None and not rule.match_all):
            steps.append((rule, False, ((failed, None),) if failed is not None else ()))
            misses.append(rule.name)
            continue
        # A hit is rare next to a miss: only now collect what matched (field values are
        # cached and tests deterministic, so asking again returns the same evidence).
        shown = rule.conditions if found is None else (found,)
        steps.append((rule, True, tuple((c, c.test(ctx)) for c in shown)))
        hits.append(rule.name)
        out.apply(rules, rule, person)
        if rule.actions.stop:
            skipped = tuple(r.name for r in all_rules[index + 1 :])
            break
    if log.isEnabledFor(logging.DEBUG):
        log.debug("rules for %s: hits=%s", mail.message_id, ",".join(hits) or "-")
    return Decision(
        hits=tuple(hits),
        misses=tuple(misses),
        type=out.type if out.type is not None else defaults.type,
        priority=out.priority if out.priority is not None else defaults.priority,
        team=out.team if out.team is not None else defaults.team,
        assignee=out.assignee if out.assignee is not None else defaults.assignee,
        tags=tuple(out.tags),
        flags=tuple(out.flags),
        skip_ack=bool(out.skip_ack),
        quarantine=bool(out.quarantine),
        bursts=tuple(out.bursts),
        system=out.system or "",
        skipped=skipped,
        steps=tuple(steps),
        notes=tuple(out.notes),
    )

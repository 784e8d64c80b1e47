"""The figures as people read them: a summary and tables with display names, in Chinese or English.

Shared by the terminal table and the HTML mail so both say the same thing.
Engineers appear by name (or a masked address when the directory has none);
recurring-problem titles were masked when grouped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from maildesk.config import Settings
from maildesk.masking import mask_email
from maildesk.outbound.phrases import Phrases
from maildesk.reports.figures import DOMINANT_SHARE, NO_SYSTEM, NO_TEAM, PENDING, Figures
from maildesk.reports.unsolved import Unsolved
from maildesk.words import age, channel_name, outcome_name, priority_name, status_name, team_name, type_name

__all__ = ["Labels", "Table", "pct", "summary", "tables"]

NONE = "—"


def pct(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f}%"


def num(value: float | None) -> str:
    return NONE if value is None else f"{value:.2f}"


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]

    def as_context(self) -> dict[str, object]:
        return {"title": self.title, "columns": self.columns, "rows": self.rows}


class Labels:
    """Display names of codes (from the settings) and the report's words (from the phrase books), in its language."""

    def __init__(self, settings: Settings, lang: str, phrases: Phrases) -> None:
        self.settings, self.lang, self.phrases = settings, lang, phrases

    def t(self, key: str, **values: object) -> str:
        return self.phrases.say(key, self.lang, **values)

    def type(self, code: str) -> str:
        return type_name(self.settings, code, self.lang)

    def priority(self, code: str) -> str:
        name = priority_name(self.settings, code, self.lang)
        return f"{code} {name}" if name != code else code

    def team(self, code: str) -> str:
        if code == NO_TEAM:
            return self.t("report.no_team")
        return team_name(self.settings, code, self.lang)

    def status(self, code: str) -> str:
        return status_name(code, self.lang)

    def engineer(self, address: str, name: str) -> str:
        return name or mask_email(address)

    def channel(self, code: str) -> str:
        return channel_name(code, self.lang)

    def system(self, name: str) -> str:
        return name if name != NO_SYSTEM else self.t("report.no_system")

    def outcome(self, code: str) -> str:
        """可实施 / feasible, or 待评估 / pending: a requirement's evaluation."""
        return self.t("report.pending") if code == PENDING else outcome_name(code, self.lang)


def summary(fig: Figures, lb: Labels) -> list[dict[str, str]]:
    """Label/value pairs for the head of the report."""
    t = lb.t
    sat = fig.satisfaction
    satisfaction = t("report.satisfaction_answers", score=num(sat.overall), answers=sat.answers) if sat.answers else \
        t("report.none_no_survey_answers_in_the_period")
    rows = [
        (t("report.tickets"), str(fig.tickets)),
        (t("report.resolution_rate"), pct(fig.resolution_rate)),
        (t("report.reopen_rate"), pct(fig.reopen_rate)),
        (t("report.first_response_working_hours_avg_median"),
         f"{num(fig.first_response_hours.avg)} / {num(fig.first_response_hours.median)}"),
        (t("report.resolution_working_hours_avg_median"),
         f"{num(fig.resolution_hours.avg)} / {num(fig.resolution_hours.median)}"),
        (t("report.satisfaction_overall_1_5"), satisfaction),
        (t("report.unsolved_count"), str(fig.unsolved_total)),
    ]
    for code, share in fig.dominant_types:
        rows.append((t("report.note_one_type_dominates"),
                     t("report.dominant", type=lb.type(code), share=pct(share), limit=f"{DOMINANT_SHARE:.0%}")))
    if fig.recurring:
        top = fig.recurring[0]
        rows.append((t("report.top_recurring_problem"),
                     t("report.top_recurring", title=top.title, count=top.count)))
    return [{"label": label, "value": value} for label, value in rows]


def _counts(title: str, head: str, counts: Mapping[str, int], name: Callable[[str], str], total: int,
            lb: Labels) -> Table:
    rows = [[name(code), str(n), pct(n / total if total else None)] for code, n in counts.items()]
    return Table(title, [head, lb.t("report.count"), lb.t("report.share")], rows)


def _unsolved(fig: Figures, lb: Labels, names: Mapping[str, str]) -> Table:
    """What stayed unsolved and why: status, whom it waits on, the last note or progress, age."""
    t = lb.t
    title = t("report.unsolved") if fig.unsolved_total <= len(fig.unsolved) else \
        t("report.unsolved_first", shown=len(fig.unsolved), total=fig.unsolved_total)

    def waiting(u: Unsolved) -> str:
        if u.waiting_on == "assignee" and u.assignee:
            return lb.engineer(u.assignee, names.get(u.assignee, ""))
        return t(f"report.waiting_{u.waiting_on}")

    rows = [[u.number, u.subject, u.priority, lb.status(u.status), waiting(u),
             f"{u.last_word_at[5:16].replace('T', ' ')} {u.last_word}" if u.last_word_at else NONE,
             age(u.age_hours * 3600, lb.lang)] for u in fig.unsolved]
    return Table(title, [t("report.numbers"), t("report.problem"), t("report.priority"), t("report.status"),
                         t("report.waiting_on"), t("report.last_word"), t("report.age")], rows)


def tables(fig: Figures, lb: Labels) -> list[Table]:
    t = lb.t
    names = {e.address: e.name for e in fig.engineers if e.name}
    priorities = list(dict.fromkeys([*fig.by_priority, *fig.sla_compliance]))
    out = [
        _counts(t("report.by_type"), t("report.type"), fig.by_type, lb.type, fig.tickets, lb),
        Table(t("report.by_priority_and_sla"),
              [t("report.priority"), t("report.count"), t("report.resolved_in_time"),
               t("report.answered_in_time")],
              [[lb.priority(p), str(fig.by_priority.get(p, 0)), pct(fig.sla_compliance.get(p)),
                pct(fig.response_compliance.get(p))] for p in priorities]),
        _counts(t("report.by_team"), t("report.team"), fig.by_team, lb.team, fig.tickets, lb),
        _counts(t("report.by_status"), t("report.status"), fig.by_status, lb.status, fig.tickets, lb),
        _counts(t("report.by_channel"), t("report.channel"), fig.by_channel, lb.channel, fig.tickets, lb),
    ]
    if any(name != NO_SYSTEM for name in fig.by_system):  # the intake form's systems, once anyone names one
        out.append(_counts(t("report.by_system"), t("report.system"), fig.by_system, lb.system, fig.tickets, lb))
    sat = fig.satisfaction
    out.append(Table(t("report.satisfaction"),
                     [t("report.speed"), t("report.solving"), t("report.attitude"),
                      t("report.overall"), t("report.answers")],
                     [[num(sat.speed), num(sat.solving), num(sat.attitude), num(sat.overall), str(sat.answers)]]))
    if any(fig.requirements.values()):
        out.append(_counts(t("report.requirements"), t("report.outcome"), fig.requirements, lb.outcome,
                           sum(fig.requirements.values()), lb))
    if fig.recurring:
        out.append(Table(t("report.recurring_problems"),
                         [t("report.problem"), t("report.type"), t("report.tickets_2"), t("report.numbers")],
                         [[g.title, lb.type(g.type), str(g.count), ", ".join(g.tickets)] for g in fig.recurring]))
    if fig.unsolved:
        out.append(_unsolved(fig, lb, names))
    out.append(Table(
        t("report.engineers"),
        [t("report.engineer"), t("report.assigned"), t("report.resolved"), t("report.open"),
         t("report.reopened"), t("report.load_now"), t("report.first_resp_h"),
         t("report.resolution_h"), t("report.in_time"), t("report.satisfaction")],
        [[lb.engineer(e.address, e.name), str(e.assigned), str(e.resolved), str(e.open), str(e.reopened),
          str(e.open_now), num(e.first_response_hours), num(e.resolution_hours), pct(e.sla_compliance),
          num(e.satisfaction)] for e in fig.engineers],
    ))
    return out

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
from maildesk.reports.figures import DOMINANT_SHARE, NO_TEAM, Figures
from maildesk.statuses import Status

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
    """Display names of codes, from the settings, in the report's language."""

    def __init__(self, settings: Settings, lang: str) -> None:
        self.settings, self.lang = settings, lang

    def t(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en

    def type(self, code: str) -> str:
        return self.settings.types.get(code, code) if self.lang == "zh" else code

    def priority(self, code: str) -> str:
        p = self.settings.priorities.get(code)
        return f"{code} {p.name}" if p and self.lang == "zh" else code

    def team(self, code: str) -> str:
        if code == NO_TEAM:
            return self.t("未分组", "no team")
        team = self.settings.team(code)
        return (team.display_name or code) if team and self.lang == "zh" else code

    def status(self, code: str) -> str:
        return Status(code).zh if self.lang == "zh" else code

    def engineer(self, address: str, name: str) -> str:
        return name or mask_email(address)


def summary(fig: Figures, lb: Labels) -> list[dict[str, str]]:
    """Label/value pairs for the head of the report."""
    t = lb.t
    sat = fig.satisfaction
    satisfaction = (f"{num(sat.overall)}（{sat.answers} 份答卷）" if lb.lang == "zh"
                    else f"{num(sat.overall)} ({sat.answers} answers)") if sat.answers else \
        t("无（本期没有问卷回复）", "none (no survey answers in the period)")
    rows = [
        (t("工单总数", "Tickets"), str(fig.tickets)),
        (t("解决率", "Resolution rate"), pct(fig.resolution_rate)),
        (t("重开率", "Reopen rate"), pct(fig.reopen_rate)),
        (t("首次响应（工作小时，平均 / 中位）", "First response (working hours, avg / median)"),
         f"{num(fig.first_response_hours.avg)} / {num(fig.first_response_hours.median)}"),
        (t("解决用时（工作小时，平均 / 中位）", "Resolution (working hours, avg / median)"),
         f"{num(fig.resolution_hours.avg)} / {num(fig.resolution_hours.median)}"),
        (t("满意度（综合，1–5）", "Satisfaction (overall, 1–5)"), satisfaction),
    ]
    for code, share in fig.dominant_types:
        rows.append((t("注意：类型占比过高", "Note: one type dominates"),
                     t(f"{lb.type(code)} 占 {pct(share)}，超过 {DOMINANT_SHARE:.0%}",
                       f"{lb.type(code)} is {pct(share)} of the volume, above {DOMINANT_SHARE:.0%}")))
    if fig.recurring:
        top = fig.recurring[0]
        rows.append((t("最常见的重复问题", "Top recurring problem"),
                     t(f"{top.title}（{top.count} 次）", f"{top.title} ({top.count} tickets)")))
    return [{"label": label, "value": value} for label, value in rows]


def _counts(title: str, head: str, counts: Mapping[str, int], name: Callable[[str], str], total: int,
            lb: Labels) -> Table:
    rows = [[name(code), str(n), pct(n / total if total else None)] for code, n in counts.items()]
    return Table(title, [head, lb.t("数量", "Count"), lb.t("占比", "Share")], rows)


def tables(fig: Figures, lb: Labels) -> list[Table]:
    t = lb.t
    priorities = list(dict.fromkeys([*fig.by_priority, *fig.sla_compliance]))
    out = [
        _counts(t("按问题类型", "By type"), t("类型", "Type"), fig.by_type, lb.type, fig.tickets, lb),
        Table(t("按优先级与时限达成", "By priority and SLA"),
              [t("优先级", "Priority"), t("数量", "Count"), t("解决时限达成率", "Resolved in time"),
               t("响应时限达成率", "Answered in time")],
              [[lb.priority(p), str(fig.by_priority.get(p, 0)), pct(fig.sla_compliance.get(p)),
                pct(fig.response_compliance.get(p))] for p in priorities]),
        _counts(t("按处理组", "By team"), t("处理组", "Team"), fig.by_team, lb.team, fig.tickets, lb),
        _counts(t("按状态", "By status"), t("状态", "Status"), fig.by_status, lb.status, fig.tickets, lb),
    ]
    sat = fig.satisfaction
    out.append(Table(t("满意度", "Satisfaction"),
                     [t("响应速度", "Speed"), t("问题解决", "Solving"), t("服务态度", "Attitude"),
                      t("综合", "Overall"), t("答卷数", "Answers")],
                     [[num(sat.speed), num(sat.solving), num(sat.attitude), num(sat.overall), str(sat.answers)]]))
    if fig.recurring:
        out.append(Table(t("重复问题", "Recurring problems"),
                         [t("问题", "Problem"), t("类型", "Type"), t("次数", "Tickets"), t("工单", "Numbers")],
                         [[g.title, lb.type(g.type), str(g.count), ", ".join(g.tickets)] for g in fig.recurring]))
    out.append(Table(
        t("工程师", "Engineers"),
        [t("工程师", "Engineer"), t("分配", "Assigned"), t("已解决", "Resolved"), t("未结", "Open"),
         t("重开", "Reopened"), t("当前负载", "Load now"), t("首次响应(h)", "First resp. (h)"),
         t("解决用时(h)", "Resolution (h)"), t("时限达成率", "In time"), t("满意度", "Satisfaction")],
        [[lb.engineer(e.address, e.name), str(e.assigned), str(e.resolved), str(e.open), str(e.reopened),
          str(e.open_now), num(e.first_response_hours), num(e.resolution_hours), pct(e.sla_compliance),
          num(e.satisfaction)] for e in fig.engineers],
    ))
    return out

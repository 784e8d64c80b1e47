"""Charts of a report as PNG images, for the HTML mail (inline ``cid:`` parts) and the HTML file.

matplotlib is imported here, inside the function, because loading it costs half
a second that every other command would pay. Chinese labels need a font that
has the characters; when none is installed (``fc-list :lang=zh`` is empty) the
charts are labelled in English with type codes, rather than with empty boxes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from maildesk.reports.figures import Figures
from maildesk.reports.sections import Labels

__all__ = ["Chart", "cjk_font", "make_charts"]

# families that cover Simplified Chinese, as fontconfig and matplotlib name them
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
                "WenQuanYi Micro Hei", "Droid Sans Fallback", "SimHei", "Microsoft YaHei", "PingFang SC",
                "AR PL UMing CN", "Noto Serif CJK SC")
COLOUR = "#0969da"
PER_DAY = "report.chart_new_tickets_per_day"
BY_TYPE = "report.chart_tickets_by_type"
IN_TIME = "report.chart_resolved_within_target_by_priority"
DPI = 100


@dataclass(frozen=True)
class Chart:
    cid: str  # the content id the HTML refers to as cid:...
    title: str  # the caption above it, in the report's language (the image may be in English, see above)
    png: bytes


def cjk_font() -> str | None:
    """The first installed font family that can show Chinese, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def make_charts(fig: Figures, labels: Labels, *, domain: str = "maildesk.report") -> list[Chart]:
    """Tickets per day, tickets by type and SLA compliance by priority (when there is anything to show)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    font = cjk_font()
    lb = labels if font else Labels(labels.settings, "en", labels.phrases)
    rc: Any = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "font.size": 10,
          "axes.spines.top": False, "axes.spines.right": False}
    charts: list[Chart] = []
    with matplotlib.rc_context(rc):
        if fig.by_day:
            caption, title = labels.t(PER_DAY), lb.t(PER_DAY)
            figure = Figure(figsize=(7, 2.6))
            ax = figure.subplots()
            days = list(fig.by_day)
            ax.bar(range(len(days)), list(fig.by_day.values()), color=COLOUR)
            step = max(1, len(days) // 10)
            ax.set_xticks(range(0, len(days), step), [d[5:] for d in days[::step]])
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(title)
            charts.append(Chart(f"chart-days@{domain}", caption, _png(figure)))
        if fig.by_type:
            caption, title = labels.t(BY_TYPE), lb.t(BY_TYPE)
            figure = Figure(figsize=(7, 0.5 + 0.4 * len(fig.by_type)))
            ax = figure.subplots()
            names = [lb.type(code) for code in fig.by_type][::-1]
            ax.barh(names, list(fig.by_type.values())[::-1], color=COLOUR)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(title)
            charts.append(Chart(f"chart-types@{domain}", caption, _png(figure)))
        known = {p: v for p, v in fig.sla_compliance.items() if v is not None}
        if known:
            caption, title = labels.t(IN_TIME), lb.t(IN_TIME)
            figure = Figure(figsize=(7, 2.6))
            ax = figure.subplots()
            bars = ax.bar(list(known), [v * 100 for v in known.values()], color=COLOUR)
            ax.bar_label(bars, labels=[f"{v * 100:.0f}%" for v in known.values()])
            ax.set_ylim(0, 110)
            ax.set_ylabel("%")
            ax.set_title(title)
            charts.append(Chart(f"chart-sla@{domain}", caption, _png(figure)))
    return charts

"""The report as HTML: the ``report`` mail template with charts, for a mail or for a file.

In a mail the charts are inline parts the HTML names as ``cid:``; in a file
(``report --format html``) the same HTML carries them as ``data:`` URIs, so the
file opens in a browser on its own.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from maildesk.outbound.templates import RenderedMail, Templates
from maildesk.reports.charts import Chart, make_charts
from maildesk.reports.figures import Figures
from maildesk.reports.sections import Labels, summary, tables

__all__ = ["RenderedReport", "render_html", "render_report"]


@dataclass(frozen=True)
class RenderedReport:
    mail: RenderedMail
    charts: list[Chart]

    @property
    def inline_images(self) -> list[tuple[str, str, bytes]]:
        return [(c.cid, "image/png", c.png) for c in self.charts]


def render_report(
    templates: Templates, fig: Figures, labels: Labels, *, title: str, recipient_name: str,
    charts: list[Chart] | None = None,
) -> RenderedReport:
    """The report mail (subject, text, HTML) and the chart images its HTML refers to."""
    if charts is None:
        charts = make_charts(fig, labels)
    context = {
        "recipient_name": recipient_name, "title": title, "period_from": fig.first, "period_to": fig.last,
        "summary": summary(fig, labels), "tables": [t.as_context() for t in tables(fig, labels)],
        "charts": [{"cid": c.cid, "title": c.title} for c in charts],
    }
    return RenderedReport(templates.render("report", labels.lang, context), charts)


def render_html(templates: Templates, fig: Figures, labels: Labels, *, title: str, recipient_name: str) -> str:
    """A self-contained HTML page of the report, charts embedded as data: URIs."""
    report = render_report(templates, fig, labels, title=title, recipient_name=recipient_name)
    html = report.mail.html or ""
    for chart in report.charts:
        data = base64.b64encode(chart.png).decode("ascii")
        html = html.replace(f'"cid:{chart.cid}"', f'"data:image/png;base64,{data}"')
    return html

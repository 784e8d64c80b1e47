"""The report as JSON, CSV and a terminal table.

CSV is one figure a row (section, item, metric, value) with codes, not display
names, so a spreadsheet or a script can pick any figure without parsing a layout.
No cell starts a formula: a recurring problem's title is a reporter's subject.
"""

from __future__ import annotations

import csv
import io
import json
import re

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from maildesk.reports.figures import Figures
from maildesk.reports.sections import Labels, summary, tables

__all__ = ["csv_rows", "render_csv", "render_json", "render_table", "safe_cell"]

CSV_HEADER = ("section", "item", "metric", "value")


def render_json(fig: Figures) -> str:
    return json.dumps(fig.as_json(), ensure_ascii=False, indent=2) + "\n"


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def csv_rows(fig: Figures) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = [
        ("period", "", "from", fig.first), ("period", "", "to", fig.last), ("summary", "", "tickets", str(fig.tickets)),
        ("summary", "", "resolution_rate", _cell(fig.resolution_rate)),
        ("summary", "", "reopen_rate", _cell(fig.reopen_rate)),
        ("summary", "", "unsolved", str(fig.unsolved_total)),
    ]
    for section in ("by_type", "by_priority", "by_team", "by_status", "by_day", "by_channel", "by_system",
                    "requirements"):
        rows += [(section, key, "count", str(n)) for key, n in getattr(fig, section).items()]
    for section in ("first_response_hours", "resolution_hours"):
        stats = getattr(fig, section)
        rows += [(section, "", metric, _cell(getattr(stats, metric))) for metric in ("avg", "median", "count")]
    for section in ("sla_compliance", "response_compliance"):
        rows += [(section, p, "share", _cell(v)) for p, v in getattr(fig, section).items()]
    rows += [("satisfaction", "", k, _cell(v)) for k, v in fig.satisfaction.as_json().items()]
    for g in fig.recurring:
        rows += [("recurring", g.title, "type", g.type), ("recurring", g.title, "count", str(g.count)),
                 ("recurring", g.title, "tickets", " ".join(g.tickets))]
    rows += [("dominant_types", code, "share", str(share)) for code, share in fig.dominant_types]
    for u in fig.unsolved:
        rows += [("unsolved", u.number, k, _cell(v)) for k, v in u.as_json().items() if k != "number"]
    for e in fig.engineers:
        fields = e.as_json()
        rows += [("engineers", str(fields["address"]), k, _cell(v)) for k, v in fields.items() if k != "address"]
    return rows


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(…), +cmd|…, @SUM(…));
# tab and carriage return too, by OWASP's advice on CSV injection.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def safe_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it without running it: a formula-like start gets a leading quote."""
    if value.lstrip(" ").startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def render_csv(fig: Figures) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows([safe_cell(cell) for cell in row] for row in csv_rows(fig))
    return out.getvalue()


def render_table(fig: Figures, labels: Labels, title: str, width: int = 140) -> str:
    """The report for a terminal: a summary, then one table a section."""
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=False, color_system=None)
    console.print(f"{title}  ({fig.first} – {fig.last})", markup=False)
    head = RichTable(show_header=False, box=None)
    for row in summary(fig, labels):
        head.add_row(escape(row["label"]), escape(row["value"]))
    console.print(head)
    for section in tables(fig, labels):
        table = RichTable(title=section.title, title_justify="left")
        for index, header in enumerate(section.columns):
            cells = [r[index] for r in section.rows]
            whole = bool(cells) and all(_TICKET_NUMBER.fullmatch(c) for c in cells)
            # a ticket number is never cut: a reader types it into `maildesk tickets show`
            table.add_column(header, no_wrap=whole, min_width=max(map(len, cells)) if whole else None)
        for r in section.rows:
            table.add_row(*(escape(c) for c in r))
        console.print(table)
    return out.getvalue()


_TICKET_NUMBER = re.compile(r"[A-Z][A-Z0-9]*-\d{8}-\d{4,}")

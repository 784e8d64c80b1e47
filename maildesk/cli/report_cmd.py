"""``maildesk report``: the weekly or monthly figures, in the terminal, as CSV/JSON/HTML, or mailed to supervisors."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from maildesk.cli.common import state, usage_error

if TYPE_CHECKING:
    from maildesk.desk.setup import Desk
    from maildesk.reports.figures import Figures
    from maildesk.reports.period import Period


def _date(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise usage_error(option, f"not a date (YYYY-MM-DD): {value!r}") from None


def _now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise usage_error("--now", f"not an ISO-8601 time: {value!r}") from None
    if now.tzinfo is None:
        raise usage_error("--now", "give the offset too, e.g. 2026-11-30T09:00+08:00")
    return now


def choose_period(kind: str | None, first: date | None, last: date | None, now: datetime, tz: ZoneInfo) -> Period:
    """--from/--to name days; --period alone means the last whole week or month; both: the one holding --from."""
    from maildesk.reports.period import PeriodError, custom_period, last_complete, month_of, week_of

    if last is not None and first is None:
        raise usage_error("--to", "give --from as well")
    try:
        if first is not None and last is not None:
            return custom_period(first, last, tz)
        if first is not None:
            if kind == "week":
                return week_of(first, tz)
            if kind == "month":
                return month_of(first, tz)
            return custom_period(first, now.astimezone(tz).date(), tz)
        return last_complete(kind or "week", now, tz)
    except PeriodError as exc:
        raise usage_error("--from/--to", str(exc)) from None


def register(cli: click.Group) -> None:
    @cli.command("report")
    @click.option("--period", "kind", type=click.Choice(["week", "month"]), default=None,
                  help="The last whole week (default) or month; with --from, the one holding that day.")
    @click.option("--from", "from_", metavar="YYYY-MM-DD", help="First day of the period.")
    @click.option("--to", "to", metavar="YYYY-MM-DD", help="Last day of the period (default: today).")
    @click.option("--format", "fmt", type=click.Choice(["table", "csv", "html", "json"]), default=None,
                  help="Output format (default: table).")
    @click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="Write to this file instead of standard output.")
    @click.option("--send", is_flag=True, help="Mail the report (HTML with charts) to the managers and directors.")
    @click.option("--now", "now_", metavar="ISO-8601", default=None, help="Pretend it is this moment.")
    def report(kind: str | None, from_: str | None, to: str | None, fmt: str | None, as_json: bool,
               output: Path | None, send: bool, now_: str | None) -> None:
        """Tickets by type, priority, team and status; response and resolution times; SLA; satisfaction;
        recurring problems; per-engineer figures."""
        if as_json:
            if fmt not in (None, "json"):
                raise usage_error("--json", f"conflicts with --format {fmt}")
            fmt = "json"
        from maildesk.reports.mailing import build_figures, queue_report

        now = _now(now_)
        app = state.checked_app(smtp=send)
        settings = app.settings
        period = choose_period(kind, _date("--from", from_), _date("--to", to), now, settings.tz)
        figures = build_figures(app.desk, app.store, period, now)
        if send:
            from maildesk.daemon import Daemon, utc_now

            queued = queue_report(app.desk, app.store, period, now, figures=figures)
            result = Daemon.flush_only(app, utc_now)
            click.echo(f"report {period.key}: queued for {', '.join(queued)}; outbox: {result}", err=True)
            if fmt is None:
                return
        text = _render(app.desk, figures, period, fmt or "table")
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)


def _render(desk: Desk, figures: Figures, period: Period, fmt: str) -> str:
    from maildesk.reports.html import render_html
    from maildesk.reports.render import render_csv, render_json, render_table
    from maildesk.reports.sections import Labels

    labels = Labels(desk.settings, desk.settings.language, desk.templates.phrases)
    if fmt == "json":
        return render_json(figures)
    if fmt == "csv":
        return render_csv(figures)
    if fmt == "html":
        return render_html(desk.templates, figures, labels, title=period.title(labels),
                           recipient_name=labels.t("report.all"))
    from maildesk.cli.tables import terminal_width

    return render_table(figures, labels, period.title(labels), width=terminal_width())

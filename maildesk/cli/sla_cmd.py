"""``maildesk sla sweep [--now ISO-8601] [--json]``: the SLA sweep at any moment, for replay and cron."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from maildesk.cli.common import print_json, state, usage_error
from maildesk.sweep import run_sweep
from maildesk.times import iso


def register(cli: click.Group) -> None:
    @cli.group("sla")
    def sla() -> None:
        """Service-level targets: the sweep that escalates, reminds and reports."""

    @sla.command("sweep")
    @click.option("--now", "now_text", metavar="ISO-8601",
                  help="The moment to sweep at (default: now); without an offset, the configured time zone.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def sweep(now_text: str | None, as_json: bool) -> None:
        """Queue every progress, reminder, escalation, closing, survey and digest mail due at NOW."""
        app = state.app(upgrade=True)
        tz = app.settings.tz
        if now_text is None:
            now = datetime.now(UTC)
        else:
            try:
                now = datetime.fromisoformat(now_text.strip())
            except ValueError:
                raise usage_error("--now", f"not an ISO-8601 date and time: {now_text!r}") from None
            if now.tzinfo is None:
                now = now.replace(tzinfo=tz)
        queued = run_sweep(app.desk, app.store, now).queued
        if as_json:
            print_json({"now": iso(now, tz), "queued": [q.as_json() for q in queued]})
            return
        click.echo(f"sla sweep at {iso(now, tz)}: {len(queued)} mail(s) queued")
        for q in queued:
            level = f" level {q.level}" if q.level is not None else ""
            click.echo(f"  {q.ticket or '-':<18} {q.kind}{level} → {', '.join(q.to)}")

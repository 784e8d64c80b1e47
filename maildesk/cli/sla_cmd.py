"""``maildesk sla sweep [--now ISO-8601] [--dry-run] [--json]``: the SLA sweep at any moment, for replay and cron."""

from __future__ import annotations

import click

from maildesk.cli.common import print_json, state, usage_error


def register(cli: click.Group) -> None:
    @cli.group("sla")
    def sla() -> None:
        """Service-level targets: the sweep that escalates, reminds and reports."""

    @sla.command("sweep")
    @click.option("--now", "now_text", metavar="ISO-8601",
                  help="The moment to sweep at (default: now); without an offset, the configured time zone. "
                       "This acts for real: the mails are queued and the tickets changed (see --dry-run).")
    @click.option("--dry-run", is_flag=True, help="Show what the sweep would queue; change nothing.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def sweep(now_text: str | None, dry_run: bool, as_json: bool) -> None:
        """Queue every progress, reminder, escalation, closing, survey and digest mail due at NOW."""
        from datetime import UTC, datetime

        from maildesk.sweep import run_sweep
        from maildesk.times import iso

        settings = state.settings()
        tz = settings.tz
        if now_text is None:
            now = datetime.now(UTC)
        else:
            try:
                now = datetime.fromisoformat(now_text.strip())
            except ValueError:
                raise usage_error("--now", f"not an ISO-8601 date and time: {now_text!r}") from None
            if now.tzinfo is None:
                now = now.replace(tzinfo=tz)
        app = state.checked_app()
        queued = run_sweep(app.desk, app.store, now, dry_run=dry_run).queued
        if as_json:
            print_json({"now": iso(now, tz), **({"dry_run": True} if dry_run else {}),
                        "queued": [q.as_json() for q in queued]})
            return
        verb = "would queue" if dry_run else "queued"
        click.echo(f"sla sweep at {iso(now, tz)}: {verb} {len(queued)} mail(s)" + (" (dry run: nothing changed)"
                                                                                    if dry_run else ""))
        for q in queued:
            level = f" level {q.level}" if q.level is not None else ""
            click.echo(f"  {q.ticket or '-':<18} {q.kind}{level} → {', '.join(q.to)}")

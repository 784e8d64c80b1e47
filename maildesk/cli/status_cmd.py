"""``maildesk status [--json]``: is the desk working? Exit 0 when healthy, 1 when not (a health check)."""

from __future__ import annotations

import click

from maildesk.cli.common import print_json, state


def register(cli: click.Group) -> None:
    @cli.command("status")
    @click.option("--max-lag", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
                  help="Unhealthy when the last mailbox pass is older (default: 3 × imap.poll_seconds, "
                       "at least 300).")
    @click.option("--max-outbox-age", type=click.FloatRange(min=1), default=3600.0, show_default=True,
                  metavar="SECONDS", help="Unhealthy when a mail has waited in the outbox longer.")
    @click.option("--no-mailbox", is_flag=True, help="Do not connect to the mailbox to count the mail waiting.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def status(max_lag: float | None, max_outbox_age: float, no_mailbox: bool, as_json: bool) -> None:
        """The daemons (heartbeat), the last mailbox pass and its lag, mail waiting in the inbox, the outbox,
        tickets past their targets; exit 1 when unhealthy."""
        from datetime import UTC, datetime

        from maildesk.status import Limits, gather, render_text

        app = state.app(upgrade=True)
        report = gather(app, Limits.for_settings(app.settings, max_lag=max_lag, max_outbox_age=max_outbox_age),
                        datetime.now(UTC), count_mailbox=not no_mailbox)
        if as_json:
            print_json(report.as_json(app.settings.tz))
        else:
            for line in render_text(report, app.settings):
                click.echo(line)
        click.get_current_context().exit(0 if report.healthy else 1)

"""``maildesk outbox list | flush``."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from maildesk.cli.common import print_json, state, usage_error
from maildesk.daemon import Daemon, utc_now
from maildesk.store.models import OutboxMail, Ticket
from maildesk.views import outbox_view


def register(cli: click.Group) -> None:
    @cli.group("outbox")
    def outbox() -> None:
        """Outgoing mail."""

    @outbox.command("list")
    @click.option("--status", type=click.Choice(["pending", "sent", "failed"]), help="Only this status.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def list_(status: str | None, as_json: bool) -> None:
        """Every outgoing mail, oldest first."""
        app = state.app(upgrade=True)
        tz = app.settings.tz
        with app.store.session() as session:
            stmt = select(OutboxMail, Ticket.number).outerjoin(Ticket, Ticket.id == OutboxMail.ticket_id) \
                .order_by(OutboxMail.id)
            if status:
                stmt = stmt.where(OutboxMail.status == status)
            rows = [outbox_view(mail, number, tz) for mail, number in session.execute(stmt)]
        if as_json:
            print_json(rows)
            return
        table = Table("id", "ticket", "kind", "to", "status", "tries", "subject")
        for column in table.columns:
            column.no_wrap = True
            column.overflow = "ellipsis"
            column.min_width = len(str(column.header))
        table.columns[2].min_width = 10
        for r in rows:
            table.add_row(str(r["id"]), r["ticket"] or "", r["kind"], ", ".join(r["to"]), r["status"],
                          str(r["attempts"]), r["subject"][:50])
        Console(width=max(Console().width, 150)).print(table)

    @outbox.command("flush")
    @click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
    def flush(as_json: bool) -> None:
        """Send every due outgoing mail now."""
        app = state.app(upgrade=True)
        if app.settings.smtp.transport == "smtp" and not app.settings.smtp.host:
            raise usage_error("smtp.host", "no SMTP server configured")
        result = Daemon.flush_only(app, utc_now)
        if as_json:
            print_json({"sent": result.sent, "retrying": result.retrying, "failed": result.failed})
        else:
            click.echo(f"outbox: {result}")

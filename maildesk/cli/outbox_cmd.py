"""``maildesk outbox list | flush``."""

from __future__ import annotations

import click

from maildesk.cli.common import print_json, state, stream_json_array, usage_error


def register(cli: click.Group) -> None:
    @cli.group("outbox")
    def outbox() -> None:
        """Outgoing mail."""

    @outbox.command("list")
    @click.option("--status", type=click.Choice(["pending", "sent", "failed"]), help="Only this status.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def list_(status: str | None, as_json: bool) -> None:
        """Every outgoing mail, oldest first."""
        from sqlalchemy import select
        from sqlalchemy.orm import defer

        from maildesk.store.models import OutboxMail, Ticket
        from maildesk.views import outbox_view

        app = state.app(upgrade=True)
        settings = app.settings
        with app.store.session() as session:
            stmt = select(OutboxMail, Ticket.number).outerjoin(Ticket, Ticket.id == OutboxMail.ticket_id) \
                .order_by(OutboxMail.id).options(defer(OutboxMail.raw), defer(OutboxMail.text)) \
                .execution_options(yield_per=200)
            if status:
                stmt = stmt.where(OutboxMail.status == status)
            rows = (outbox_view(mail, number, settings.tz) for mail, number in session.execute(stmt))
            if as_json:
                stream_json_array(rows)
                return
            from maildesk.cli.tables import Column, render
            from maildesk.words import outbox_status_name

            columns = [Column("id", keep=True), Column("ticket", keep=True, drop=3), Column("kind", least=6),
                       Column("to", least=12, drop=2), Column("status", least=4), Column("tries", keep=True, drop=1),
                       Column("subject", least=10)]
            table = [[str(r["id"]), r["ticket"] or "-", r["kind"], ", ".join(r["to"]),
                      outbox_status_name(r["status"], settings.language), str(r["attempts"]), r["subject"]]
                     for r in rows]
        for line in render(columns, table):
            click.echo(line)

    @outbox.command("flush")
    @click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
    def flush(as_json: bool) -> None:
        """Send every due outgoing mail now."""
        from maildesk.daemon import Daemon, utc_now

        app = state.app(upgrade=True)
        if app.settings.smtp.transport == "smtp" and not app.settings.smtp.host:
            raise usage_error("smtp.host", "no SMTP server configured")
        result = Daemon.flush_only(app, utc_now)
        if as_json:
            print_json({"sent": result.sent, "retrying": result.retrying, "failed": result.failed})
        else:
            click.echo(f"outbox: {result}")

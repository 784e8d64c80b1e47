"""``maildesk db upgrade``."""

from __future__ import annotations

import click

from maildesk.cli.common import state


def register(cli: click.Group) -> None:
    @cli.group("db")
    def db() -> None:
        """Database maintenance."""

    @db.command("upgrade")
    def upgrade() -> None:
        """Bring the database schema to the newest version (stop the daemons first)."""
        from maildesk.store.revision import schema_state

        app = state.app()
        schema_state(app.store.schema_revision())  # reachable, and not written by a newer maildesk
        revision = app.upgrade()
        click.echo(f"database at revision {revision}")

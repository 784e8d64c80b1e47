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
        """Bring the database schema to the newest version."""
        revision = state.app().upgrade()
        click.echo(f"database at revision {revision}")

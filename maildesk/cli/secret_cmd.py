"""``maildesk secret rotate [--grace-days N]``: a new server secret, the old one valid for a while."""

from __future__ import annotations

import click

from maildesk.cli.common import state, usage_error

# maildesk.secret.DEFAULT_GRACE in days (tests/test_cli_init.py holds them equal): importing that
# module here would cost every command, --help included, the import of `secrets` and its companions
DEFAULT_GRACE_DAYS = 14


def register(cli: click.Group) -> None:
    @cli.group("secret")
    def secret() -> None:
        """The server secret behind the reply-address tokens."""

    @secret.command("rotate")
    @click.option("--grace-days", type=click.FloatRange(min=0), default=DEFAULT_GRACE_DAYS, show_default=True,
                  help="How long replies to mails sent before the rotation still prove what they proved.")
    def rotate(grace_days: float) -> None:
        """Make a new secret; tokens of the old one stay valid for the grace period."""
        from datetime import UTC, datetime, timedelta

        from maildesk.secret import create_secret_file, rotate_secret_file
        from maildesk.times import iso

        settings = state.settings()
        if settings.secret_env:
            raise usage_error("secret_env", f"the secret comes from ${settings.secret_env}: put the new value "
                              f"there and the old one in ${settings.secret_env}_PREVIOUS for the grace period")
        path = settings.path(settings.secret_file)
        if create_secret_file(path):
            click.echo(f"there was no secret yet: created {path}")
            return
        until = rotate_secret_file(path, datetime.now(UTC), timedelta(days=grace_days))
        click.echo(f"rotated {path}; the previous secret stays valid until {iso(until, settings.tz)}")
        click.echo("restart running daemons so they use the new secret")

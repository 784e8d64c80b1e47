"""The ``maildesk`` command line: commands only; the work is done elsewhere.

Start-up time matters (the CLI is scripted and typed all day): a command's module is imported
only when that command runs (or ``--help`` lists them all), and the modules import click and
little else at the top; each command imports what it needs when it runs (bench/cli_startup.py).
"""

from __future__ import annotations

import importlib
import os
import sys

# pydantic looks for plugins of its own among every installed package's entry points the first time
# it validates, a few hundredths of a second of every command; maildesk uses none
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import click

from maildesk import __version__
from maildesk.cli.common import state
from maildesk.cli.failures import describe, one_line

DEBUG_ENV = "MAILDESK_DEBUG"

# command → the module under maildesk.cli whose ``register(group)`` defines it, in the order --help lists them
COMMANDS = {
    "init": "init_cmd", "run": "intake_cmd", "ingest": "intake_cmd", "tickets": "tickets_cmd",
    "quarantine": "quarantine_cmd", "outbox": "outbox_cmd", "status": "status_cmd", "rules": "rules_cmd",
    "kb": "kb_cmd", "sla": "sla_cmd", "report": "report_cmd", "db": "db_cmd", "secret": "secret_cmd",
}  # fmt: skip


class LazyGroup(click.Group):
    """The top-level group: each command's module is imported when that command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        scratch = click.Group()
        importlib.import_module(f"maildesk.cli.{module}").register(scratch)
        return scratch.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="maildesk", message="%(prog)s %(version)s")
@click.option("--config", "-c", "config", metavar="PATH", default=None,
              help="The config file (default: $MAILDESK_CONFIG).")
def cli(config: str | None) -> None:
    """maildesk: an email-driven helpdesk daemon."""
    state.config_path = config


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; exit codes: 0 ok, 2 usage or config error, 1 runtime failure. Failures are one line."""
    try:
        result = cli.main(args=argv, prog_name="maildesk", standalone_mode=False)
    except click.UsageError as exc:  # one line too, with where to read more
        where = exc.ctx.command_path if exc.ctx is not None else "maildesk"
        click.echo(f"maildesk: usage error: {one_line(exc.format_message())} (see: {where} --help)", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("maildesk: aborted", err=True)
        return 1
    except Exception as exc:
        code, line = describe(exc)
        click.echo(f"maildesk: {line}", err=True)
        if os.environ.get(DEBUG_ENV):
            import traceback

            traceback.print_exc()
        return code
    finally:
        state.close()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

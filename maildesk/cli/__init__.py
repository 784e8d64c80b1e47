"""The ``maildesk`` command line: commands only; the work is done elsewhere.

The command modules import click and little else at the top; each command imports what it
needs when it runs, so ``maildesk --help`` and the read commands start fast
(bench/cli_startup.py).
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from maildesk import __version__
from maildesk.cli import (
    db_cmd,
    init_cmd,
    intake_cmd,
    kb_cmd,
    outbox_cmd,
    quarantine_cmd,
    report_cmd,
    rules_cmd,
    secret_cmd,
    sla_cmd,
    status_cmd,
    tickets_cmd,
)
from maildesk.cli.common import state
from maildesk.cli.failures import describe, one_line

DEBUG_ENV = "MAILDESK_DEBUG"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="maildesk", message="%(prog)s %(version)s")
@click.option("--config", "-c", "config", metavar="PATH", default=None,
              help="The config file (default: $MAILDESK_CONFIG).")
def cli(config: str | None) -> None:
    """maildesk: an email-driven helpdesk daemon."""
    state.config_path = config


for module in (init_cmd, db_cmd, tickets_cmd, intake_cmd, quarantine_cmd, outbox_cmd, status_cmd, rules_cmd,
               kb_cmd, sla_cmd, report_cmd, secret_cmd):
    module.register(cli)


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
            traceback.print_exc()
        return code
    finally:
        state.close()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

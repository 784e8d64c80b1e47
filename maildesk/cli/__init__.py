"""The ``maildesk`` command line: commands only; the work is done elsewhere."""

from __future__ import annotations

import sys

import click

from maildesk.cli import (
    db_cmd,
    init_cmd,
    intake_cmd,
    kb_cmd,
    outbox_cmd,
    report_cmd,
    rules_cmd,
    secret_cmd,
    sla_cmd,
    tickets_cmd,
)
from maildesk.cli.common import state
from maildesk.errors import ConfigError, MaildeskError
from maildesk.outbound.templates import TemplateError
from maildesk.people.directory import DirectoryError
from maildesk.rules.model import RuleError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", "config", metavar="PATH", default=None,
              help="The config file (default: $MAILDESK_CONFIG).")
def cli(config: str | None) -> None:
    """maildesk: an email-driven helpdesk daemon."""
    state.config_path = config


for module in (init_cmd, db_cmd, tickets_cmd, intake_cmd, outbox_cmd, rules_cmd, kb_cmd, sla_cmd, report_cmd,
               secret_cmd):
    module.register(cli)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; exit codes: 0 ok, 2 usage or config error, 1 runtime failure."""
    try:
        result = cli.main(args=argv, prog_name="maildesk", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("maildesk: aborted", err=True)
        return 1
    except (ConfigError, RuleError, DirectoryError, TemplateError) as exc:
        click.echo(f"maildesk: config error: {exc}", err=True)
        return 2
    except MaildeskError as exc:
        click.echo(f"maildesk: error: {exc}", err=True)
        return 1
    finally:
        state.close()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

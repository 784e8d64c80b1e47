"""``maildesk run [--once]`` and ``maildesk ingest PATH...``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from maildesk.cli.common import print_json, state

if TYPE_CHECKING:
    from maildesk.daemon import PassSummary

LOG_FORMATS = click.Choice(["text", "json"])


def _logging(verbose: bool, fmt: str) -> None:
    from maildesk.logs import setup_logging

    setup_logging(state.settings().tz, verbose=verbose, fmt="json" if fmt == "json" else "text")


def _report(summary: PassSummary, as_json: bool) -> None:
    if as_json:
        print_json({
            "mails": [{"source": o.source_id, "result": o.result, "ticket": o.ticket, "reason": o.reason}
                      for o in summary.outcomes],
            "jobs": summary.jobs,
            "outbox": {"sent": summary.flushed.sent, "retrying": summary.flushed.retrying,
                       "failed": summary.flushed.failed},
        })
        return
    counts = ", ".join(f"{n} {k}" for k, n in sorted(summary.counts().items())) or "no mail"
    click.echo(f"mail: {counts}")
    for o in summary.outcomes:
        if o.result == "quarantined":
            click.echo(f"  quarantined {o.source_id}: {o.reason}")
    for line in summary.jobs:
        click.echo(line)
    click.echo(f"outbox: {summary.flushed}")


def _config_file() -> str:
    import os

    from maildesk.config import CONFIG_ENV

    return str(Path(state.config_path or os.environ.get(CONFIG_ENV, "")).resolve())


def register(cli: click.Group) -> None:
    @cli.command("run")
    @click.option("--once", is_flag=True, help="One ingest pass, one scheduler pass, one outbox flush; then exit.")
    @click.option("--verbose", "-v", is_flag=True, help="Log debug detail (the periodic jobs, the libraries).")
    @click.option("--log-format", "log_format", type=LOG_FORMATS, default="text", show_default=True,
                  help="Log lines as text, or as one JSON object a line for log shippers.")
    @click.option("--json", "as_json", is_flag=True, help="With --once: print what happened as JSON.")
    def run(once: bool, verbose: bool, log_format: str, as_json: bool) -> None:
        """The daemon: poll the mailbox, keep SLAs, send mail. Checks the config, rules, people directory,
        templates and database first; SIGTERM stops it within seconds."""
        from maildesk.daemon import Daemon, open_source, utc_now

        if not (once and as_json):
            _logging(verbose, log_format)
        app = state.checked_app(mailbox=True, smtp=True)
        daemon = Daemon(app, open_source(app, once=once), utc_now)
        if once:
            try:
                _report(daemon.run_once(), as_json)
            finally:
                daemon.source.close()
            return
        daemon.run_forever(config_file=_config_file())

    @cli.command("ingest")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
    @click.option("--no-flush", is_flag=True, help="Leave outgoing mail in the outbox.")
    @click.option("--json", "as_json", is_flag=True, help="Print what happened as JSON.")
    def ingest(paths: tuple[Path, ...], no_flush: bool, as_json: bool) -> None:
        """Feed .eml files or Maildir folders through the intake pipeline (a Maildir's mail moves to its
        .Processed or .Quarantine folder, as with mailbox.kind = "maildir")."""
        from maildesk.daemon import Daemon, PassSummary, utc_now
        from maildesk.ingest.file_source import open_paths

        app = state.checked_app(smtp=not no_flush)
        source = open_paths(list(paths))
        daemon = Daemon(app, source, utc_now)
        summary = PassSummary()
        try:
            summary.outcomes = daemon.drain()
        finally:
            source.close()
        if not no_flush:
            summary.flushed = daemon.flush()
        _report(summary, as_json)

"""``maildesk run [--once]`` and ``maildesk ingest PATH...``."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from maildesk.cli.common import print_json, state
from maildesk.daemon import Daemon, PassSummary, open_source, utc_now
from maildesk.ingest.file_source import open_paths


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


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


def register(cli: click.Group) -> None:
    @cli.command("run")
    @click.option("--once", is_flag=True, help="One ingest pass, one scheduler pass, one outbox flush; then exit.")
    @click.option("--verbose", "-v", is_flag=True, help="Log debug detail.")
    @click.option("--json", "as_json", is_flag=True, help="With --once: print what happened as JSON.")
    def run(once: bool, verbose: bool, as_json: bool) -> None:
        """The daemon: poll the mailbox, keep SLAs, send mail."""
        _logging(verbose) if not (once and as_json) else None
        app = state.app(upgrade=True)
        daemon = Daemon(app, open_source(app, once=once), utc_now)
        if once:
            try:
                _report(daemon.run_once(), as_json)
            finally:
                daemon.source.close()
            return
        daemon.run_forever()

    @cli.command("ingest")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
    @click.option("--no-flush", is_flag=True, help="Leave outgoing mail in the outbox.")
    @click.option("--json", "as_json", is_flag=True, help="Print what happened as JSON.")
    def ingest(paths: tuple[Path, ...], no_flush: bool, as_json: bool) -> None:
        """Feed .eml files or Maildir folders through the intake pipeline."""
        app = state.app(upgrade=True)
        source = open_paths(list(paths))
        daemon = Daemon(app, source, utc_now)
        summary = PassSummary()
        try:
            summary.outcomes = daemon.pipeline.drain(source)
        finally:
            source.close()
        if not no_flush:
            summary.flushed = daemon.flush()
        _report(summary, as_json)

"""``maildesk quarantine list | show ID | retry ID... | --all``: the way back for mail that failed."""

from __future__ import annotations

import sys

import click

from maildesk.cli.common import print_json, state, usage_error


def register(cli: click.Group) -> None:
    @cli.group("quarantine")
    def quarantine() -> None:
        """Mail intake set aside for a person: see why, and feed it through again once fixed."""

    @quarantine.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def list_(as_json: bool) -> None:
        """Every quarantined mail, oldest first, with the reason."""
        from maildesk.quarantine import HEAD_BYTES, headers, quarantined, raw_bytes
        from maildesk.times import iso

        app = state.app(upgrade=True)
        tz = app.settings.tz
        with app.store.session() as session:
            rows = [(q, headers(raw_bytes(session, q.source_id, HEAD_BYTES))) for q in quarantined(session)]
        if as_json:
            print_json([{"id": q.id, "source": q.source_id, "at": iso(q.at, tz), "from": h["from"],
                         "subject": h["subject"], "reason": q.reason, "size": q.size} for q, h in rows])
            return
        if not rows:
            click.echo("no quarantined mail")
            return
        from maildesk.cli.tables import Column, render

        columns = [Column("id", keep=True), Column("at", keep=True, drop=2), Column("from", least=12, drop=1),
                   Column("subject", least=10), Column("reason", least=16)]
        table = [[q.id, f"{q.at.astimezone(tz):%m-%d %H:%M}", h["from"], h["subject"], q.reason] for q, h in rows]
        for line in render(columns, table):
            click.echo(line)

    @quarantine.command("show")
    @click.argument("mail_id", metavar="ID")
    @click.option("--raw", is_flag=True, help="Write the mail itself (the .eml bytes) to standard output.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def show(mail_id: str, raw: bool, as_json: bool) -> None:
        """One quarantined mail: why, where it came from, its headers."""
        from maildesk.quarantine import find, headers, raw_bytes
        from maildesk.times import iso

        app = state.app(upgrade=True)
        with app.store.session() as session:
            q = find(session, mail_id)
            data = raw_bytes(session, q.source_id)
        if raw:
            sys.stdout.buffer.write(data)
            return
        view = {"id": q.id, "source": q.source_id, "at": iso(q.at, app.settings.tz), "reason": q.reason,
                "size": q.size, **headers(data)}
        if as_json:
            print_json(view)
            return
        for key in ("id", "source", "at", "reason", "from", "to", "subject", "date", "message-id", "size"):
            click.echo(f"{key}: {view[key]}")

    @quarantine.command("retry")
    @click.argument("mail_ids", metavar="ID...", nargs=-1)
    @click.option("--all", "everything", is_flag=True, help="Retry every quarantined mail.")
    @click.option("--no-flush", is_flag=True, help="Leave outgoing mail in the outbox.")
    @click.option("--json", "as_json", is_flag=True, help="Print what happened as JSON.")
    def retry(mail_ids: tuple[str, ...], everything: bool, no_flush: bool, as_json: bool) -> None:
        """Feed quarantined mail through intake again (after fixing what its reason names)."""
        from maildesk.daemon import Daemon, utc_now
        from maildesk.quarantine import RetrySource, find, quarantined, settle_retried, short_id

        if everything == bool(mail_ids):
            raise usage_error("ID", "give the ids to retry, or --all")
        app = state.checked_app(smtp=not no_flush)
        with app.store.session() as session:
            chosen = quarantined(session) if everything else [find(session, i) for i in mail_ids]
        chosen = list({q.source_id: q for q in chosen}.values())
        source = RetrySource(app.store, chosen)
        daemon = Daemon(app, source, utc_now)
        outcomes = daemon.pipeline.drain(source)
        settle_retried(app.store, source.retry_ids, {o.source_id: o.result for o in outcomes}, utc_now())
        flushed = None if no_flush else daemon.flush()
        results = [{"id": source.retry_ids[o.source_id].id, "source": o.source_id, "result": o.result,
                    "ticket": o.ticket, "reason": o.reason} for o in outcomes]
        if as_json:
            print_json({"mails": results, "outbox": None if flushed is None else
                        {"sent": flushed.sent, "retrying": flushed.retrying, "failed": flushed.failed}})
            return
        if not results:
            click.echo("no quarantined mail")
        for o in outcomes:
            again = f" again, now {short_id(o.source_id)}: {o.reason}" if o.result == "quarantined" else ""
            click.echo(f"{source.retry_ids[o.source_id].id}: {o.result}{' ' + o.ticket if o.ticket else ''}{again}")
        if flushed is not None:
            click.echo(f"outbox: {flushed}")


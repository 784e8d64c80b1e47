"""``maildesk tickets new``: a problem that came by phone, instant message, an internal system or in person."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from maildesk.cli.common import print_json, state, usage_error


def register(tickets: click.Group) -> None:
    @tickets.command("new")
    @click.option("--reporter", required=True, metavar="ADDR",
                  help="Who has the problem: an address, 'Name <address>', or a name the people directory knows.")
    @click.option("--subject", required=True, help="The ticket's subject.")
    @click.option("--body-file", required=True, metavar="FILE",
                  help="The problem in the reporter's or your words, UTF-8 ('-': standard input).")
    @click.option("--channel", default="phone", show_default=True,
                  help="How it came: phone, im, system, walk-in or email (电话, 微信, 内部系统, 现场 ...).")
    @click.option("--by", default="operator", show_default=True, metavar="ADDR|NAME",
                  help="Who recorded it (the history keeps it; a staff member's address or name).")
    @click.option("--json", "as_json", is_flag=True, help="Print the new ticket as JSON.")
    def new(reporter: str, subject: str, body_file: str, channel: str, by: str, as_json: bool) -> None:
        """Open a ticket for a reporter who did not write: they get the acknowledgement as if they had."""
        from maildesk.desk.context import Context
        from maildesk.desk.intake import record_for_reporter
        from maildesk.desk.on_behalf import OnBehalf, resolve_reporter
        from maildesk.desk.tickets import get_ticket
        from maildesk.errors import MaildeskError
        from maildesk.ingest.outcome import Result
        from maildesk.views import ticket_detail
        from maildesk.words import CHANNELS, parse_channel

        app_ = state.app(upgrade=True)
        settings, directory = app_.settings, app_.desk.directory
        code = parse_channel(channel)
        if code is None:
            raise usage_error("--channel", f"unknown channel {channel!r} (one of {', '.join(CHANNELS)})")
        found = resolve_reporter(reporter, directory)
        if found is None:
            raise usage_error("--reporter", f"{reporter!r} is no address and no name the people directory knows")
        if settings.is_own_address(found[0]):
            raise usage_error("--reporter", f"{found[0]} is this desk's own address")
        if not subject.strip():
            raise usage_error("--subject", "empty")
        body = _read_body(body_file)
        staff = directory.find(by)
        recorded_by = staff.address.lower() if staff is not None else by.strip() or "operator"
        person = directory.get(found[0])
        on_behalf = OnBehalf(found[0], (person.name if person else "") or found[1], code, recorded_by,
                             "command line")
        with app_.store.session() as session:
            ctx = Context(app_.desk, session, datetime.now(UTC))
            handled = record_for_reporter(ctx, on_behalf, subject=subject.strip(), body=body)
            if handled.result != Result.CREATED or handled.ticket is None:
                raise MaildeskError(f"no ticket opened: {handled.reason or handled.result}")
            detail = ticket_detail(session, get_ticket(session, handled.ticket), settings.tz)
        if as_json:
            print_json(detail)
        else:
            click.echo(f"{detail['number']}: {detail['reporter']} ({code}) {detail['priority']} {detail['type']} "
                       f"{detail['assignee'] or '-'}")


def _read_body(path: str) -> str:
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise usage_error("--body-file", f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise usage_error("--body-file", f"{path} is not UTF-8 text") from None
    if not text.strip():
        raise usage_error("--body-file", f"{path} is empty: write the problem in it")
    return text

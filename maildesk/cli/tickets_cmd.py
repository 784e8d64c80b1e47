"""``maildesk tickets list | show | set``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from maildesk.cli import tickets_new_cmd
from maildesk.cli.common import print_json, state, stream_json_array, usage_error

if TYPE_CHECKING:
    from maildesk.cli.ticket_reader import TicketReader
    from maildesk.config import Settings
    from maildesk.people.directory import Directory, Person

TABLE_LIMIT = 50  # tickets a table shows when --limit is not given; --json lists them all


def register(cli: click.Group) -> None:
    @cli.group("tickets")
    def tickets() -> None:
        """Inspect and review tickets."""

    tickets_new_cmd.register(tickets)  # tickets new: a problem that came by phone, IM, a system, in person

    @tickets.command("list")
    @click.option("--status", "-s", "status", multiple=True,
                  help="Only these statuses (repeatable or comma-separated; 'open' for all open ones).")
    @click.option("--team", help="Only this team's tickets.")
    @click.option("--assignee", metavar="ADDR", help="Only tickets assigned to this address ('none': unassigned).")
    @click.option("--priority", "-p", help="Only this priority, e.g. P1.")
    @click.option("--limit", type=click.IntRange(min=1), default=None,
                  help=f"At most this many (default: {TABLE_LIMIT} in the table, all with --json).")
    @click.option("--after", metavar="NUMBER", help="Start after this ticket (the next page of the listing).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON (an array, written as it is read).")
    def list_(status: tuple[str, ...], team: str | None, assignee: str | None, priority: str | None,
              limit: int | None, after: str | None, as_json: bool) -> None:
        """List tickets, newest first."""
        from maildesk.cli.ticket_reader import TicketFilter

        settings = state.settings()
        if priority is not None:
            priority = priority.strip().upper()
            if priority not in settings.priorities:
                raise usage_error("--priority", f"unknown priority {priority!r} "
                                  f"(one of {', '.join(settings.priorities)})")
        if team is not None and settings.team(team) is None:
            raise usage_error("--team", f"unknown team {team!r} (one of {', '.join(t.name for t in settings.teams)})")
        unassigned = assignee is not None and assignee.strip().lower() in ("none", "-", "")
        page = limit if limit is not None or as_json else TABLE_LIMIT
        wanted = TicketFilter(statuses=tuple(_statuses(list(status))), team=team, priority=priority,
                              assignee="" if unassigned else assignee, after=after,
                              limit=None if page is None else page + (0 if as_json else 1))
        reader = _reader()
        try:
            if as_json:
                stream_json_array(reader.tickets(wanted))
                return
            rows = list(reader.tickets(wanted))
        finally:
            reader.close()
        _print_list(rows[:page], settings)
        if page is not None and len(rows) > page:
            click.echo(f"(first {page} shown; next page: maildesk tickets list --after {rows[page - 1]['number']})",
                       err=True)

    @tickets.command("show")
    @click.argument("number")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def show(number: str, as_json: bool) -> None:
        """One ticket with its messages and history."""
        reader = _reader()
        try:
            detail = reader.ticket(number)
        finally:
            reader.close()
        if as_json:
            print_json(detail)
            return
        from maildesk.cli.ticket_text import print_detail

        settings = state.settings()
        print_detail(detail, settings)

    @tickets.command("set")
    @click.argument("number")
    @click.option("--status", help="New status (code or Chinese name).")
    @click.option("--priority", help="New priority, e.g. P1.")
    @click.option("--type", "type_", help="New problem type (code or display name).")
    @click.option("--assignee", help="New assignee: a staff member's address or name; they are told by mail.")
    @click.option("--team", help="New team.")
    @click.option("--system", help="The system or device concerned (涉及系统).")
    @click.option("--impact", help="Who or what is affected (影响范围).")
    @click.option("--occurred", help="When it started (发生时间), as said; a clear date and time is also read as one.")
    @click.option("--note", help="An internal note (with or without changes).")
    @click.option("--by", default="supervisor", show_default=True, help="Who reviews (recorded in the history).")
    @click.option("--json", "as_json", is_flag=True, help="Print the ticket as JSON afterwards.")
    def set_(number: str, status: str | None, priority: str | None, type_: str | None,
             assignee: str | None, team: str | None, system: str | None, impact: str | None, occurred: str | None,
             note: str | None, by: str, as_json: bool) -> None:
        """A supervisor's review (复核): change status, priority, type, assignee; each change audited."""
        from datetime import UTC, datetime

        from maildesk.desk.assignment import assign_person
        from maildesk.desk.context import Context
        from maildesk.desk.notices import queue_reassignment
        from maildesk.desk.tickets import add_note, change_status, get_ticket, set_field, set_occurred
        from maildesk.desk.triage import record_review, tell_priority_change
        from maildesk.kb.articles import first_problem_text
        from maildesk.views import ticket_detail
        from maildesk.words import parse_status, status_name

        app_ = state.app(upgrade=True)
        settings = app_.settings
        target = None
        if status is not None:
            target = parse_status(status)
            if target is None:
                raise usage_error("--status", f"unknown status {status!r}")
        if priority is not None:
            priority = priority.upper()
            if priority not in settings.priorities:
                raise usage_error("--priority", f"unknown priority {priority!r} "
                                  f"(one of {', '.join(settings.priorities)})")
        if type_ is not None and type_ not in settings.types:
            by_name = {v: k for k, v in settings.types.items()}
            if type_ not in by_name:
                raise usage_error("--type", f"unknown type {type_!r} (one of {', '.join(settings.types)})")
            type_ = by_name[type_]
        if team is not None and settings.team(team) is None:
            raise usage_error("--team", f"unknown team {team!r}")
        person = _staff_person(app_.desk.directory, assignee) if assignee is not None else None
        actor = by.lower()
        with app_.store.session() as session:
            ctx = Context(app_.desk, session, datetime.now(UTC))
            ticket = get_ticket(session, number, for_update=True)
            review = "复核 review"
            old_priority = ticket.priority
            for name, value in (("priority", priority), ("type", type_), ("team", team)):
                if value is not None:
                    set_field(ctx, ticket, name, value, actor=actor, note=review)
            if priority is not None or type_ is not None:
                record_review(ctx, ticket, actor=actor, what="tickets set")
            if ticket.priority != old_priority:  # the assignee and the reporter hear of the new deadlines
                tell_priority_change(ctx, ticket, old_priority, actor=actor)
            for name, value in (("system", system), ("impact", impact)):
                if value is not None:
                    set_field(ctx, ticket, name, value.strip(), actor=actor)
            if occurred is not None:
                set_occurred(ctx, ticket, occurred, actor=actor)
            previous = ticket.assignee
            if person is not None and assign_person(ctx, ticket, person, actor=actor, note=review,
                                                    move_team=team is None):
                queue_reassignment(ctx, ticket, new=person.address.lower(), previous=previous, actor=actor,
                                   description=first_problem_text(session, ticket))
            if target is not None:
                change_status(ctx, ticket, target, actor=actor, note=review)
            if note:
                add_note(ctx, ticket, note, actor=actor)
            detail = ticket_detail(session, ticket, settings.tz)
        if as_json:
            print_json(detail)
        else:
            shown = status_name(str(detail["status"]), settings.language)
            click.echo(f"{detail['number']}: {shown} {detail['priority']} {detail['type']} {detail['assignee'] or '-'}")


def _reader() -> TicketReader:
    """The fast read path; a missing or older database is first created or upgraded the ordinary way."""
    from maildesk.cli.ticket_reader import open_reader
    from maildesk.store.dberrors import DatabaseUnavailable

    settings = state.settings()
    reader = open_reader(settings.database_url, settings.tz)
    if reader is None:
        state.app(upgrade=True)  # creates, upgrades, or says in one line why it cannot
        state.drop_app()
        reader = open_reader(settings.database_url, settings.tz)
        if reader is None:
            raise DatabaseUnavailable(f"cannot read the tickets of {settings.database_url}")
    return reader


def _print_list(rows: list[dict[str, Any]], settings: Settings) -> None:
    from maildesk.cli.tables import Column, render
    from maildesk.words import status_name, type_name

    lang = settings.language
    columns = [
        Column("number", keep=True), Column("status", least=6, want=10), Column("pri", keep=True),
        Column("type", least=4, want=8, drop=3), Column("assignee", least=8, want=12, drop=4),
        Column("reporter", least=8, want=12, drop=1), Column("msgs", keep=True, drop=2),
        Column("subject", least=10, want=30),
    ]
    table = [[r["number"], status_name(r["status"], lang), r["priority"],
              type_name(settings, r["type"], lang), r["assignee"] or "-", r["reporter"],
              str(r["message_count"]), r["subject"]] for r in rows]
    for line in render(columns, table):
        click.echo(line)


def _staff_person(directory: Directory, wanted: str) -> Person:
    """The staff member ``--assignee`` names, by address or by name; a usage error otherwise."""
    person = directory.find(wanted)
    if person is None:
        raise usage_error("--assignee", f"nobody called {wanted!r} in the people directory")
    if not person.is_staff:
        raise usage_error("--assignee", f"{person.address} is not staff ({person.role}) and cannot be assigned")
    return person


def _statuses(values: list[str]) -> list[str]:
    from maildesk.statuses import OPEN_STATUSES
    from maildesk.words import parse_status

    wanted: list[str] = []
    for value in values:
        for part in value.split(","):
            if part.strip().lower() == "open":
                wanted.extend(sorted(s.value for s in OPEN_STATUSES))
                continue
            status = parse_status(part)
            if status is None:
                raise usage_error("--status", f"unknown status {part!r}")
            wanted.append(status.value)
    return wanted

"""``maildesk tickets list | show | set``."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from maildesk.cli import tickets_new_cmd
from maildesk.cli.common import print_json, state, usage_error
from maildesk.desk.assignment import assign_person
from maildesk.desk.context import Context
from maildesk.desk.notices import queue_assignment
from maildesk.desk.tickets import add_note, change_status, get_ticket, set_field
from maildesk.kb.articles import first_problem_text
from maildesk.people.directory import Directory, Person
from maildesk.store.models import Ticket
from maildesk.views import ticket_detail, ticket_summary
from maildesk.words import parse_status, status_name


def register(cli: click.Group) -> None:
    @cli.group("tickets")
    def tickets() -> None:
        """Inspect and review tickets."""

    tickets_new_cmd.register(tickets)  # tickets new: a problem that came by phone, IM, a system, in person

    @tickets.command("list")
    @click.option("--status", "-s", "status", multiple=True,
                  help="Only these statuses (repeatable or comma-separated; 'open' for all open ones).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def list_(status: tuple[str, ...], as_json: bool) -> None:
        """List tickets, newest first."""
        wanted = _statuses(list(status))
        app_ = state.app(upgrade=True)
        tz, tz_lang = app_.settings.tz, app_.settings.language
        with app_.store.session() as session:
            stmt = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc())
            if wanted:
                stmt = stmt.where(Ticket.status.in_(wanted))
            rows = [ticket_summary(t, tz) for t in session.scalars(stmt)]
        if as_json:
            print_json(rows)
            return
        table = Table("number", "status", "pri", "type", "assignee", "reporter", "subject", "msgs")
        for column in table.columns:
            column.no_wrap = True
            column.overflow = "ellipsis"
        for r in rows:
            table.add_row(r["number"], status_name(r["status"], tz_lang), r["priority"], r["type"],
                          r["assignee"] or "", r["reporter"], r["subject"][:40], str(r["message_count"]))
        Console(width=max(Console().width, 150)).print(table)

    @tickets.command("show")
    @click.argument("number")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def show(number: str, as_json: bool) -> None:
        """One ticket with its messages and history."""
        app_ = state.app(upgrade=True)
        tz = app_.settings.tz
        with app_.store.session() as session:
            detail = ticket_detail(session, get_ticket(session, number), tz)
        if as_json:
            print_json(detail)
            return
        _print_detail(detail)

    @tickets.command("set")
    @click.argument("number")
    @click.option("--status", help="New status (code or Chinese name).")
    @click.option("--priority", help="New priority, e.g. P1.")
    @click.option("--type", "type_", help="New problem type (code or display name).")
    @click.option("--assignee", help="New assignee: a staff member's address or name; they are told by mail.")
    @click.option("--team", help="New team.")
    @click.option("--note", help="An internal note (with or without changes).")
    @click.option("--by", default="supervisor", show_default=True, help="Who reviews (recorded in the history).")
    @click.option("--json", "as_json", is_flag=True, help="Print the ticket as JSON afterwards.")
    def set_(number: str, status: str | None, priority: str | None, type_: str | None,
             assignee: str | None, team: str | None, note: str | None, by: str, as_json: bool) -> None:
        """A supervisor's review (复核): change status, priority, type, assignee; each change audited."""
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
            for name, value in (("priority", priority), ("type", type_), ("team", team)):
                if value is not None:
                    set_field(ctx, ticket, name, value, actor=actor, note=review)
            if person is not None and assign_person(ctx, ticket, person, actor=actor, note=review,
                                                    move_team=team is None):
                queue_assignment(ctx, ticket, person.address.lower(),
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


def _staff_person(directory: Directory, wanted: str) -> Person:
    """The staff member ``--assignee`` names, by address or by name; a usage error otherwise."""
    person = directory.find(wanted)
    if person is None:
        raise usage_error("--assignee", f"nobody called {wanted!r} in the people directory")
    if not person.is_staff:
        raise usage_error("--assignee", f"{person.address} is not staff ({person.role}) and cannot be assigned")
    return person


def _statuses(values: list[str]) -> list[str]:
    wanted: list[str] = []
    for value in values:
        for part in value.split(","):
            if part.strip().lower() == "open":
                from maildesk.statuses import OPEN_STATUSES
                wanted.extend(s.value for s in OPEN_STATUSES)
                continue
            status = parse_status(part)
            if status is None:
                raise usage_error("--status", f"unknown status {part!r}")
            wanted.append(status.value)
    return wanted


def _print_detail(d: dict[str, object]) -> None:
    console = Console()
    console.print(f"[bold]{d['number']}[/bold]  {d['subject']}")
    console.print(f"status {d['status']}  priority {d['priority']}  type {d['type']}  team {d['team'] or '-'}  "
                  f"assignee {d['assignee'] or '-'}")
    console.print(f"reporter {d['reporter_name'] or ''} <{d['reporter']}> {d['reporter_department'] or ''}  "
                  f"channel {d['channel']}", markup=False)
    messages = d["messages"]
    assert isinstance(messages, list)
    for m in messages:
        console.print(f"\n[dim]{m['created_at']} {m['direction']} {m['from']} ({m['kind']})[/dim]")
        console.print(m["text"].strip()[:2000], markup=False)
    events = d["events"]
    assert isinstance(events, list)
    console.print("\n[bold]history[/bold]")
    for e in events:
        change = f"{e['from'] or ''} → {e['to'] or ''}" if e["from"] or e["to"] else ""
        console.print(f"{e['at']} {e['actor']} {e['action']} {change} {e['note']}", markup=False)


"""``maildesk kb search | show | list | add | edit``: the knowledge base from the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from maildesk.cli.common import print_json, state, usage_error

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from maildesk.store.models import Ticket


def _tags(values: tuple[str, ...]) -> list[str]:
    """Tags given as repeated options and/or comma-separated (中文逗号 too)."""
    return [t.strip() for v in values for t in v.replace("，", ",").split(",") if t.strip()]


def _tickets(session: Session, numbers: tuple[str, ...]) -> list[Ticket]:
    from maildesk.desk.tickets import get_ticket

    return [get_ticket(session, n) for n in numbers]


def _print_article(d: dict[str, object]) -> None:
    from maildesk.cli.ticket_text import minutes

    tags = d["tags"]
    tickets = d["tickets"]
    assert isinstance(tags, list) and isinstance(tickets, list)
    click.echo(f"#{d['id']} {d['title']}")
    click.echo(f"tags: {', '.join(tags) or '-'}   tickets: {', '.join(tickets) or '-'}")
    click.echo(f"author: {d['author'] or '-'}   created {minutes(str(d['created_at']))}   "
               f"updated {minutes(str(d['updated_at']))}")
    for label, key in (("问题 Problem", "problem"), ("解决方案 Solution", "solution")):
        click.echo(f"\n{label}")
        click.echo(str(d[key]) or "-")


def _print_table(headers: tuple[str, ...], rows: list[list[str]]) -> None:
    from maildesk.cli.tables import Column, render

    columns = [Column(h, keep=h == "id", least=10) for h in headers]
    for line in render(columns, rows):
        click.echo(line)


def register(cli: click.Group) -> None:
    @cli.group("kb")
    def kb() -> None:
        """The knowledge base (知识库)."""

    @kb.command("search")
    @click.argument("query", nargs=-1, required=True)
    @click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100), help="At most this many.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def search_(query: tuple[str, ...], limit: int, as_json: bool) -> None:
        """Articles matching QUERY (Chinese or English keywords), best first."""
        text = " ".join(query)
        if not text.strip():
            raise usage_error("QUERY", "give some words to search for")
        from maildesk.kb import search

        app = state.app(upgrade=True)
        with app.store.session() as session:
            hits = search(session, text, limit=limit)
        if as_json:
            print_json([h.as_json() for h in hits])
            return
        if not hits:
            click.echo("no matching article")
            return
        _print_table(("id", "score", "title", "tickets"),
                     [[str(h.id), f"{h.score:.2f}", h.title, ", ".join(h.tickets)] for h in hits])

    @kb.command("show")
    @click.argument("article_id", metavar="ID", type=int)
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def show(article_id: int, as_json: bool) -> None:
        """One article in full."""
        from maildesk.kb import article_view, get_article

        app = state.app(upgrade=True)
        with app.store.session() as session:
            view = article_view(session, get_article(session, article_id), app.settings.tz)
        if as_json:
            print_json(view)
        else:
            _print_article(view)

    @kb.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def list_(as_json: bool) -> None:
        """Every article, newest first."""
        from sqlalchemy import select

        from maildesk.kb import ticket_numbers
        from maildesk.store.models_kb import KbArticle

        app = state.app(upgrade=True)
        with app.store.session() as session:
            articles = list(session.scalars(select(KbArticle).order_by(KbArticle.id.desc())))
            numbers = ticket_numbers(session, [a.id for a in articles])
        if as_json:
            print_json([{"id": a.id, "title": a.title, "tags": list(a.tags or []), "tickets": numbers[a.id]}
                        for a in articles])
            return
        _print_table(("id", "title", "tags", "tickets"),
                     [[str(a.id), a.title, ", ".join(a.tags or []), ", ".join(numbers[a.id])] for a in articles])

    @kb.command("add")
    @click.option("--title", required=True, help="A short name of the problem.")
    @click.option("--problem", default="", help="What goes wrong (symptoms, error text).")
    @click.option("--solution", default="", help="How to solve it.")
    @click.option("--tags", multiple=True, help="Tags, comma-separated (repeatable).")
    @click.option("--ticket", "tickets", multiple=True, metavar="NUMBER", help="A ticket it solved (repeatable).")
    @click.option("--author", default="operator", show_default=True, help="Who wrote it.")
    @click.option("--json", "as_json", is_flag=True, help="Print the article as JSON.")
    def add(title: str, problem: str, solution: str, tags: tuple[str, ...], tickets: tuple[str, ...],
            author: str, as_json: bool) -> None:
        """Write a new article."""
        if not title.strip():
            raise usage_error("--title", "must not be empty")
        from maildesk.kb import article_view, create_article

        app = state.app(upgrade=True)
        with app.store.session() as session:
            article = create_article(
                session, title=title, problem=problem, solution=solution, tags=_tags(tags), author=author,
                now=datetime.now(UTC), tickets=_tickets(session, tickets),
            )
            view = article_view(session, article, app.settings.tz)
        if as_json:
            print_json(view)
        else:
            click.echo(f"kb {view['id']}: {view['title']}")

    @kb.command("edit")
    @click.argument("article_id", metavar="ID", type=int)
    @click.option("--title", default=None, help="A new title.")
    @click.option("--problem", default=None, help="A new problem text.")
    @click.option("--solution", default=None, help="A new solution text.")
    @click.option("--tags", multiple=True, help="Replace the tags (comma-separated, repeatable; '' clears).")
    @click.option("--ticket", "tickets", multiple=True, metavar="NUMBER", help="Link one more ticket (repeatable).")
    @click.option("--by", default="operator", show_default=True, help="Who edits (recorded on linked tickets).")
    @click.option("--json", "as_json", is_flag=True, help="Print the article as JSON.")
    def edit(article_id: int, title: str | None, problem: str | None, solution: str | None,
             tags: tuple[str, ...], tickets: tuple[str, ...], by: str, as_json: bool) -> None:
        """Change an article."""
        if title is not None and not title.strip():
            raise usage_error("--title", "must not be empty")
        if title is None and problem is None and solution is None and not tags and not tickets:
            raise usage_error("ID", "nothing to change: give --title, --problem, --solution, --tags or --ticket")
        from maildesk.kb import article_view, edit_article

        app = state.app(upgrade=True)
        with app.store.session() as session:
            article = edit_article(
                session, article_id, now=datetime.now(UTC), title=title, problem=problem, solution=solution,
                tags=_tags(tags) if tags else None, add_tickets=_tickets(session, tickets), actor=by,
            )
            view = article_view(session, article, app.settings.tz)
        if as_json:
            print_json(view)
        else:
            click.echo(f"kb {view['id']}: {view['title']}")

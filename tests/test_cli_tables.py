"""Tickets at the terminal: tables that fit 80 columns, whole ticket numbers, an ellipsis where text is cut,
one status language, pages and filters; and the fast read path gives exactly the documented JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select

from maildesk.app import App
from maildesk.cli.tables import Column, cell_width, render
from maildesk.cli.ticket_reader import TicketFilter, open_reader
from maildesk.config import load_settings
from maildesk.daemon import Daemon
from maildesk.desk.tickets import NewTicket, create_ticket, link_tickets
from maildesk.ingest.file_source import open_paths
from maildesk.store.migrate import alembic_config
from maildesk.store.models import Ticket
from maildesk.views import ticket_detail, ticket_summary
from tests.desk import context
from tests.installation import cli, install

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LONG_SUBJECT = "财务部三楼的打印机卡纸并且显示错误代码 E-302，重启以后还是不行，今天下午要打印报表 " * 2


def _seed(config: Path, count: int = 5) -> list[str]:
    """``count`` tickets a minute apart (oldest first), the last with a long Chinese subject; their numbers."""
    app = App(load_settings(config))
    app.upgrade()
    numbers = []
    with app.store.session() as s:
        for i in range(count):
            subject = LONG_SUBJECT if i == count - 1 else f"问题 {i}"
            t = create_ticket(context(app, s, NOW + timedelta(minutes=i)), NewTicket(
                subject=subject, reporter=f"user{i}@example.com", priority="P1" if i % 2 else "P3", type="hardware",
                team="hardware" if i % 2 else "software", assignee="liu.yang@example.com" if i < 3 else None))
            numbers.append(t.number)
    app.close()
    return numbers


def test_render_counts_chinese_double_and_never_cuts_kept_columns() -> None:
    """Every line fits the width in terminal columns; a kept column is whole; cut text ends in an ellipsis."""
    columns = [Column("number", keep=True), Column("status", least=4), Column("subject", least=6, want=30),
               Column("reporter", least=6, drop=1)]
    rows = [["TS-20261123-0001", "待用户反馈", LONG_SUBJECT, "zhang.wei@example.com"]]
    for width in (30, 40, 60, 80, 120):
        lines = render(columns, rows, width)
        assert all(cell_width(line) <= width for line in lines), (width, lines)
        assert "TS-20261123-0001" in lines[1]
        assert "…" in lines[1] and "财务" in lines[1]
    assert "reporter" not in render(columns, rows, 60)[0]  # dropped before the subject is cut below 30
    assert "reporter" in render(columns, rows, 300)[0]


def test_tickets_list_piped_fits_80_columns_with_whole_numbers(tmp_path: Path) -> None:
    """Piped, `tickets list` is at most 80 columns wide, every number whole, a long subject cut with "…"."""
    config = install(tmp_path)
    numbers = _seed(config)
    result = cli(config, "tickets", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["number", "status", "pri"]
    assert all(cell_width(line) <= 80 for line in lines), lines
    assert [line.split()[0] for line in lines[1:]] == list(reversed(numbers))
    assert lines[1].endswith("…") and "财务部三楼的打印机" in lines[1]


def test_one_status_language_across_list_show_and_set(tmp_path: Path) -> None:
    """A Chinese desk shows 已分配 in list, show and set; an English desk "assigned"; --json keeps the code."""
    for language, name in (("zh", "已分配"), ("en", "assigned")):
        config = install(tmp_path / language, language=language)
        number = _seed(config, 1)[0]
        listed = cli(config, "tickets", "list").stdout.splitlines()[1].split()
        assert listed[1] == name
        shown = cli(config, "tickets", "show", number).stdout
        assert name in shown.splitlines()[1]
        assert "已分配" not in shown if language == "en" else "assigned" not in shown.splitlines()[1]
        assert json.loads(cli(config, "tickets", "show", number, "--json").stdout)["status"] == "assigned"
        changed = cli(config, "tickets", "set", number, "--status", "in_progress")
        assert changed.stdout.split()[1] == ("处理中" if language == "zh" else "in")


def test_pages_and_filters(tmp_path: Path) -> None:
    """--limit and --after walk the listing without gaps or repeats; --status/--team/--priority/--assignee filter."""
    config = install(tmp_path)
    numbers = list(reversed(_seed(config, 7)))  # newest first, as listed

    def listed(*args: str) -> list[str]:
        result = cli(config, "tickets", "list", "--json", *args)
        assert result.returncode == 0, result.stderr
        return [t["number"] for t in json.loads(result.stdout)]

    pages, after = [], None
    while True:
        page = listed("--limit", "3", *(("--after", after) if after else ()))
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert [n for page in pages for n in page] == numbers and [len(p) for p in pages] == [3, 3, 1]
    table = cli(config, "tickets", "list", "--limit", "3")
    assert f"--after {numbers[2]}" in table.stderr and len(table.stdout.splitlines()) == 4
    assert listed("--priority", "p1") == [n for i, n in enumerate(numbers) if (6 - i) % 2]
    assert listed("--team", "software") == [n for i, n in enumerate(numbers) if not (6 - i) % 2]
    assert listed("--assignee", "none") == numbers[:4]
    assert listed("--assignee", "LIU.YANG@example.com") == numbers[4:]
    assert listed("--status", "new") == numbers[:4] and listed("--status", "已分配,closed") == numbers[4:]
    assert cli(config, "tickets", "list", "--after", "TS-20990101-0001").returncode == 1
    assert cli(config, "tickets", "list", "--priority", "P9").returncode == 2


def test_the_read_path_gives_the_views_json(tmp_path: Path, db_url: str) -> None:
    """tickets list/show read through the driver give exactly what maildesk.views gives, on both databases."""
    config = install(tmp_path, database=db_url, mails=())
    app = App(load_settings(config))
    app.upgrade()
    source = open_paths([FIXTURES / "attach_rfc2231_thunderbird.eml", FIXTURES / "gbk_outlook_qp.eml"])
    Daemon(app, source, lambda: NOW).pipeline.drain(source)
    with app.store.session() as s:
        tickets = list(s.scalars(select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc())))
        link_tickets(context(app, s, NOW), tickets[0], tickets[1], "related", actor="test")
    tz = app.settings.tz
    with app.store.session() as s:
        tickets = list(s.scalars(select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc())))
        summaries = [ticket_summary(t, tz) for t in tickets]
        details = [ticket_detail(s, t, tz) for t in tickets]
    app.close()
    assert any(m["attachments"] for d in details for m in d["messages"]) and details[0]["links"]
    reader = open_reader(load_settings(config).database_url, tz)
    assert reader is not None
    try:
        assert list(reader.tickets(TicketFilter())) == summaries
        assert [reader.ticket(d["number"]) for d in details] == details
    finally:
        reader.close()
    assert json.loads(cli(config, "tickets", "list", "--json").stdout) == summaries


@pytest.mark.parametrize("with_schema", [False, True])
def test_a_new_or_old_database_is_set_up_before_reading(tmp_path: Path, with_schema: bool) -> None:
    """`tickets list` on a database not set up yet (or at an older revision) brings it up to date, then lists."""
    config = install(tmp_path)
    if with_schema:
        assert cli(config, "db", "upgrade").returncode == 0
        app = App(load_settings(config))
        with app.store.engine.begin() as conn:  # back to an older revision, as an older maildesk left it
            cfg = alembic_config(app.store)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        app.close()
    result = cli(config, "tickets", "list", "--json")
    assert result.returncode == 0 and json.loads(result.stdout) == [], result.stderr
    assert json.loads(cli(config, "rules", "check", "--json").stdout)["schema"] == "current"

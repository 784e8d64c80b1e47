"""`sla sweep --dry-run`: what a sweep would queue at a moment, with nothing changed, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from maildesk.app import App
from maildesk.config import load_settings
from maildesk.desk.tickets import NewTicket, create_ticket
from maildesk.store.models import Event, OutboxMail, Ticket
from maildesk.sweep import run_sweep
from tests.desk import context
from tests.installation import cli, install

CREATED = datetime(2026, 9, 14, 1, tzinfo=UTC)  # Monday 09:00 in Shanghai
LATER = "2026-09-16T15:00:00+08:00"  # two working days on: escalations, reminders, digests due


def _state(app: App) -> tuple[int, int, list[tuple[str, int, str]]]:
    with app.store.session() as s:
        outbox = s.scalar(select(func.count()).select_from(OutboxMail)) or 0
        events = s.scalar(select(func.count()).select_from(Event)) or 0
        tickets = [(t.number, t.escalation_level, t.status) for t in s.scalars(select(Ticket).order_by(Ticket.id))]
    return outbox, events, tickets


def test_dry_run_lists_what_the_real_sweep_queues_and_changes_nothing(tmp_path: Path, db_url: str) -> None:
    """A dry run at a future moment lists exactly the mails a real sweep then queues, and leaves no trace."""
    config = install(tmp_path, database=db_url, mails=())
    app = App(load_settings(config))
    app.upgrade()
    with app.store.session() as s:
        for priority in ("P1", "P2", "P3"):
            create_ticket(context(app, s, CREATED), NewTicket(
                subject=f"ERP 无法登录 {priority}", reporter="zhang.wei@example.com", priority=priority,
                type="software", assignee="sun.hao@example.com"))
    before = _state(app)
    app.close()
    dry = cli(config, "sla", "sweep", "--now", LATER, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    would = json.loads(dry.stdout)
    assert would["dry_run"] is True and any(q["kind"] == "escalation" for q in would["queued"])
    app = App(load_settings(config))
    try:
        assert _state(app) == before
        text = cli(config, "sla", "sweep", "--now", LATER, "--dry-run")
        assert "would queue" in text.stdout and "nothing changed" in text.stdout
        real = run_sweep(app.desk, app.store, datetime.fromisoformat(LATER))
        assert [q.as_json() for q in real.queued] == would["queued"]
        assert _state(app) != before
    finally:
        app.close()

"""The `sla sweep` command contract, and `tickets set` recomputing deadlines, through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from maildesk.app import App
from maildesk.desk.tickets import NewTicket, create_ticket
from tests.desk import context

MANAGER = "zheng.li@example.com"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maildesk", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120, check=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """An installation made by `maildesk init` (sample people: a manager and a director)."""
    result = run("init", str(tmp_path / "desk"))
    assert result.returncode == 0, result.stderr
    return tmp_path / "desk" / "maildesk.toml"


def _ticket(config: Path, created: datetime, priority: str) -> str:
    app = App.from_config(config)
    try:
        with app.store.session() as s:
            t = create_ticket(context(app, s, created), NewTicket(
                subject="ERP 无法登录", reporter="zhang.wei@example.com", priority=priority, type="software",
                assignee="sun.hao@example.com"))
            return t.number
    finally:
        app.close()


def test_sweep_json_lists_what_it_queued_and_a_second_sweep_queues_nothing(config: Path) -> None:
    """`sla sweep --now … --json` gives {now, queued[{ticket, kind, to, level}]}; the same moment again gives []."""
    number = _ticket(config, datetime(2026, 9, 14, 1, tzinfo=UTC), "P1")  # Monday 09:00 in Shanghai
    result = run("--config", str(config), "sla", "sweep", "--now", "2026-09-14T13:00:00+08:00", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["now"] == "2026-09-14T13:00:00+08:00"
    # the P1 ladder: the team lead after 1 hour, the manager after 4
    assert {"ticket": number, "kind": "escalation", "to": [MANAGER], "level": 2} in data["queued"]
    assert all(set(q) == {"ticket", "kind", "to", "level"} for q in data["queued"])
    again = run("--config", str(config), "sla", "sweep", "--now", "2026-09-14T13:00:00+08:00", "--json")
    assert json.loads(again.stdout) == {"now": "2026-09-14T13:00:00+08:00", "queued": []}


def test_sweep_readable_output_and_local_time_without_offset(config: Path) -> None:
    """Without --json a line per mail; a --now without offset is the configured zone's wall clock."""
    number = _ticket(config, datetime(2026, 9, 14, 1, tzinfo=UTC), "P1")
    result = run("--config", str(config), "sla", "sweep", "--now", "2026-09-14T17:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sla sweep at 2026-09-14T17:00:00+08:00:")
    assert f"{number} escalation level 2 → {MANAGER}" in " ".join(result.stdout.split())


def test_bad_moment_is_a_usage_error(config: Path) -> None:
    """An unreadable --now exits 2 naming the option."""
    result = run("--config", str(config), "sla", "sweep", "--now", "next tuesday")
    assert result.returncode == 2 and "--now" in result.stderr


def test_tickets_set_priority_recomputes_deadlines(config: Path) -> None:
    """A supervisor raising P4 to P1 with `tickets set` moves the resolution deadline from 80 to 8 working hours."""
    number = _ticket(config, datetime.now(UTC), "P4")
    before = json.loads(run("--config", str(config), "tickets", "show", number, "--json").stdout)
    result = run("--config", str(config), "tickets", "set", number, "--priority", "P1", "--json")
    assert result.returncode == 0, result.stderr
    after = json.loads(result.stdout)
    assert after["priority"] == "P1"
    assert datetime.fromisoformat(after["resolve_due"]) < datetime.fromisoformat(before["resolve_due"])
    assert datetime.fromisoformat(after["response_due"]) < datetime.fromisoformat(before["response_due"])

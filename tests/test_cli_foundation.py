"""The command line contract for init, db upgrade and tickets: output shapes and exit codes."""

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


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maildesk", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120, check=False)


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """An installation made by `maildesk init`."""
    result = run("init", str(tmp_path / "desk"))
    assert result.returncode == 0, result.stderr
    return tmp_path / "desk" / "maildesk.toml"


def _seed(config: Path) -> str:
    app = App.from_config(config)
    with app.store.session() as s:
        number = create_ticket(context(app, s, datetime(2026, 11, 23, 1, tzinfo=UTC)), NewTicket(
            subject="打印机卡纸", reporter="zhang@example.com", priority="P3", type="hardware")).number
    app.close()
    return number


def test_init_then_list_prints_an_empty_json_array(installed: Path) -> None:
    """A fresh installation lists no tickets: `[]`."""
    result = run("--config", str(installed), "tickets", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert (installed.parent / "mailbox" / "new").is_dir()


def test_init_refuses_to_overwrite(installed: Path) -> None:
    """Running init twice in one folder is a usage error (exit 2) unless --force."""
    assert run("init", str(installed.parent)).returncode == 2
    assert run("init", "--force", str(installed.parent)).returncode == 0


def test_config_from_environment_variable(installed: Path) -> None:
    """MAILDESK_CONFIG names the config when --config is absent."""
    result = run("tickets", "list", "--json", env={"MAILDESK_CONFIG": str(installed)})
    assert result.returncode == 0 and json.loads(result.stdout) == []


def test_list_and_show_json_shapes(installed: Path) -> None:
    """list and show carry the contract's fields; show adds messages and events."""
    number = _seed(installed)
    listed = json.loads(run("--config", str(installed), "tickets", "list", "--json").stdout)
    assert [t["number"] for t in listed] == [number]
    for key in ("number", "subject", "status", "priority", "type", "team", "assignee", "reporter",
                "created_at", "updated_at", "message_count"):
        assert key in listed[0], key
    assert listed[0]["created_at"].endswith("+08:00")
    shown = json.loads(run("--config", str(installed), "tickets", "show", number, "--json").stdout)
    assert shown["messages"] == [] and shown["events"][0]["action"] == "created"
    assert set(shown["events"][0]) >= {"at", "actor", "action", "from", "to", "note"}


def test_review_with_tickets_set_is_audited(installed: Path) -> None:
    """`tickets set` changes priority and status and records who reviewed it."""
    number = _seed(installed)
    result = run("--config", str(installed), "tickets", "set", number, "--priority", "p1",
                 "--status", "处理中", "--note", "复核后升级", "--by", "boss@example.com", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["priority"], shown["status"]) == ("P1", "in_progress")
    changes = [(e["action"], e["from"], e["to"], e["actor"]) for e in shown["events"]]
    assert ("priority", "P3", "P1", "boss@example.com") in changes
    assert ("status", "new", "in_progress", "boss@example.com") in changes
    listed = json.loads(run("--config", str(installed), "tickets", "list", "--status", "in_progress",
                            "--json").stdout)
    assert [t["number"] for t in listed] == [number]


def test_reassigning_with_tickets_set_tells_the_new_assignee_and_refuses_strangers(installed: Path) -> None:
    """--assignee takes a staff member by address or name, moves the team along and mails them; others exit 2."""
    number = _seed(installed)
    config = ("--config", str(installed))
    for who in ("nobody@example.com", "zhang.wei@example.com"):  # not in the directory; a reporter
        result = run(*config, "tickets", "set", number, "--assignee", who)
        assert result.returncode == 2 and "--assignee" in result.stderr, result.stderr
    result = run(*config, "tickets", "set", number, "--assignee", "刘洋", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["assignee"], shown["team"], shown["status"]) == ("liu.yang@example.com", "hardware", "assigned")
    outbox = json.loads(run(*config, "outbox", "list", "--json").stdout)
    assert [(m["kind"], m["to"], m["ticket"]) for m in outbox] == [("assignment", ["liu.yang@example.com"], number)]


def test_exit_codes(installed: Path, tmp_path: Path) -> None:
    """Usage and config errors exit 2 with one line; a missing ticket or bad move exits 1."""
    number = _seed(installed)
    cases = [
        (("--config", str(installed), "tickets", "set", number, "--priority", "P9"), 2),
        (("--config", str(installed), "tickets", "frobnicate"), 2),
        (("--config", str(tmp_path / "nope.toml"), "tickets", "list"), 2),
        (("--config", str(installed), "tickets", "show", "TS-20990101-0001"), 1),
        (("--config", str(installed), "tickets", "set", number, "--status", "closed"), 0),
        (("--config", str(installed), "tickets", "set", number, "--status", "new"), 1),
    ]
    for args, code in cases:
        result = run(*args)
        assert result.returncode == code, (args, result.stderr)
        if code:
            assert "Traceback" not in result.stderr and result.stderr.strip()
    bad = tmp_path / "bad.toml"
    bad.write_text('[imap]\nport = "x"\n')
    result = run("--config", str(bad), "tickets", "list")
    assert result.returncode == 2 and "imap.port" in result.stderr


def test_db_upgrade_reports_the_revision(installed: Path) -> None:
    """`db upgrade` on an up-to-date database succeeds and names the revision."""
    result = run("--config", str(installed), "db", "upgrade")
    assert result.returncode == 0 and "revision" in result.stdout

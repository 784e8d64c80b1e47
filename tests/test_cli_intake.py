"""The command line around intake: run --once on the demo installation, ingest, outbox, rules check and test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maildesk", "--config", str(config), *args], capture_output=True,
                          text=True, env={**os.environ}, timeout=120, check=False)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The installation `maildesk init` writes: SQLite, the sample Maildir, outgoing mail to files."""
    result = subprocess.run([sys.executable, "-m", "maildesk", "init", str(tmp_path / "desk")], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return tmp_path / "desk" / "maildesk.toml"


def test_demo_run_once_makes_tickets_and_sends_acks(demo: Path) -> None:
    """`run --once` on the sample mailbox makes 8 tickets, files the auto-reply, threads the reply, sends the acks."""
    result = run(demo, "run", "--once", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    results = sorted(m["result"] for m in summary["mails"])
    assert results == ["created"] * 8 + ["noise", "reply"]
    tickets = json.loads(run(demo, "tickets", "list", "--json").stdout)
    assert len(tickets) == 8
    printer = next(t for t in tickets if "打印机" in t["subject"])
    assert printer["type"] == "hardware" and printer["assignee"]
    shown = json.loads(run(demo, "tickets", "show", printer["number"], "--json").stdout)
    incoming = [m for m in shown["messages"] if m["direction"] == "in"]
    assert [m["text"] for m in incoming][1].startswith("补充一下")  # the reply, quoted text removed
    outbox = json.loads(run(demo, "outbox", "list", "--json").stdout)
    acks = [m for m in outbox if m["kind"] == "ack"]
    assert len(acks) == 8 and {m["status"] for m in outbox} == {"sent"}
    assert all(m["ticket"] and m["message_id"] and m["sent_at"] for m in acks)
    assert len(list((demo.parent / "sent").glob("*.eml"))) == len(outbox)
    assert list((demo.parent / "mailbox" / "new").iterdir()) == []
    again = json.loads(run(demo, "run", "--once", "--json").stdout)
    assert again["mails"] == [] and again["outbox"]["sent"] == 0


def test_ingest_the_same_file_twice_stores_it_once(demo: Path) -> None:
    """`ingest` of one .eml file twice makes one ticket; the second time it is recognised."""
    eml = FIXTURES / "mail" / "gbk_outlook_qp.eml"
    first = json.loads(run(demo, "ingest", str(eml), "--json").stdout)
    second = json.loads(run(demo, "ingest", str(eml), "--json").stdout)
    assert [m["result"] for m in first["mails"]] == ["created"]
    assert [m["result"] for m in second["mails"]] in (["already"], ["duplicate"])
    assert len(json.loads(run(demo, "tickets", "list", "--json").stdout)) == 1


def test_rules_test_explains_without_storing(demo: Path) -> None:
    """`rules test` prints the contract's JSON for a mail and stores nothing."""
    result = run(demo, "rules", "test", str(FIXTURES / "rules" / "printer_screenshot.eml"), "--json")
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    for key in ("hits", "misses", "type", "priority", "team", "assignee", "tags", "flags"):
        assert key in decision
    assert decision["type"] == "hardware" and decision["hits"]
    assert json.loads(run(demo, "tickets", "list", "--json").stdout) == []


def test_rules_check_names_the_broken_rule(demo: Path) -> None:
    """A rules file with a bad operator fails `rules check` with exit 2 and names the rule and the key."""
    assert run(demo, "rules", "check").returncode == 0
    rules = demo.parent / "rules.toml"
    rules.write_text(rules.read_text(encoding="utf-8") + '\n[[rule]]\nname = "printer-typo"\n'
                     'conditions = [{ field = "subject", op = "containz", value = "打印机" }]\n'
                     '[rule.actions]\ntype = "hardware"\n', encoding="utf-8")
    result = run(demo, "rules", "check")
    assert result.returncode == 2
    assert "printer-typo" in result.stderr and "op" in result.stderr and "Traceback" not in result.stderr


def _imap_config(demo: Path, username: str, port: int) -> Path:
    text = demo.read_text(encoding="utf-8").replace('kind = "maildir"', 'kind = "imap"', 1)
    text = text.replace('username = ""', f'username = "{username}"', 1).replace("port = 993", f"port = {port}", 1)
    text = text.replace('security = "ssl"', 'security = "plain"', 1)
    demo.write_text(text, encoding="utf-8")
    return demo


def test_run_once_names_a_missing_login_or_password(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An IMAP mailbox without a login or without its password variable: exit 2 naming the key, no waiting."""
    monkeypatch.delenv("MAILDESK_IMAP_PASSWORD", raising=False)
    result = run(_imap_config(demo, "", 1), "run", "--once")
    assert result.returncode == 2 and "imap.username" in result.stderr
    result = run(_imap_config(demo, "desk", 1), "run", "--once")
    assert result.returncode == 2 and "imap.password_env" in result.stderr and "MAILDESK_IMAP_PASSWORD" in result.stderr


def test_run_once_gives_up_on_an_unreachable_mailbox_with_exit_1(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run --once` against a port nobody listens on fails within seconds (the daemon would wait it out)."""
    from tests.dovecot import free_port

    monkeypatch.setenv("MAILDESK_IMAP_PASSWORD", "secret-pw")
    result = run(_imap_config(demo, "desk", free_port()), "run", "--once")
    assert result.returncode == 1, result.stderr
    assert "cannot reach IMAP server" in result.stderr and "secret-pw" not in result.stderr

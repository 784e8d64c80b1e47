"""`maildesk status [--json]`: the daemon's heartbeat, the last mailbox pass, mail waiting, the outbox,
late tickets; exit 0 when healthy and 1 when not, so it serves as a health check."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from maildesk.app import App
from maildesk.config import load_settings
from maildesk.desk.tickets import NewTicket, create_ticket
from maildesk.heartbeat import Heartbeat, PassState
from maildesk.store.models import OutboxMail
from tests.daemon_process import DaemonProcess
from tests.desk import IMAP_PASSWORD_ENV, context, desk_settings, mail, write_config
from tests.dovecot import Mailbox
from tests.installation import cli, install


def _status(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = cli(config, "status", "--json", *args, env=env)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def _app(config: Path) -> App:
    app = App(load_settings(config))
    app.upgrade()
    return app


def _beat(config: Path, state: PassState) -> Heartbeat:
    """A daemon's heartbeat row, written now, as `maildesk run` writes it."""
    app = _app(config)
    beat = Heartbeat(app.store, state, lambda: datetime.now(UTC), mailbox="maildir test")
    beat.start()
    beat.beat()
    app.close()
    return beat


def test_no_daemon_is_unhealthy_and_the_rest_is_still_reported(tmp_path: Path) -> None:
    """Without a daemon status exits 1 and says so, and still counts the mail waiting and the late tickets."""
    config = install(tmp_path)
    app = _app(config)
    long_ago = datetime.now(UTC) - timedelta(days=10)
    with app.store.session() as s:
        create_ticket(context(app, s, long_ago), NewTicket(
            subject="打印机卡纸", reporter="zhang.wei@example.com", priority="P1", type="hardware"))
    app.close()
    code, report = _status(config)
    assert code == 1 and not report["healthy"]
    assert any("no daemon running" in p for p in report["problems"])
    assert report["mailbox"]["waiting"] == 1
    assert report["tickets"] == {"open": 1, "past_targets": 1}
    text = cli(config, "status")
    assert text.returncode == 1 and "UNHEALTHY" in text.stdout and "waiting in the inbox: 1" in text.stdout


def test_a_beating_daemon_with_a_recent_pass_is_healthy(tmp_path: Path) -> None:
    """A fresh heartbeat and a mailbox pass a minute ago: exit 0; the lag and the daemon are shown."""
    config = install(tmp_path, mails=())
    _beat(config, PassState(last_pass_at=datetime.now(UTC) - timedelta(minutes=1), mails_in=3))
    code, report = _status(config)
    assert code == 0 and report["healthy"] and report["problems"] == []
    assert 50 <= report["mailbox"]["lag_seconds"] <= 120 and report["mailbox"]["mails_since_start"] == 3
    assert report["daemons"][0]["running"] and report["daemons"][0]["pid"] == os.getpid()
    assert report["mailbox"]["last_pass_at"].endswith("+08:00")


@pytest.mark.parametrize(("state", "problem"), [
    (PassState(last_pass_at=datetime.now(UTC) - timedelta(hours=1)), "last mailbox pass ended"),
    (PassState(last_pass_at=datetime.now(UTC), problem="mailbox unreachable: connection refused"),
     "mailbox unreachable"),
])
def test_a_stale_pass_or_a_reported_problem_is_unhealthy(tmp_path: Path, state: PassState, problem: str) -> None:
    """A daemon that beats but has not passed the mailbox for an hour, or reports a problem: exit 1, named."""
    config = install(tmp_path, mails=())
    _beat(config, state)
    code, report = _status(config)
    assert code == 1 and any(problem in p for p in report["problems"]), report["problems"]


def test_mail_stuck_in_the_outbox_is_unhealthy(tmp_path: Path) -> None:
    """A mail waiting in the outbox longer than --max-outbox-age makes status exit 1, and says since when."""
    config = install(tmp_path, mails=())
    _beat(config, PassState(last_pass_at=datetime.now(UTC)))
    number = json.loads(cli(config, "tickets", "list", "--json").stdout or "[]")
    assert number == []
    app = _app(config)
    with app.store.session() as s:
        t = create_ticket(context(app, s, datetime.now(UTC)), NewTicket(
            subject="x", reporter="zhang.wei@example.com", priority="P3", type="other"))
    app.close()
    assert cli(config, "tickets", "set", t.number, "--assignee", "刘洋").returncode == 0  # queues a mail
    assert _status(config)[0] == 0
    app = _app(config)
    with app.store.session() as s:
        s.execute(update(OutboxMail).values(created_at=datetime.now(UTC) - timedelta(hours=2)))
    app.close()
    code, report = _status(config)
    assert code == 1 and report["outbox"]["pending"] == 1 and report["outbox"]["oldest_pending_seconds"] >= 7200
    assert any("waited in the outbox" in p for p in report["problems"])
    assert _status(config, "--max-outbox-age", "86400")[0] == 0


def test_mail_waiting_in_the_imap_inbox_is_counted(tmp_path: Path, mailbox: Mailbox) -> None:
    """Status looks into the IMAP inbox (read-only) and counts what waits there; without the password it says so."""
    for i in range(2):
        mailbox.append("INBOX", mail("li.na@example.com", f"问题 {i}", "内容"))
    config = write_config(tmp_path, desk_settings(f"sqlite:///{tmp_path / 'desk.db'}",
                                                  imap=(mailbox.host, mailbox.port, mailbox.user)))
    report = _status(config, env={IMAP_PASSWORD_ENV: mailbox.password})[1]
    assert report["mailbox"]["waiting"] == 2 and report["mailbox"]["source"].startswith("imap://")
    assert len(mailbox.uids("INBOX")) == 2 and "Processed" not in mailbox.folders()
    report = _status(config, env={IMAP_PASSWORD_ENV: ""})[1]
    assert report["mailbox"]["waiting"] is None and IMAP_PASSWORD_ENV in report["mailbox"]["note"]


@pytest.mark.slow
def test_status_follows_a_real_daemon(tmp_path: Path) -> None:
    """While `maildesk run` runs status exits 0; after SIGTERM it exits 1 and shows when the daemon stopped."""
    config = install(tmp_path)
    daemon = DaemonProcess(config)

    def answered() -> bool:
        """The mail's acknowledgement and assignment sent. Not "nothing pending": depending on the hour, the sweep
        at start-up queues digests, and they wait for the outbox job (every 30 s)."""
        app = App(load_settings(config))
        try:
            with app.store.session() as s:
                sent = s.execute(select(OutboxMail.kind).where(OutboxMail.status == "sent")).scalars().all()
        finally:
            app.close()
        return sorted(k for k in sent if k in ("ack", "assignment")) == ["ack", "assignment"]

    try:
        daemon.wait_for(lambda: _status(config)[0] == 0 and answered(), timeout=30, label="a healthy, answering desk")
        report = _status(config)[1]
        assert report["mailbox"]["waiting"] == 0 and report["mailbox"]["mails_since_start"] == 1
        assert daemon.terminate()[0] == 0
    finally:
        daemon.kill()
    code, report = _status(config)
    assert code == 1 and report["daemons"][0]["stopped_at"] is not None

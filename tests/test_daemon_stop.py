"""SIGTERM ends `maildesk run` within 10 seconds in every state, with the mail in hand either stored or left
in the inbox: the IMAP server down or silent, the SMTP server silent, the database locked, a long sweep.

The servers misbehave for real: Dovecot is stopped, a TCP listener that accepts and never answers
stands in for a hung server, another process holds SQLite's write lock.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.app import App
from maildesk.config import load_settings
from maildesk.desk.tickets import NewTicket, create_ticket
from maildesk.store.models import OutboxMail, Ticket
from tests.daemon_process import DaemonProcess, silent_server
from tests.desk import context, desk_settings, mail, message_id_of, write_config
from tests.dovecot import Mailbox
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.slow

STOP_LIMIT = 10.0  # what the issue asks for; systemd's own default is 90 s
MAIL = mail("li.na@example.com", "ERP 登录报错", "登录时提示 Error 500", name="李娜")


def _config(tmp_path: Path, imap: tuple[str, int, str], smtp: tuple[str, int],
            extra: dict[str, dict[str, object]] | None = None) -> Path:
    settings = desk_settings(f"sqlite:///{tmp_path / 'desk.db'}", imap=imap, smtp=smtp)
    for table, values in (extra or {}).items():
        settings[table] = {**settings.get(table, {}), **values}
    return write_config(tmp_path, settings)


def _count(config: Path, what: object) -> int:
    app = App(load_settings(config))
    try:
        with app.store.session() as s:
            return s.scalar(select(func.count()).select_from(what)) or 0  # type: ignore[arg-type]
    finally:
        app.close()


def _uids(mailbox: Mailbox, folder: str) -> list[int]:
    """The folder's UIDs; none while the daemon has not made the folder yet."""
    try:
        return mailbox.uids(folder)
    except Exception:  # imapclient: "select failed: Mailbox doesn't exist"
        return []


def _stopped_in_time(daemon: DaemonProcess) -> None:
    code, seconds = daemon.terminate()
    assert code == 0, daemon.log()
    assert seconds < STOP_LIMIT, (seconds, daemon.log())
    assert "Traceback" not in daemon.log()


def test_imap_server_down(tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """With Dovecot stopped under it, the daemon is reconnecting with back-off; SIGTERM ends it at once."""
    config = _config(tmp_path, (mailbox.host, mailbox.port, mailbox.user), (smtp_sink.host, smtp_sink.port))
    daemon = DaemonProcess(config, imap_password=mailbox.password)
    try:
        daemon.wait_for_log("IMAP connected")
        mailbox.server.stop()
        daemon.wait_for_log("connection attempt 2")
        _stopped_in_time(daemon)
    finally:
        daemon.kill()
        mailbox.server.start()
    assert "connection refused" in daemon.log()


def test_imap_server_that_never_answers(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    """An IMAP server that accepts the connection and never greets (imap.timeout 60 s): SIGTERM ends it at once."""
    with silent_server() as port:
        config = _config(tmp_path, ("127.0.0.1", port, "desk"), (smtp_sink.host, smtp_sink.port),
                         {"imap": {"timeout": 60.0}})
        daemon = DaemonProcess(config, imap_password="pw")
        try:
            daemon.wait_for_log("started:")
            time.sleep(1.0)  # connecting, waiting for a greeting that never comes
            _stopped_in_time(daemon)
        finally:
            daemon.kill()


def test_smtp_server_that_never_answers(tmp_path: Path, mailbox: Mailbox) -> None:
    """The mail is stored and moved, then sending hangs (smtp.timeout 60 s): SIGTERM ends the daemon in
    seconds, and the mails it was to send stay in the outbox."""
    mailbox.append("INBOX", MAIL)
    with silent_server() as port:
        config = _config(tmp_path, (mailbox.host, mailbox.port, mailbox.user), ("127.0.0.1", port),
                         {"smtp": {"timeout": 60.0}})
        daemon = DaemonProcess(config, imap_password=mailbox.password)
        try:
            daemon.wait_for(lambda: len(_uids(mailbox, "Processed")) == 1, label="the mail moved to Processed")
            time.sleep(1.0)  # the acknowledgement is being sent to a server that does not answer
            _stopped_in_time(daemon)
        finally:
            daemon.kill()
    assert mailbox.uids("INBOX") == [] and _count(config, Ticket) == 1
    app = App(load_settings(config))
    try:
        with app.store.session() as s:
            statuses = list(s.scalars(select(OutboxMail.status)))
    finally:
        app.close()
    assert statuses and set(statuses) == {"pending"}


def test_sigterm_at_any_moment_of_a_stream_of_mail_loses_and_repeats_nothing(
        tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """Mail keeps arriving while the daemon is stopped with SIGTERM and started again, six times, each a
    different while after it started (connecting, fetching, storing, sending, waiting in IDLE): every stop ends
    with exit code 0 within the limit and nothing worse than a warning in its log, and in the end every mail is
    one ticket, moved out of the inbox once, whose reporter got one acknowledgement."""
    config = _config(tmp_path, (mailbox.host, mailbox.port, mailbox.user), (smtp_sink.host, smtp_sink.port),
                     {"intake": {"batch_size": 10}})
    reporters = [f"u{i}@example.com" for i in range(240)]
    arriving = iter([mail(r, f"问题 {i}", f"内容 {i}", message_id=f"<m{i}@client.example.com>")
                     for i, r in enumerate(reporters)])
    for delay in (0.0, 0.3, 0.6, 0.9, 1.2, 1.5):
        mailbox.append_many("INBOX", [next(arriving) for _ in range(20)])
        daemon = DaemonProcess(config, imap_password=mailbox.password)
        try:
            daemon.wait_for_log("started:")  # its signal handlers are in place: before, SIGTERM simply ends Python
            time.sleep(delay / 2)
            mailbox.append_many("INBOX", [next(arriving) for _ in range(20)])  # found by IDLE, or by the next pass
            time.sleep(delay / 2)
            _stopped_in_time(daemon)
        finally:
            daemon.kill()
        problems = [line for line in daemon.log().splitlines() if " ERROR " in line or "internal error" in line]
        assert not problems, (delay, daemon.log())
    daemon = DaemonProcess(config, imap_password=mailbox.password)  # the rest, and what waits in the outbox
    try:
        daemon.wait_for_log("started:")
        daemon.wait_for(lambda: {m.rcpt_tos[0] for m in smtp_sink.messages} >= set(reporters),
                        timeout=60, label="an acknowledgement to every reporter")
        _stopped_in_time(daemon)
    finally:
        daemon.kill()
    assert _count(config, Ticket) == len(reporters)
    assert mailbox.uids("INBOX") == [] and len(mailbox.uids("Processed")) == len(reporters)
    acks = [m for m in smtp_sink.messages if m.rcpt_tos[0] in reporters]
    assert len(acks) == len(reporters)  # none twice
    ids = [message_id_of(m.content) for m in smtp_sink.messages]
    assert len(ids) == len(set(ids))  # nor any other mail


def test_database_locked_by_another_process(tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """Another process holds SQLite's write lock while a mail comes in: the daemon waits inside SQLite,
    where no signal handler runs; it still ends within the limit, and the mail is still in the inbox."""
    config = _config(tmp_path, (mailbox.host, mailbox.port, mailbox.user), (smtp_sink.host, smtp_sink.port))
    daemon = DaemonProcess(config, imap_password=mailbox.password)
    lock = sqlite3.connect(tmp_path / "desk.db", isolation_level=None)
    try:
        daemon.wait_for_log("IMAP connected")
        time.sleep(1.0)  # the start-up sweep and flush are done
        lock.execute("BEGIN IMMEDIATE")
        mailbox.append("INBOX", MAIL)
        time.sleep(2.0)  # the daemon has fetched it and waits for the lock
        _stopped_in_time(daemon)
    finally:
        lock.close()
        daemon.kill()
    assert "still not stopped" in daemon.log()
    assert len(mailbox.uids("INBOX")) == 1 and _uids(mailbox, "Processed") == []
    assert _count(config, Ticket) == 0


def test_long_sla_sweep(tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """A sweep with thousands of mails to queue (about 20 s of work) is cut short: the daemon ends within the
    limit, and every ticket the sweep raised has its escalation mail (a chunk commits whole or not at all)."""
    around_the_clock = {"start": "00:00:00", "end": "23:59:59", "workdays": [1, 2, 3, 4, 5, 6, 7],
                        "holidays": "none"}
    config = _config(tmp_path, (mailbox.host, mailbox.port, mailbox.user), (smtp_sink.host, smtp_sink.port),
                     {"business_hours": around_the_clock})
    total = 2500
    app = App(load_settings(config))
    app.upgrade()
    created = datetime.now(UTC) - timedelta(hours=6)  # P1: the 4-hour rung (manager) is due
    with app.store.session() as s:
        for i in range(total):
            create_ticket(context(app, s, created), NewTicket(
                subject=f"生产系统故障 {i}", reporter="zhang.wei@example.com", priority="P1", type="software",
                assignee="sun.hao@example.com"))
    app.close()
    daemon = DaemonProcess(config, imap_password=mailbox.password)
    try:
        daemon.wait_for_log("started:")
        daemon.wait_for(lambda: _escalations(config) > 0, timeout=60, label="the sweep's first chunk")
        _stopped_in_time(daemon)
    finally:
        daemon.kill()
    app = App(load_settings(config))
    try:
        with app.store.session() as s:
            raised = s.scalar(select(func.count()).select_from(Ticket).where(Ticket.escalation_level > 0)) or 0
            mailed = s.scalar(select(func.count(func.distinct(OutboxMail.ticket_id)))
                              .where(OutboxMail.kind == "escalation")) or 0
            progress = s.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == "progress"))
    finally:
        app.close()
    assert 0 < raised == mailed
    assert raised + (progress or 0) < 2 * total  # the sweep (an escalation and a progress mail each) was cut


def _escalations(config: Path) -> int:
    """Escalation mails committed so far, read as a WAL reader that never waits for the sweep's write lock."""
    with contextlib.closing(sqlite3.connect(f"file:{config.parent / 'desk.db'}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT count(*) FROM outbox WHERE kind = 'escalation'").fetchone()[0])

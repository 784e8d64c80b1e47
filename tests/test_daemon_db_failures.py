"""A database that fails while `maildesk run` works: a full disk under SQLite, a PostgreSQL database turned
read-only. The daemon says so in one log line, backs off, tries again, never moves a mail it has not
stored, and takes the mail in once the database is back. Both failures are real: a small tmpfs that
fills up (mounting one needs root; the test is skipped without), and PostgreSQL's own read-only mode.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.app import App
from maildesk.config import load_settings
from maildesk.store.models import Ticket
from tests.daemon_process import DaemonProcess
from tests.databases import new_pg_database
from tests.desk import desk_settings, mail, write_config
from tests.dovecot import Mailbox
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.slow

MAIL = mail("li.na@example.com", "ERP 登录报错", "登录时提示 Error 500", name="李娜")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00 [A-Z]+ ")


def _tickets(config: Path) -> int:
    app = App(load_settings(config))
    try:
        with app.store.session() as s:
            return s.scalar(select(func.count()).select_from(Ticket)) or 0
    finally:
        app.close()


def _processed(mailbox: Mailbox) -> list[int]:
    try:
        return mailbox.uids("Processed")
    except Exception:  # not made yet
        return []


def _assert_one_line_each(log: str, failure: str) -> None:
    """Every entry of the log is one line, the failure was logged, no traceback."""
    assert failure in log and "Traceback" not in log, log
    assert all(LOG_LINE.match(line) for line in log.splitlines()), log


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs mounted for the test: a disk that really fills up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * (1 << 20))
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_pauses_intake_until_there_is_room(tmp_path: Path, small_disk: Path, mailbox: Mailbox,
                                                        smtp_sink: SmtpSink) -> None:
    """The disk under SQLite fills up: the mail stays in the inbox while the daemon logs one line a try and
    waits; once there is room again it is stored, moved and answered."""
    config = write_config(tmp_path, desk_settings(f"sqlite:///{small_disk / 'desk.db'}",
                                                  imap=(mailbox.host, mailbox.port, mailbox.user),
                                                  smtp=(smtp_sink.host, smtp_sink.port)))
    daemon = DaemonProcess(config, imap_password=mailbox.password)
    try:
        daemon.wait_for_log("IMAP connected")
        filler = _fill(small_disk)
        mailbox.append("INBOX", MAIL)
        daemon.wait_for_log("database failing (database or disk is full)")
        assert len(mailbox.uids("INBOX")) == 1 and _processed(mailbox) == []
        filler.unlink()
        daemon.wait_for(lambda: len(_processed(mailbox)) == 1, timeout=60, label="the mail stored and moved")
        assert daemon.terminate()[0] == 0
    finally:
        daemon.kill()
    assert mailbox.uids("INBOX") == [] and _tickets(config) == 1
    assert "trying again in 5 s" in daemon.log()
    _assert_one_line_each(daemon.log(), "database or disk is full")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own (it is made read-only and back)."""
    with new_pg_database("maildesk_ro") as url:
        yield url


def _read_only(url: str, on: bool) -> None:
    """Make the database read-only (or writable) for every new session, and end the sessions it has."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


@pytest.mark.pg
def test_a_read_only_postgresql_pauses_intake(tmp_path: Path, pg_url: str, mailbox: Mailbox,
                                              smtp_sink: SmtpSink) -> None:
    """PostgreSQL turns read-only under the daemon: no mail is quarantined or moved, one line a try; once the
    database takes writes again, the waiting mail becomes a ticket."""
    config = write_config(tmp_path, desk_settings(pg_url, imap=(mailbox.host, mailbox.port, mailbox.user),
                                                  smtp=(smtp_sink.host, smtp_sink.port)))
    daemon = DaemonProcess(config, imap_password=mailbox.password)
    try:
        daemon.wait_for_log("IMAP connected")
        _read_only(pg_url, True)
        mailbox.append("INBOX", MAIL)
        daemon.wait_for_log("read-only transaction")
        assert len(mailbox.uids("INBOX")) == 1 and _processed(mailbox) == []
        _read_only(pg_url, False)
        daemon.wait_for(lambda: len(_processed(mailbox)) == 1, timeout=60, label="the mail stored and moved")
        assert daemon.terminate()[0] == 0
    finally:
        daemon.kill()
    assert mailbox.uids("INBOX") == [] and mailbox.uids("Quarantine") == [] and _tickets(config) == 1
    # the mail's first write is refused, whichever it is (today the team row's lock, for the assignee)
    _assert_one_line_each(daemon.log(), "in a read-only transaction); the mail in hand stays in the inbox")

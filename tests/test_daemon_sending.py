"""The serving daemon (`maildesk run`) sends over SMTP from a process of its own, kicked after each stored batch
and by the periodic outbox job. Killed, that process is not needed: the daemon says so once and sends
itself. Killed itself, the daemon leaves no sender behind, and a restart sends what was left, once.

Real parts: `maildesk run` as a process, Dovecot, aiosmtpd, a SQLite file.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from maildesk.ingest.parsing_alongside import PROCESS_NAME
from tests.daemon_process import DaemonProcess, children, ended, named
from tests.desk import desk_settings, mail, write_config
from tests.dovecot import Mailbox
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink) -> Path:
    # a short lease: a mail cut off mid-dialogue by a kill goes out again after it, within the test's wait
    settings = desk_settings(f"sqlite:///{tmp_path / 'desk.db'}", imap=(mailbox.host, mailbox.port, mailbox.user),
                             smtp=(smtp_sink.host, smtp_sink.port))
    settings["smtp"]["lease_seconds"] = 4.0
    return write_config(tmp_path, settings)


def _senders(pid: int) -> list[int]:
    """The daemon's children but its parsing process (tests/test_parsing_alongside.py)."""
    return [c for c in children(pid) if named(c) != PROCESS_NAME]


def _acked(smtp_sink: SmtpSink, address: str) -> int:
    """Mails to ``address``: a new reporter hears only the acknowledgement."""
    return sum(address in m.rcpt_tos for m in smtp_sink.messages)


def test_the_acks_go_out_from_a_process_of_the_daemons_own(tmp_path: Path, mailbox: Mailbox,
                                                         smtp_sink: SmtpSink) -> None:
    daemon = DaemonProcess(_config(tmp_path, mailbox, smtp_sink), imap_password=mailbox.password)
    try:
        daemon.wait_for_log("IMAP connected")
        kin = children(daemon.process.pid)
        senders = _senders(daemon.process.pid)
        assert len(senders) == 1 and len(kin) == 2  # and the parsing process
        mailbox.append("INBOX", mail("li.na@example.com", "ERP 登录报错", "登录时提示 Error 500", name="李娜"))
        daemon.wait_for(lambda: _acked(smtp_sink, "li.na@example.com") == 1, label="the acknowledgement")
        code, _seconds = daemon.terminate()
    finally:
        daemon.kill()
    assert code == 0
    assert "sending from the daemon's own process" not in daemon.log()
    assert all(ended(pid) for pid in kin)


def test_with_its_sending_process_killed_the_daemon_says_so_once_and_sends_itself(
    tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink,
) -> None:
    daemon = DaemonProcess(_config(tmp_path, mailbox, smtp_sink), imap_password=mailbox.password)
    try:
        daemon.wait_for_log("IMAP connected")
        (sender,) = _senders(daemon.process.pid)
        os.kill(sender, signal.SIGKILL)
        for n in range(3):
            mailbox.append("INBOX", mail(f"u{n}@example.com", f"问题 {n}", f"内容 {n}"))
            daemon.wait_for(lambda n=n: _acked(smtp_sink, f"u{n}@example.com") == 1,  # type: ignore[misc]
                            label=f"the acknowledgement to u{n}")
        code, _seconds = daemon.terminate()
    finally:
        daemon.kill()
    assert code == 0
    assert daemon.log().count("outbox: the sending process ended (exit code -9); sending from the daemon's own "
                              "process from now on") == 1
    assert "Traceback" not in daemon.log()


def test_a_daemon_killed_leaves_no_sender_behind_and_a_restart_sends_the_rest_once(
    tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink,
) -> None:
    config = _config(tmp_path, mailbox, smtp_sink)
    mailbox.append_many("INBOX", [mail(f"u{i}@example.com", f"问题 {i}", f"内容 {i}") for i in range(120)])
    daemon = DaemonProcess(config, imap_password=mailbox.password)
    try:
        daemon.wait_for(lambda: len(smtp_sink.messages) >= 20, label="sending under way")
        kin = children(daemon.process.pid)  # the sending and the parsing process
        assert len(kin) == 2
        daemon.process.send_signal(signal.SIGKILL)
        daemon.process.wait()
    finally:
        daemon.kill()
    deadline = time.monotonic() + 10
    while not all(ended(pid) for pid in kin) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(ended(pid) for pid in kin)
    again = DaemonProcess(config, imap_password=mailbox.password)
    try:
        again.wait_for(lambda: all(_acked(smtp_sink, f"u{i}@example.com") >= 1 for i in range(120)),
                       label="every acknowledgement")
        time.sleep(1.0)  # nothing more arrives
        again.terminate()
    finally:
        again.kill()
    assert [_acked(smtp_sink, f"u{i}@example.com") for i in range(120)] == [1] * 120

"""Masking end to end, as an auditor checks it: real Dovecot in, the daemon, real SMTP out, the CLI.

A reporter mails a phone (two writings), a landline, an ID number, a card number and a private
address, twice (the same urgent problem). The auditor then reads what reached people outside
the conversation: the escalation and the digests at the SMTP sink, ``report --format csv`` and
``--format html``, and the knowledge-base article the engineer made with ``#kb new``. None of
the values shows in any writing; the masked forms do, so the check is not vacuous.
"""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from maildesk.app import App
from maildesk.cli import main
from maildesk.daemon import Daemon, open_source
from tests.desk import IMAP_PASSWORD_ENV, NOW, desk_settings, mail, make_app
from tests.dovecot import Mailbox
from tests.masking_leaks import BODY, NAME, REPORTER, SUBJECT, leaks, readable
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.slow

ENGINEER, MANAGER = "liu.yang@example.com", "zheng.li@example.com"
URGENT = "紧急 " + SUBJECT  # P2: the manager hears of it after 8 working hours


@pytest.fixture
def desk(tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """A desk reading the test's Dovecot user and sending to the sink."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, mailbox.password)
    app = make_app(tmp_path, desk_settings(f"sqlite:///{tmp_path / 'desk.db'}",
                                           imap=(mailbox.host, mailbox.port, mailbox.user),
                                           smtp=(smtp_sink.host, smtp_sink.port)))
    app.upgrade()
    yield app
    app.close()


def _pass(app: App, at: timedelta, sink: SmtpSink, seen: int) -> list[tuple[tuple[str, ...], EmailMessage]]:
    """One daemon pass at NOW + ``at``; the mails the sink received in it, with their envelope recipients."""
    daemon = Daemon(app, open_source(app), lambda: NOW + at)
    try:
        daemon.run_once()
    finally:
        daemon.source.close()
    return [(tuple(m.rcpt_tos), email.message_from_bytes(m.content, policy=policy.default))
            for m in sink.messages[seen:]]


def _cli(config: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["-c", str(config), *args]) == 0
    return capsys.readouterr().out


def test_what_outsiders_receive_carries_no_personal_data(
    desk: App, mailbox: Mailbox, smtp_sink: SmtpSink, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Escalation and digests at the SMTP sink, the CSV and HTML reports and a #kb new article: nothing leaks."""
    for _ in range(2):
        mailbox.append("INBOX", mail(REPORTER, URGENT, BODY, name=NAME, date=NOW))
    first = _pass(desk, timedelta(0), smtp_sink, 0)
    assignment = next(m for to, m in first if to == (ENGINEER,) and "分配" in str(m["Subject"]))
    assert any(to == (REPORTER,) for to, _ in first)  # the acks

    # the engineer makes an article of the first ticket, answering the assignment mail
    reply_to = assignment["Reply-To"].addresses[0].addr_spec
    mailbox.append("INBOX", mail(ENGINEER, "回复: " + str(assignment["Subject"]),
                                 f"#kb new\n取出卡纸，清理搓纸轮。已回电 138 1234 5678 告知{NAME}。", name="刘洋",
                                 to=reply_to, in_reply_to=assignment["Message-ID"], date=NOW))
    _pass(desk, timedelta(minutes=30), smtp_sink, len(smtp_sink.messages))

    # Tuesday 14:00: 8 working hours past, the manager is told; the day's digest went out at the same pass
    later = _pass(desk, timedelta(hours=28), smtp_sink, len(smtp_sink.messages))
    to_supervisors = [(to, m) for to, m in later if REPORTER not in to and ENGINEER not in to]
    escalations = [readable(m.as_bytes()) for to, m in to_supervisors if MANAGER in to and "升级" in str(m["Subject"])]
    digests = [readable(m.as_bytes()) for _, m in to_supervisors if "工单摘要" in str(m["Subject"])]
    assert escalations and digests
    for to, message in to_supervisors:
        assert leaks(readable(message.as_bytes())) == [], (to, message["Subject"])
    assert all("反馈人：张*" in text for text in escalations)
    assert all("138****5678" in text and "010-****5678" in text for text in escalations + digests)

    config = tmp_path / "maildesk.toml"
    period = ["--from", "2026-11-23", "--to", "2026-11-24", "--now", "2026-11-25T10:00:00+08:00"]
    csv_text = _cli(config, ["report", "--format", "csv", *period], capsys)
    html_text = _cli(config, ["report", "--format", "html", *period], capsys)
    [article] = json.loads(_cli(config, ["kb", "list", "--json"], capsys))
    shown = _cli(config, ["kb", "show", str(article["id"]), "--json"], capsys)
    for what, text in (("csv", csv_text), ("html", html_text), ("kb", shown)):
        assert leaks(text) == [], what
    assert "张*：打印机卡纸，请回电 138****5678 或 010-****5678" in csv_text  # the recurring problem
    assert "138****5678" in html_text and "110105********002X" in shown and "6222 0212" not in shown

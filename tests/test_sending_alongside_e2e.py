"""Sending alongside intake: a stored batch's mail goes out while the next batch is read.

Real Dovecot, real SMTP server (aiosmtpd), SQLite file."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from maildesk.daemon import Daemon, open_source
from maildesk.ingest.source import MailSource, SourceMessage, SourceWrapper
from tests.desk import IMAP_PASSWORD_ENV, desk_settings, mail, make_app, message_id_of
from tests.dovecot import Mailbox
from tests.smtp_sink import SmtpSink

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
REPORTERS = [f"user{i}@example.com" for i in range(5)]


def acked(sink: SmtpSink) -> list[str]:
    """The reporters whose acknowledgement the SMTP server holds, in order of arrival."""
    return [r for m in sink.messages if b"Auto-Submitted: auto-replied" in m.content for r in m.rcpt_tos]


class WatchedSource(SourceWrapper):
    """The mailbox, noting what the SMTP server held when intake came back for the next batch."""

    def __init__(self, source: MailSource, sink: SmtpSink) -> None:
        super().__init__(source)
        self.sink = sink
        self.fetches = 0
        self.acked_at_second_fetch: list[str] = []

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        self.fetches += 1
        if self.fetches == 2:  # the first batch is stored: give its acks a few seconds to arrive
            arrived = threading.Event()
            for _ in range(100):
                if len(acked(self.sink)) >= 2 or arrived.wait(0.05):
                    break
            self.acked_at_second_fetch = acked(self.sink)
        return self.source.fetch_batch(limit, max_bytes)



def test_a_stored_batchs_acks_reach_the_server_before_the_mailbox_is_drained_and_each_goes_once(
    tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five mails taken in two at a time: the first two reporters have their acks at the SMTP server when
    intake reads the second batch, and in the end every reporter has exactly one ack."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, mailbox.password)
    settings = desk_settings(f"sqlite:///{tmp_path / 'desk.db'}", imap=(mailbox.host, mailbox.port, mailbox.user),
                             smtp=(smtp_sink.host, smtp_sink.port), intake={"batch_size": 2})
    app = make_app(tmp_path, settings)
    app.upgrade()
    mailbox.append_many("INBOX", [mail(r, f"打印机卡纸 {i}", "三楼打印机一直卡纸。",
                                       message_id=f"<m{i}@client.example.com>") for i, r in enumerate(REPORTERS)])
    source = WatchedSource(open_source(app), smtp_sink)
    daemon = Daemon(app, source, lambda: NOW)
    try:
        summary = daemon.run_once()
    finally:
        source.close()
        app.close()
    assert sorted(source.acked_at_second_fetch) == REPORTERS[:2]
    assert sorted(acked(smtp_sink)) == REPORTERS
    assert summary.flushed.sent == len(smtp_sink.messages)
    assert len({message_id_of(m.content) for m in smtp_sink.messages}) == len(smtp_sink.messages)


def test_a_mail_stored_but_not_moved_is_moved_next_pass_beside_new_mail_and_answered_once(
    tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pass that stored a mail and died before moving it: the next pass's batch holds it and a new mail;
    the stored one is only moved (one query tells it for the whole batch), the new one becomes a ticket,
    and each reporter has one ack."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, mailbox.password)
    settings = desk_settings(f"sqlite:///{tmp_path / 'desk.db'}", imap=(mailbox.host, mailbox.port, mailbox.user),
                             smtp=(smtp_sink.host, smtp_sink.port))
    app = make_app(tmp_path, settings)
    app.upgrade()
    mailbox.append("INBOX", mail(REPORTERS[0], "打印机卡纸", "三楼打印机一直卡纸。",
                                 message_id="<a@client.example.com>"))
    crashed = open_source(app)
    try:
        stored = Daemon(app, crashed, lambda: NOW).pipeline.process(crashed.fetch_batch(10))
    finally:
        crashed.close()  # committed, never moved: the crash
    assert [o.result for o in stored] == ["created"]
    source = open_source(app)
    daemon = Daemon(app, source, lambda: NOW)
    try:
        mailbox.append("INBOX", mail(REPORTERS[1], "VPN 连不上", "在家连不上公司 VPN。",
                                     message_id="<b@client.example.com>"))
        summary = daemon.run_once()
    finally:
        source.close()
        app.close()
    assert [o.result for o in summary.outcomes] == ["already", "created"]
    assert mailbox.uids("INBOX") == [] and len(mailbox.uids("Processed")) == 2
    assert sorted(acked(smtp_sink)) == REPORTERS[:2]

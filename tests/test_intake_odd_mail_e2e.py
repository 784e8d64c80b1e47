"""Odd and huge mail end to end: a real Dovecot in, `Daemon.run_once`, a real SMTP sink out.

Each test starts from mail someone outside can send (odd ids, a robot's report from any
address, MIME nested ten thousand deep, names wider than the store) and checks what the
reporter or the operator then sees: a ticket and an answer, or silence, or a quarantine
whose reason says what really failed. Where the database matters, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.app import App
from maildesk.daemon import Daemon, open_source
from maildesk.ingest.msgids import MAX_ID_BYTES, normalise_message_id
from maildesk.ingest.source import MailSource, SourceMessage, SourceWrapper
from maildesk.store.models import Message, ProcessedSource
from tests.desk import IMAP_PASSWORD_ENV, desk_settings, mail, make_app
from tests.dovecot import Mailbox
from tests.smtp_sink import SmtpSink
from tests.test_intake_e2e import NOW, Clock, answers, run_once, sent, tickets


def _desk(url: str, folder: Path, mailbox: Mailbox, smtp_sink: SmtpSink, **overrides: object) -> App:
    settings = desk_settings(url, imap=(mailbox.host, mailbox.port, mailbox.user),
                             smtp=(smtp_sink.host, smtp_sink.port), **overrides)
    app = make_app(folder, settings)
    app.upgrade()
    return app


@pytest.fixture
def desk(tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """A desk on a SQLite file, reading the test's Dovecot mailbox and sending to the sink."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, mailbox.password)
    app = _desk(f"sqlite:///{tmp_path / 'desk.db'}", tmp_path, mailbox, smtp_sink)
    yield app
    app.close()


@pytest.fixture
def any_desk(
    db_url: str, tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch,
) -> Iterator[App]:
    """The same desk on SQLite, then on PostgreSQL."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, mailbox.password)
    app = _desk(db_url, tmp_path, mailbox, smtp_sink)
    yield app
    app.close()


def raw_mail(headers: str, body: bytes = "打印机卡纸，无法打印。\r\n".encode()) -> bytes:
    """A mail written header by header (UTF-8 allowed), as an odd client or a robot would send it."""
    return (headers.strip().replace("\n", "\r\n") + "\r\n\r\n").encode() + body


# --- 5: a batch is bounded by bytes ----------------------------------------------------------


class Recorded(SourceWrapper):
    """The real source, noting how many mails each batch it handed out held."""

    def __init__(self, source: MailSource) -> None:
        super().__init__(source)
        self.batches: list[int] = []

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        batch = self.source.fetch_batch(limit, max_bytes)
        self.batches.append(len(batch))
        return batch



def test_a_batch_holds_no_more_bytes_than_intake_batch_bytes(
    tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With intake.batch_bytes = 700 kB, mails of 300 kB go two a batch, a 900 kB one alone; all are answered."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, mailbox.password)
    app = _desk(f"sqlite:///{tmp_path / 'desk.db'}", tmp_path, mailbox, smtp_sink, intake={"batch_bytes": 700_000})
    sizes = [300_000, 300_000, 900_000, 300_000, 300_000]
    mailbox.append_many("INBOX", [
        mail(f"user{n}@example.com", f"日志 {n}", "请看附件。", message_id=f"<log{n}@client.example.com>",
             attachments=(("log.txt", "text/plain", b"x" * int(size * 0.74)),))
        for n, size in enumerate(sizes)
    ])
    source = Recorded(open_source(app))
    try:
        Daemon(app, source, Clock(NOW)).run_once()
    finally:
        source.close()
        app.close()
    assert source.batches == [2, 1, 2, 0]
    assert len(tickets(app)) == 5
    assert sorted(m["To"] for m in sent(smtp_sink) if m["Auto-Submitted"] == "auto-replied") == \
        sorted(f"user{n}@example.com" for n in range(5))


# --- 6: unusual ids are stored and answered --------------------------------------------------

HUGE_ID = "<" + "q" * 100_000 + "@client.example.com>"


@pytest.mark.parametrize(
    "message_id",
    ["<20261123-0931-abc>", "<工单7@例子.中国>", HUGE_ID],
    ids=["no-at", "non-ascii", "100kB"],
)
def test_a_mail_with_an_unusual_id_gets_a_ticket_and_an_ack(
    any_desk: App, mailbox: Mailbox, smtp_sink: SmtpSink, message_id: str,
) -> None:
    """Its ids are stored normalised (the same on both databases) and the ack leaves out what it may not write."""
    mailbox.append("INBOX", raw_mail(f"""
From: 张伟 <zhang.wei@example.com>
To: support@example.com
Subject: 打印机卡纸
Message-ID: {message_id}
References: <no-at-sign> <工单1@例子.中国> <root@client.example.com>
In-Reply-To: <no-at-sign>
Content-Type: text/plain; charset=utf-8
"""))
    run_once(any_desk, Clock(NOW))
    [ticket] = tickets(any_desk)
    with any_desk.store.session() as s:
        stored = s.scalars(select(Message.message_id).where(Message.direction == "in")).one()
    assert stored == normalise_message_id(message_id) and len(stored.encode()) <= MAX_ID_BYTES
    [ack] = [m for m in sent(smtp_sink) if m["Auto-Submitted"] == "auto-replied"]
    assert ack["To"] == "zhang.wei@example.com"
    assert f"[{ticket.number}]" in ack["Subject"]
    assert ack["In-Reply-To"] is None  # none of these ids may be written
    assert ack["References"] == "<root@client.example.com>"
    assert mailbox.uids("Quarantine") == []


def test_a_huge_id_still_deduplicates_and_threads(any_desk: App, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """The same 100 kB-id mail twice makes one ticket; a reply naming that id in In-Reply-To joins it."""
    first = raw_mail(f"""
From: li.na@example.com
To: support@example.com
Subject: ERP 登录报错
Message-ID: {HUGE_ID}
""")
    mailbox.append_many("INBOX", [first, first])
    run_once(any_desk, Clock(NOW))
    mailbox.append("INBOX", raw_mail(f"""
From: li.na@example.com
To: support@example.com
Subject: 补充一下
Message-ID: <reply-1@client.example.com>
In-Reply-To: {HUGE_ID}
References: {HUGE_ID}
""", "还是不行。\r\n".encode()))
    run_once(any_desk, Clock(NOW))
    [ticket] = tickets(any_desk)
    with any_desk.store.session() as s:
        texts = s.scalars(select(Message.text).where(Message.ticket_id == ticket.id, Message.direction == "in")
                          .order_by(Message.id)).all()
    assert list(texts) == ["打印机卡纸，无法打印。", "还是不行。"]
    assert len([m for m in answers(smtp_sink) if b"Auto-Submitted: auto-replied" in m.content]) == 1
    assert len(mailbox.uids("Processed")) == 3


def test_names_and_addresses_too_wide_for_the_store_fare_the_same_on_both_databases(
    any_desk: App, mailbox: Mailbox, smtp_sink: SmtpSink,
) -> None:
    """A 300-character display name makes a ticket (name cut); a 400-character address a quarantine saying so."""
    mailbox.append("INBOX", raw_mail(f"""
From: {"张" * 300} <visitor@example.org>
To: support@example.com
Subject: 打印机卡纸
Message-ID: <wide-name@client.example.com>
"""))
    mailbox.append("INBOX", raw_mail(f"""
From: {"a" * 400}@example.com
To: support@example.com
Subject: 打印机卡纸
Message-ID: <wide-address@client.example.com>
"""))
    run_once(any_desk, Clock(NOW))
    [ticket] = tickets(any_desk)
    assert ticket.reporter == "visitor@example.org" and ticket.reporter_name == "张" * 200
    with any_desk.store.session() as s:
        quarantined = s.scalars(select(ProcessedSource).where(ProcessedSource.outcome == "quarantined")).one()
    assert quarantined.reason.startswith("no sender: the From header holds no usable mail address")
    assert len(mailbox.uids("Quarantine")) == 1


# --- 8: reports known by structure; deep MIME; true quarantine reasons ------------------------

def report(label: str, content_type: str, *, wrapped: bool = False) -> bytes:
    """A bounce as a relay that signs as itself (not MAILER-DAEMON) sends it back to the desk."""
    parts = (b"--r\r\nContent-Type: text/plain\r\n\r\nYour message to li.na@example.com was not delivered.\r\n"
             b"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example.net\r\n\r\n"
             b"Final-Recipient: rfc822; li.na@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
             b"--r\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@example.com\r\nSubject: [TS] ack\r\n\r\nx\r\n"
             b"--r--\r\n")
    if wrapped:
        parts = b"--w\r\nContent-Type: " + content_type.encode() + b"\r\n\r\n" + parts + b"--w--\r\n"
        content_type = "multipart/mixed; boundary=w"
    return raw_mail(f"""
From: Mail Delivery <notifications@relay.example.net>
To: support@example.com
Subject: Message not delivered: [TS-20261123-0001] 打印机卡纸
Message-ID: <dsn-{label}@relay.example.net>
Content-Type: {content_type}
""", parts)


@pytest.mark.parametrize(
    "raw",
    [
        report("1", "multipart/report; boundary=r"),
        report("2", "multipart/report; report-type*=us-ascii''delivery-status; boundary=r"),
        report("3", "multipart/mixed; boundary=r"),
        report("4", "multipart/report; report-type=delivery-status; boundary=r", wrapped=True),
    ],
    ids=["no-report-type", "rfc2231-report-type", "mixed", "wrapped"],
)
def test_a_delivery_report_from_any_sender_gets_no_ticket_and_no_answer(
    desk: App, mailbox: Mailbox, smtp_sink: SmtpSink, raw: bytes,
) -> None:
    """A DSN-like "Message not delivered" from an ordinary address is stored as a bounce and never answered."""
    mailbox.append("INBOX", raw)
    run_once(desk, Clock(NOW))
    assert tickets(desk) == []
    assert answers(smtp_sink) == []
    with desk.store.session() as s:
        assert s.scalars(select(Message.kind)).all() == ["bounce"]


def nested(depth: int, sender: str | None) -> bytes:
    """A mail whose body is multipart/mixed nested ``depth`` deep around one line of text."""
    body = b""
    for level in range(depth):
        body += b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (level, level + 1)
    body += "--b%d\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n三楼打印机卡纸\r\n".encode() % depth
    for level in reversed(range(depth + 1)):
        body += b"--b%d--\r\n" % level
    sender_line = f"From: {sender}\n" if sender else ""
    return raw_mail(f"""
{sender_line}To: support@example.com
Subject: 打印机卡纸
Message-ID: <deep-{depth}-{bool(sender)}@client.example.com>
Content-Type: multipart/mixed; boundary="b0"
""", body)


def test_mime_nested_ten_thousand_deep_from_a_readable_sender_gets_a_ticket(
    desk: App, mailbox: Mailbox, smtp_sink: SmtpSink,
) -> None:
    """The body cannot be walked, the headers can: a ticket and an ack, and the defect kept with the mail."""
    mailbox.append("INBOX", nested(10_000, "王哲 <wangzhe@example.com>"))
    run_once(desk, Clock(NOW))
    [ticket] = tickets(desk)
    assert (ticket.reporter, ticket.subject) == ("wangzhe@example.com", "打印机卡纸")
    assert [m["To"] for m in sent(smtp_sink) if m["Auto-Submitted"] == "auto-replied"] == ["wangzhe@example.com"]
    with desk.store.session() as s:
        defects = s.scalars(select(Message.defects).where(Message.direction == "in")).one()
    assert any("RecursionError" in d for d in defects)


def test_a_quarantine_reason_says_what_failed(desk: App, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """Deep MIME without a From is quarantined for having no From header, not for its body; nothing is sent."""
    mailbox.append("INBOX", nested(10_000, None))
    run_once(desk, Clock(NOW))
    with desk.store.session() as s:
        quarantined = s.scalars(select(ProcessedSource).where(ProcessedSource.outcome == "quarantined")).one()
    assert quarantined.reason == "no sender: the mail has no From header"
    assert quarantined.raw == mailbox.fetch("Quarantine")[1]
    assert answers(smtp_sink) == []

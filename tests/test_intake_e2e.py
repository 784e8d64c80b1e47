"""Mail intake end to end: a real Dovecot mailbox, a real SMTP sink, a real SQLite file."""

from __future__ import annotations

import email
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.app import App
from maildesk.daemon import Daemon, open_source
from maildesk.store.models import Message, OutboxMail, ProcessedSource, Ticket
from tests.desk import IMAP_PASSWORD_ENV, desk_settings, mail, make_app, write_config
from tests.dovecot import Mailbox
from tests.smtp_sink import Received, SmtpSink

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


class Clock:
    """An explicit clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def desk(tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """An App reading the test's Dovecot mailbox and sending to the sink."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, mailbox.password)
    settings = desk_settings(f"sqlite:///{tmp_path / 'desk.db'}", imap=(mailbox.host, mailbox.port, mailbox.user),
                             smtp=(smtp_sink.host, smtp_sink.port))
    app = make_app(tmp_path, settings)
    app.upgrade()
    yield app
    app.close()


def run_once(app: App, clock: Clock) -> Daemon:
    daemon = Daemon(app, open_source(app), clock)
    try:
        daemon.run_once()
    finally:
        daemon.source.close()
    return daemon


def tickets(app: App) -> list[Ticket]:
    with app.store.session() as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


# Mail the desk sends on its own calendar, not in answer to anything: the daily digest and the
# weekly report fall due on weekday mornings, which is when these tests (and maybe CI) happen to run.
SCHEDULED_KINDS = ("digest", "report", "recurring")


def _is_scheduled(raw: bytes) -> bool:
    found = re.search(rb"^Message-ID: <maildesk\.([a-z]+)\.", raw, re.MULTILINE | re.IGNORECASE)
    return found is not None and found.group(1).decode() in SCHEDULED_KINDS


def answers(sink: SmtpSink) -> list[Received]:
    """What the sink received, less the digests and reports sent on schedule."""
    return [m for m in sink.messages if not _is_scheduled(m.content)]


def sent(sink: SmtpSink) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(m.content, policy=policy.default) for m in answers(sink)]  # type: ignore[misc]


def test_new_mail_becomes_ticket_and_reporter_gets_ack(desk: App, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """A Chinese mail in the inbox becomes a ticket, the mail moves to Processed, the ack reaches the reporter."""
    mailbox.append("INBOX", mail("zhang.wei@example.com", "财务部打印机卡纸", "打印机一直卡纸，无法打印。",
                                 name="张伟", message_id="<first@client.example.com>"))
    run_once(desk, Clock(NOW))
    [ticket] = tickets(desk)
    assert ticket.subject == "财务部打印机卡纸" and ticket.reporter_name == "张伟" and ticket.type == "hardware"
    assert mailbox.uids("INBOX") == [] and len(mailbox.uids("Processed")) == 1
    acks = [m for m in sent(smtp_sink) if "zhang.wei@example.com" in m["To"]]
    assert len(acks) == 1
    ack = acks[0]
    assert f"[{ticket.number}]" in ack["Subject"]
    assert ack["In-Reply-To"] == "<first@client.example.com>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["Message-ID"].endswith("@example.com>")
    assert "P3" in ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_replies_by_tag_and_by_in_reply_to_join_the_ticket(desk: App, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """A reply carrying the tag, and one carrying only In-Reply-To of our ack, land on the same ticket."""
    clock = Clock(NOW)
    mailbox.append("INBOX", mail("li.na@example.com", "ERP 登录报错", "Error 500"))
    run_once(desk, clock)
    [ticket] = tickets(desk)
    ack_id = sent(smtp_sink)[0]["Message-ID"]
    mailbox.append("INBOX", mail("li.na@example.com", f"回复: [{ticket.number}] ERP 登录报错", "补充截图"))
    mailbox.append("INBOX", mail("li.na@example.com", "Re: your mail", "还是不行\n\n> 旧内容", in_reply_to=ack_id))
    clock.now += timedelta(minutes=5)
    run_once(desk, clock)
    [same] = tickets(desk)
    assert same.id == ticket.id
    with desk.store.session() as s:
        texts = [m.text for m in s.scalars(select(Message).where(Message.ticket_id == ticket.id,
                                                                  Message.direction == "in").order_by(Message.id))]
    assert texts[1:] == ["补充截图", "还是不行"]  # the quoted part is not in the progress text
    assert len([m for m in sent(smtp_sink) if m["Auto-Submitted"] == "auto-replied"]) == 1  # no second ack


def test_a_strangers_tag_does_not_join_someone_elses_ticket(desk: App, mailbox: Mailbox) -> None:
    """A mail from an outsider carrying another person's ticket tag becomes a new, flagged ticket."""
    mailbox.append("INBOX", mail("li.na@example.com", "ERP 登录报错", "Error 500"))
    run_once(desk, Clock(NOW))
    [ticket] = tickets(desk)
    mailbox.append("INBOX", mail("mallory@evil.example.net", f"[{ticket.number}] hello", "hi"))
    run_once(desk, Clock(NOW + timedelta(minutes=1)))
    first, second = tickets(desk)
    with desk.store.session() as s:
        incoming = s.scalars(select(Message.from_addr).where(Message.ticket_id == first.id,
                                                             Message.direction == "in")).all()
    assert incoming == ["li.na@example.com"]
    assert "foreign_thread" in second.flags


@pytest.mark.parametrize("fixture", ["autoreply_exchange_zh.eml", "bounce_postfix_dsn.eml", "bounce_qq_zh.eml",
                                     "list_newsletter.eml"])
def test_auto_replies_bounces_and_list_mail_get_no_answer(
    desk: App, mailbox: Mailbox, smtp_sink: SmtpSink, fixture: str,
) -> None:
    """Auto-replies, bounces and list mail are stored but never acknowledged and never make a ticket."""
    mailbox.append("INBOX", (FIXTURES / fixture).read_bytes())
    run_once(desk, Clock(NOW))
    assert tickets(desk) == []
    assert answers(smtp_sink) == []
    with desk.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1
    assert mailbox.uids("INBOX") == []


def test_own_mail_coming_back_is_never_answered(desk: App, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """Our own ack, delivered back into the inbox (a forwarding loop), triggers nothing."""
    mailbox.append("INBOX", mail("li.na@example.com", "ERP 登录报错", "Error 500"))
    run_once(desk, Clock(NOW))
    mailbox.append("INBOX", answers(smtp_sink)[0].content)
    run_once(desk, Clock(NOW + timedelta(minutes=1)))
    assert len(answers(smtp_sink)) == 2  # the ack and the assignment mail, nothing more
    assert len(tickets(desk)) == 1


@pytest.mark.parametrize(("fixture", "needle"), [
    ("gb2312_foxmail.eml", None), ("gbk_outlook_qp.eml", None), ("gb18030_8bit.eml", None),
    ("big5_outlook_tw.eml", None), ("utf8_gmail.eml", None), ("html_only_qqmail.eml", None),
])
def test_chinese_charsets_and_html_only_mail(desk: App, mailbox: Mailbox, fixture: str, needle: str | None) -> None:
    """Mail in GB2312, GBK, GB18030, Big5, UTF-8 and HTML-only becomes a ticket with readable Chinese text."""
    mailbox.append("INBOX", (FIXTURES / fixture).read_bytes())
    run_once(desk, Clock(NOW))
    [ticket] = tickets(desk)
    with desk.store.session() as s:
        message = s.scalars(select(Message).where(Message.ticket_id == ticket.id, Message.direction == "in")).one()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in ticket.subject + message.text)
    assert "\ufffd" not in message.text and "<" not in message.text.replace("<http", "")


def test_attachment_with_a_chinese_name_is_kept(desk: App, mailbox: Mailbox) -> None:
    """An attachment named in Chinese is stored with its name, type, size and content."""
    mailbox.append("INBOX", mail("wang.fang@example.com", "报错截图", "见附件",
                                 attachments=(("登录报错截图.png", "image/png", b"\x89PNG" + b"x" * 100),)))
    run_once(desk, Clock(NOW))
    from maildesk.desk.attachment_bytes import AttachmentBytes
    from maildesk.store.models import Attachment
    with desk.store.session() as s:
        att = s.scalars(select(Attachment)).one()
        assert (att.filename, att.content_type, att.size) == ("登录报错截图.png", "image/png", 104)
        assert AttachmentBytes(s).read(att.message_id, att.sha256) == b"\x89PNG" + b"x" * 100


def test_a_mail_that_cannot_be_processed_is_quarantined_and_the_rest_goes_on(desk: App, mailbox: Mailbox) -> None:
    """A mail without a sender goes to the Quarantine folder with its reason; the next mail becomes a ticket."""
    mailbox.append("INBOX", (FIXTURES / "broken_no_headers.eml").read_bytes())
    mailbox.append("INBOX", mail("li.na@example.com", "ERP 登录报错", "Error 500"))
    run_once(desk, Clock(NOW))
    assert len(tickets(desk)) == 1
    assert len(mailbox.uids("Quarantine")) == 1 and len(mailbox.uids("Processed")) == 1
    with desk.store.session() as s:
        q = s.scalars(select(ProcessedSource).where(ProcessedSource.outcome == "quarantined")).one()
        assert "sender" in q.reason and q.raw


def test_the_same_mail_twice_is_stored_once(desk: App, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """The same Message-ID delivered twice (two UIDs) makes one ticket and one ack."""
    raw = mail("li.na@example.com", "ERP 登录报错", "Error 500", message_id="<twice@client.example.com>")
    mailbox.append_many("INBOX", [raw, raw])
    run_once(desk, Clock(NOW))
    assert len(tickets(desk)) == 1
    assert len([m for m in sent(smtp_sink) if m["Auto-Submitted"] == "auto-replied"]) == 1
    assert len(mailbox.uids("Processed")) == 2


def test_smtp_down_then_up_delivers_every_ack(desk: App, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """While the SMTP server is down acks wait in the outbox; once it is back they are delivered, once each."""
    clock = Clock(NOW)
    smtp_sink.stop()
    mailbox.append_many("INBOX", [mail(f"user{i}@example.com", f"问题 {i}", "内容") for i in range(3)])
    run_once(desk, clock)
    with desk.store.session() as s:
        rows = list(s.scalars(select(OutboxMail)))
        assert {r.status for r in rows} == {"pending"} and all(r.attempts == 1 for r in rows)
        assert all("127.0.0.1" in r.last_error or r.last_error for r in rows)
    smtp_sink.start()
    clock.now += timedelta(minutes=5)
    run_once(desk, clock)
    with desk.store.session() as s:
        assert {r.status for r in s.scalars(select(OutboxMail))} == {"sent"}
    ids = [m["Message-ID"] for m in sent(smtp_sink)]
    assert len(ids) == len(set(ids)) == 3


def test_permanent_refusal_is_marked_failed_with_the_reason(desk: App, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """A 550 from the server marks the mail failed with the server's words, and it is not retried."""
    smtp_sink.refuse("gone@example.com", "550 5.1.1 no such user")
    mailbox.append("INBOX", mail("gone@example.com", "问题", "内容"))
    run_once(desk, Clock(NOW))
    with desk.store.session() as s:
        row = s.scalars(select(OutboxMail).where(OutboxMail.kind == "ack")).one()
        assert row.status == "failed" and "550" in row.last_error


def _count(db: Path, sql: str) -> int:
    import sqlite3

    with sqlite3.connect(db, timeout=30) as conn:
        return int(conn.execute(sql).fetchone()[0])


@pytest.mark.slow
def test_sigkill_halfway_through_300_mails_loses_and_duplicates_nothing(
    tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink,
) -> None:
    """The daemon killed with SIGKILL mid-way and started again: 300 tickets, none twice, every ack sent once."""
    db = tmp_path / "desk.db"
    settings = desk_settings(f"sqlite:///{db}", imap=(mailbox.host, mailbox.port, mailbox.user),
                             smtp=(smtp_sink.host, smtp_sink.port), intake={"batch_size": 10})
    config = write_config(tmp_path, settings)
    mailbox.append_many("INBOX", [mail(f"u{i}@example.com", f"问题 {i}", f"内容 {i}",
                                       message_id=f"<m{i}@client.example.com>") for i in range(300)])
    env = {**os.environ, IMAP_PASSWORD_ENV: mailbox.password, "MAILDESK_CONFIG": str(config)}
    daemon = subprocess.Popen([sys.executable, "-m", "maildesk", "run"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.exists() and _count(db, "select count(*) from sqlite_master where name='tickets'") and \
                    _count(db, "select count(*) from tickets") >= 100:
                break
            time.sleep(0.05)
        daemon.send_signal(signal.SIGKILL)
    finally:
        daemon.wait(10)
    halfway = _count(db, "select count(*) from tickets")
    assert 100 <= halfway < 300, halfway
    again = subprocess.run([sys.executable, "-m", "maildesk", "run", "--once"], env=env, capture_output=True,
                           text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert _count(db, "select count(*) from tickets") == 300
    assert _count(db, "select count(distinct subject) from tickets") == 300
    assert _count(db, "select count(*) from outbox where kind='ack'") == 300
    assert _count(db, "select count(*) from outbox where status!='sent'") == 0
    acked = [m.rcpt_tos[0] for m in answers(smtp_sink)]
    assert len(acked) == 300
    assert set(acked) == {f"u{i}@example.com" for i in range(300)}
    assert mailbox.uids("INBOX") == [] and len(mailbox.uids("Processed")) == 300


@pytest.mark.slow
def test_sigterm_stops_the_daemon_cleanly(tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """SIGTERM while waiting for mail ends the daemon with exit code 0 within seconds."""
    settings = desk_settings(f"sqlite:///{tmp_path / 'desk.db'}", imap=(mailbox.host, mailbox.port, mailbox.user),
                             smtp=(smtp_sink.host, smtp_sink.port))
    config = write_config(tmp_path, settings)
    mailbox.append("INBOX", mail("li.na@example.com", "ERP 登录报错", "Error 500"))
    env = {**os.environ, IMAP_PASSWORD_ENV: mailbox.password, "MAILDESK_CONFIG": str(config)}
    daemon = subprocess.Popen([sys.executable, "-m", "maildesk", "run"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(answers(smtp_sink)) < 2:
        time.sleep(0.05)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(15) == 0
    assert len(answers(smtp_sink)) == 2  # ack and assignment, delivered before it stopped

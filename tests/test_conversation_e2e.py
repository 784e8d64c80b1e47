"""A ticket's whole life by mail only, in Chinese: real Dovecot in, real SMTP out, the daemon in between."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.app import App
from maildesk.daemon import Daemon, open_source
from maildesk.store.models import Event, Ticket
from maildesk.store.models_conversation import SurveyAnswer
from tests.desk import IMAP_PASSWORD_ENV, desk_settings, mail, make_app
from tests.dovecot import Mailbox
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
REPORTER, COLLEAGUE, ENGINEER = "zhang.wei@example.com", "chen.jing@example.com", "liu.yang@example.com"
NOTE = "定影器库存只剩两个"


@pytest.fixture
def life(tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """A desk reading the test's Dovecot user and sending to the sink."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, mailbox.password)
    app = make_app(tmp_path, desk_settings(f"sqlite:///{tmp_path / 'desk.db'}",
                                           imap=(mailbox.host, mailbox.port, mailbox.user),
                                           smtp=(smtp_sink.host, smtp_sink.port)))
    app.upgrade()
    yield app
    app.close()


class Conversation:
    """Drives the daemon pass by pass and answers the mails the sink received, as the people would."""

    def __init__(self, app: App, mailbox: Mailbox, sink: SmtpSink) -> None:
        self.app, self.mailbox, self.sink = app, mailbox, sink
        self.now = NOW
        self.seen = 0

    def run(self) -> list[EmailMessage]:
        """One daemon pass (half an hour later); returns the mails it sent."""
        self.now += timedelta(minutes=30)
        daemon = Daemon(self.app, open_source(self.app), lambda: self.now)
        try:
            daemon.run_once()
        finally:
            daemon.source.close()
        new = self.sink.messages[self.seen:]
        self.seen = len(self.sink.messages)
        return [email.message_from_bytes(m.content, policy=policy.default) for m in new]

    def answer(self, to_mail: EmailMessage, sender: str, name: str, body: str, *, cc: str | None = None,
               attachments: tuple[tuple[str, str, bytes], ...] = ()) -> None:
        """Reply as a mail client does: to the Reply-To, In-Reply-To the mail, quoting it below."""
        reply_to = to_mail["Reply-To"].addresses[0].addr_spec
        plain = to_mail.get_body(("plain",))
        assert plain is not None
        quoted = "\n".join("> " + line for line in plain.get_content().splitlines())
        text = f"{body}\n\n在 2026年11月23日 10:00，技术支持中心 <support@example.com> 写道：\n{quoted}\n"
        raw = mail(sender, "回复: " + to_mail["Subject"], text, name=name, to=reply_to, cc=cc,
                   in_reply_to=to_mail["Message-ID"], message_id=make_msgid(domain="client.example.com"),
                   date=self.now, attachments=attachments)
        self.mailbox.append("INBOX", raw)

    def ticket(self) -> Ticket:
        with self.app.store.session() as s:
            return s.scalars(select(Ticket)).one()


def only(mails: list[EmailMessage], to: str, subject_part: str = "") -> EmailMessage:
    [found] = [m for m in mails if to in m["To"] and subject_part in m["Subject"]]
    return found


def text_of(message: EmailMessage) -> str:
    return "\n".join(str(p.get_content()) for p in message.walk() if p.get_content_maintype() == "text")


def test_a_whole_life_by_mail(life: App, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """First mail, engineer's answer and commands, a reopen, confirmation and survey: all by mail, nothing leaks."""
    c = Conversation(life, mailbox, smtp_sink)
    mailbox.append("INBOX", mail(REPORTER, "财务部打印机卡纸", "三楼打印机一直卡纸，月底报表打印不出来。",
                                 name="张伟", date=NOW))
    mails = c.run()
    ack, assignment = only(mails, REPORTER), only(mails, ENGINEER, "分配")
    number = c.ticket().number
    assert f"[{number}]" in ack["Subject"] and c.ticket().assignee == ENGINEER

    # the engineer answers the assignment mail: a status, an internal note, words and a file for the reporter
    words = "张老师您好，我下午两点过来看一下，请先按附件检查。"
    c.answer(assignment, ENGINEER, "刘洋", f"#状态 处理中\n#备注 {NOTE}\n{words}",
             attachments=(("检查清单.txt", "text/plain", "1. 纸盒\n2. 搓纸轮\n".encode()),))
    relay = only(c.run(), REPORTER)
    assert "下午两点" in text_of(relay) and [a.get_filename() for a in relay.iter_attachments()] == ["检查清单.txt"]
    assert c.ticket().status == "in_progress" and c.ticket().first_response_at is not None

    # the reporter answers, copying a colleague, who becomes a watcher; the engineer gets it
    c.answer(relay, REPORTER, "张伟", "好的，我在三楼财务室。", cc=f"陈静 <{COLLEAGUE}>")
    to_engineer = only(c.run(), ENGINEER)
    assert "三楼财务室" in text_of(to_engineer) and c.ticket().watchers == [COLLEAGUE]

    c.answer(to_engineer, ENGINEER, "刘洋", "#status resolved\n已更换定影器，打印恢复正常。")
    confirm = only(c.run(), REPORTER, "请确认")
    assert "已更换定影器" in text_of(confirm) and c.ticket().status == "resolved"

    # not solved after all: reopened, and the engineer is told
    c.answer(confirm, REPORTER, "张伟", "仍有问题\n还是会卡纸，尤其是双面打印。")
    reopened = only(c.run(), ENGINEER)
    assert "重新打开" in text_of(reopened) and c.ticket().status == "in_progress" and c.ticket().reopen_count == 1

    # someone forges the engineer's From: no proof, so nothing happens but a warning to the real engineer
    mailbox.append("INBOX", mail(ENGINEER, f"[{number}] 打印机", "#关闭\n问题已处理。", to="support@example.com"))
    warning = only(c.run(), ENGINEER, "命令未执行")
    assert "无法证实" in text_of(warning) and c.ticket().status == "in_progress"

    c.answer(reopened, ENGINEER, "刘洋", "#状态 已解决\n更换了双面器的搓纸轮，连续双面打印 50 页正常。")
    confirm = only(c.run(), REPORTER, "请确认")
    c.answer(confirm, REPORTER, "张伟", "已解决，谢谢！")
    survey = only(c.run(), REPORTER, "满意度")
    assert c.ticket().status == "closed"

    c.answer(survey, REPORTER, "张伟", "5 5 4 很及时")
    assert c.run() == []
    with life.store.session() as s:
        answer = s.scalars(select(SurveyAnswer)).one()
        complete = s.scalar(select(Event.id).where(Event.action == "closure_complete"))
    assert (answer.speed, answer.solving, answer.attitude, answer.comment) == (5, 5, 4, "很及时")
    assert complete is not None and mailbox.uids("INBOX") == []

    # over every mail the sink received: the note reached nobody but staff, no staff address reached the reporter
    public = 0
    for received in smtp_sink.messages:
        message = email.message_from_bytes(received.content, policy=policy.default)
        if REPORTER not in received.rcpt_tos and COLLEAGUE not in received.rcpt_tos:
            continue
        public += 1
        assert message["From"].addresses[0].addr_spec == "support@example.com"
        assert f"[{number}]" in str(message["Subject"])
        assert NOTE not in text_of(message)
        headers = " ".join(f"{k}: {v}" for k, v in message.items())
        visible = {a for _, a in getaddresses([headers])} | set(received.rcpt_tos)
        assert not any(life.desk.directory.is_staff(a) for a in visible), visible
        assert ENGINEER not in text_of(message)
    assert public == 5  # ack, relay, confirm twice, survey (the colleague joined after the relay)

"""Other channels, KB articles by reply, an out-of-office over a weekend, #split and the weekly report, by mail only.

Real Dovecot in, real SMTP out, the daemon in between, one pass at a time at an explicit moment:
a phone call recorded on Friday evening, a P1 on Saturday whose engineer is on holiday, a second one
on Sunday, the engineer back on Monday, and Monday's weekly report. Every mail a person reads is
read at the SMTP sink.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.app import App
from maildesk.daemon import Daemon, open_source
from maildesk.kb import create_article
from maildesk.people.presence import away_now
from maildesk.store.models import Ticket
from tests.desk import IMAP_PASSWORD_ENV, TZ, desk_settings, mail, make_app, stamped
from tests.dovecot import Mailbox
from tests.kb_labelled import ARTICLES
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.slow

SOFTWARE = {"sun.hao@example.com": "孙浩", "wu.qiang@example.com": "吴强"}  # the software team
PHONE_TAKER = "zhou.min@example.com"  # 周敏 takes a call
CALLER = "li.na@example.com"  # 李娜, 销售部
REPORTER = "zhang.wei@example.com"  # 张伟
MANAGER = "zheng.li@example.com"
MX = ("Authentication-Results", "mx.example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com")


@pytest.fixture
def app(tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """A desk on the test's Dovecot user and the sink, whose mail server vouches for staff (DKIM)."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, mailbox.password)
    desk = make_app(tmp_path, desk_settings(f"sqlite:///{tmp_path / 'desk.db'}",
                                            imap=(mailbox.host, mailbox.port, mailbox.user),
                                            smtp=(smtp_sink.host, smtp_sink.port),
                                            intake={"trusted_authserv_ids": ["mx.example.com"]}))
    desk.upgrade()
    with desk.store.session() as s:  # the team's knowledge base
        for title, problem, solution, tags in ARTICLES:
            create_article(s, title=title, problem=problem, solution=solution, tags=tags,
                           now=datetime(2026, 11, 2, 9, 0, tzinfo=TZ))
    yield desk
    desk.close()


class Desk:
    """Drives the daemon one pass at a time at given moments, and answers mails as the people would."""

    def __init__(self, app: App, mailbox: Mailbox, sink: SmtpSink) -> None:
        self.app, self.mailbox, self.sink = app, mailbox, sink
        self.seen = 0
        self.now = datetime(2026, 11, 27, 19, 0, tzinfo=TZ)

    def at(self, day: int, hour: int, minute: int = 0) -> list[EmailMessage]:
        """One daemon pass on 2026-11-<day> at <hour>:<minute>; the mails it sent."""
        self.now = datetime(2026, 11, day, hour, minute, tzinfo=TZ)
        daemon = Daemon(self.app, open_source(self.app), lambda: self.now)
        try:
            daemon.run_once()
        finally:
            daemon.source.close()
        new = self.sink.messages[self.seen:]
        self.seen = len(self.sink.messages)
        return [email.message_from_bytes(m.content, policy=policy.default) for m in new]

    def send(self, raw: bytes) -> None:
        self.mailbox.append("INBOX", raw)

    def answer(self, to_mail: EmailMessage, sender: str, body: str, *, headers: dict[str, str] | None = None) -> None:
        """A reply as a mail client writes one: to the Reply-To, In-Reply-To the mail."""
        reply_to = to_mail["Reply-To"].addresses[0].addr_spec
        self.send(mail(sender, "回复: " + to_mail["Subject"], body, to=reply_to, in_reply_to=to_mail["Message-ID"],
                       message_id=make_msgid(domain="client.example.com"), date=self.now, headers=headers))

    def ticket(self, number: str) -> Ticket:
        with self.app.store.session() as s:
            return s.scalars(select(Ticket).where(Ticket.number == number)).one()


def only(mails: list[EmailMessage], to: str, subject_part: str = "") -> EmailMessage:
    [found] = [m for m in mails if to in str(m["To"]) and subject_part in str(m["Subject"])]
    return found


def text_of(message: EmailMessage) -> str:
    return "\n".join(str(p.get_content()) for p in message.walk() if p.get_content_maintype() == "text")


def number_of(message: EmailMessage) -> str:
    found = re.search(r"TS-\d{8}-\d{4}", str(message["Subject"]))
    assert found is not None
    return found.group(0)


def test_a_weekend_of_other_channels_by_mail(app: App, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """Recorded call, article by reply, out-of-office hand-over on Saturday, back on Monday, #split, weekly report."""
    d = Desk(app, mailbox, smtp_sink)

    # Friday 19:00: 周敏 records 李娜's call; 李娜 gets the ack as if she had written, with the article's gist
    d.send(stamped(mail(PHONE_TAKER, "OA登录不了，提示账号已锁定",
                        "#反馈人 li.na@example.com\n#渠道 电话\n\n李娜来电：输错几次密码后OA账号就锁了，销售部急用。",
                        name="周敏", date=d.now), MX))
    mails = d.at(27, 19, 5)
    ack = only(mails, CALLER)
    call = number_of(ack)
    assert d.ticket(call).channel == "phone" and d.ticket(call).reporter == CALLER
    assert "OA账号锁定" in text_of(ack) and "在AD管理中心解锁账号" in text_of(ack) and "CRM" not in text_of(ack)
    assert PHONE_TAKER not in text_of(ack) and ack["In-Reply-To"] is None
    article = re.search(r"#知识库 (\d+)）", text_of(ack))
    assert article is not None

    # she asks for the whole article by replying; it comes to her alone
    d.answer(ack, CALLER, f"#知识库 {article.group(1)}")
    whole = only(d.at(27, 19, 30), CALLER, "知识库文章")
    assert "连续输错密码五次" in text_of(whole) and "解锁后请修改密码" in text_of(whole) and whole["Cc"] is None

    # Saturday 10:00: a production outage; its engineer's out-of-office answers the assignment mail
    d.send(mail(REPORTER, "生产系统宕机", "下单页面全部打不开，门店无法开单。", name="张伟", date=d.now))
    assignment = next(m for m in d.at(28, 10, 0) if "分配" in str(m["Subject"]))
    outage = number_of(assignment)
    away = assignment["To"].addresses[0].addr_spec
    other = next(a for a in SOFTWARE if a != away)
    assert d.ticket(outage).priority == "P1" and away in SOFTWARE
    d.send(stamped(mail(away, "自动回复: " + str(assignment["Subject"]), "我 11 月 28 日至 29 日休假，周一回来。",
                        date=d.now, headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}),
                   MX))
    handed = only(d.at(28, 10, 15), other, "分配")
    assert number_of(handed) == outage and d.ticket(outage).assignee == other
    assert f"{SOFTWARE[away]}发来外出自动回复" in text_of(handed) and "下单页面全部打不开" in text_of(handed)

    # Sunday: another outage goes to the colleague who is there, though the one away has less work (least loaded)
    with app.store.session() as s:
        load = {a: len(s.scalars(select(Ticket.id).where(Ticket.assignee == a, Ticket.status != "closed")).all())
                for a in SOFTWARE}
    assert load[away] < load[other]
    d.send(mail(REPORTER, "生产环境无法访问", "门店全部连不上，收银停了。", name="张伟", date=d.now))
    second = only(d.at(29, 11, 0), other, "分配")
    assert d.ticket(number_of(second)).assignee == other

    # the colleague splits a new problem off the outage: the words below #拆分 become its ticket
    d.answer(handed, other, "#拆分 门店收银机连不上\n门店收银机也连不上生产系统，单独跟进。")
    split_ack = only(d.at(29, 11, 30), REPORTER)
    split = number_of(split_ack)
    assert split != outage and d.ticket(split).subject == "门店收银机连不上"
    on_the_outage = [m for m in sink_mails(smtp_sink, REPORTER) if outage in str(m["Subject"])]
    assert on_the_outage and all("收银机" not in text_of(m) for m in on_the_outage)  # not relayed there

    # Monday 09:00: the engineer is back (a normal, proven mail) and the weekly report lists what stayed open
    d.answer(assignment, away, "我回来了，这单我也跟一下。")
    mails = d.at(30, 9, 30)
    report = only(mails, MANAGER, "周报")
    text = text_of(report)
    assert "按渠道" in text and "电话" in text and "未解决的工单及原因" in text
    assert outage in text and call in text
    with app.store.session() as s:
        assert away_now(s) == frozenset()


def sink_mails(sink: SmtpSink, to: str) -> list[EmailMessage]:
    return [email.message_from_bytes(m.content, policy=policy.default) for m in sink.messages if to in m.rcpt_tos]

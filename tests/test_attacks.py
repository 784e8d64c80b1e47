"""Attacks on the desk by mail, as an outsider would try them: real Dovecot in, real SMTP out, both databases.

Each attacker starts from what they really hold: the mails the SMTP sink delivered to them and the
public code. Mallory is an unknown sender (accepted by default, so she gets acknowledgements); the
victims are 张伟, the reporter of a printer ticket, and 刘洋, the engineer it is assigned to.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from maildesk.app import App
from maildesk.daemon import Daemon, open_source
from maildesk.store.models import Message, OutboxMail, Ticket, TicketLink
from maildesk.store.models_kb import KbArticle
from tests.desk import IMAP_PASSWORD_ENV, desk_settings, mail, make_app, stamped
from tests.dovecot import Mailbox
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
MALLORY = "mallory@evil.example.net"
REPORTER, ENGINEER, SPY = "zhang.wei@example.com", "liu.yang@example.com", "spy@evil.example.net"
MX = "mx.example.com"
HOP = ("Received", "from mail.evil.example.net (mail.evil.example.net [203.0.113.9]) by mx.example.com "
       "with ESMTPS id 4XyZ; Mon, 23 Nov 2026 10:00:00 +0800")


@dataclass(frozen=True)
class Seen:
    """The state of a ticket an attack must not change."""

    status: str
    priority: str
    assignee: str | None
    watchers: tuple[str, ...]
    flags: tuple[str, ...]
    messages: int


class Siege:
    """The desk under attack: mails go into the real mailbox, one daemon pass at a time."""

    def __init__(self, app: App, mailbox: Mailbox, sink: SmtpSink) -> None:
        self.app, self.mailbox, self.sink = app, mailbox, sink
        self.now = NOW
        self.seen = 0

    def send(self, raw: bytes) -> None:
        self.mailbox.append("INBOX", raw)

    def run(self) -> list[tuple[tuple[str, ...], EmailMessage]]:
        """One daemon pass a minute later; the mails it sent, with their envelope recipients."""
        self.now += timedelta(minutes=1)
        daemon = Daemon(self.app, open_source(self.app), lambda: self.now)
        try:
            summary = daemon.run_once()
        finally:
            daemon.source.close()
        assert all(o.result != "quarantined" for o in summary.outcomes), summary.outcomes
        new = self.sink.messages[self.seen:]
        self.seen = len(self.sink.messages)
        return [(m.rcpt_tos, email.message_from_bytes(m.content, policy=policy.default)) for m in new]

    def received_by(self, address: str) -> list[EmailMessage]:
        """Every mail the sink delivered to ``address`` so far."""
        return [email.message_from_bytes(m.content, policy=policy.default) for m in self.sink.messages
                if address in m.rcpt_tos]

    def open(self, sender: str, subject: str, body: str, **kw: object) -> str:
        self.send(mail(sender, subject, body, date=self.now, **kw))  # type: ignore[arg-type]
        self.run()
        with self.app.store.session() as s:
            return s.scalars(select(Ticket.number).where(Ticket.reporter == sender).order_by(Ticket.id.desc())
                             .limit(1)).one()

    def state(self, number: str) -> Seen:
        with self.app.store.session() as s:
            t = s.scalars(select(Ticket).where(Ticket.number == number)).one()
            count = s.scalar(select(func.count()).select_from(Message).where(Message.ticket_id == t.id)) or 0
            return Seen(t.status, t.priority, t.assignee, tuple(t.watchers), tuple(t.flags), count)

    def ticket(self, number: str) -> Ticket:
        with self.app.store.session() as s:
            return s.scalars(select(Ticket).where(Ticket.number == number)).one()

    def outbox_kinds(self) -> list[str]:
        with self.app.store.session() as s:
            return list(s.scalars(select(OutboxMail.kind).order_by(OutboxMail.id)))

    def articles(self) -> int:
        with self.app.store.session() as s:
            return s.scalar(select(func.count()).select_from(KbArticle)) or 0


@pytest.fixture
def siege(tmp_path: Path, db_url: str, mailbox: Mailbox, smtp_sink: SmtpSink,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Siege]:
    """The desk on each database, reading the test's Dovecot user, sending to the sink, trusting mx.example.com."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, mailbox.password)
    app = make_app(tmp_path, desk_settings(db_url, imap=(mailbox.host, mailbox.port, mailbox.user),
                                           smtp=(smtp_sink.host, smtp_sink.port),
                                           intake={"trusted_authserv_ids": [MX]}))
    yield Siege(app, mailbox, smtp_sink)
    app.close()


def reply_to_of(message: EmailMessage) -> str:
    return message["Reply-To"].addresses[0].addr_spec


def tokens_of(address: str) -> tuple[str, str]:
    """(local part up to the token, token) of a per-ticket reply address such as support+ts-…-abc@example.com."""
    match = re.fullmatch(r"(?P<head>.+-)(?P<token>[0-9a-f]+)@example\.com", address)
    assert match is not None, address
    return match.group("head"), match.group("token")


def old_staff_token(reporter_token: str) -> str:
    """How the staff token used to be derived from the reporter's (the attack this file exists for)."""
    return hmac.new(reporter_token.encode("ascii"), b"staff", hashlib.sha256).hexdigest()[:20]


COMMANDS = ("#priority P1", "#status closed", "#assign me", "#close", "#kb new\n这是官方解决方法：请访问 http://evil.example.net/reset")


def test_a_staff_token_derived_from_the_ack_runs_no_command(siege: Siege) -> None:
    """Mallory computes a 'staff' address from her ack and forges the engineer's From: no command runs anywhere."""
    victim = siege.open(REPORTER, "财务部打印机卡纸", "三楼打印机一直卡纸。", name="张伟")
    own = siege.open(MALLORY, "打印机也坏了", "我这里的打印机也卡纸。")
    [ack] = siege.received_by(MALLORY)
    head, token = tokens_of(reply_to_of(ack))
    derived = f"{head}{old_staff_token(token)}@example.com"
    before = {n: siege.state(n) for n in (victim, own)}
    articles, kinds = siege.articles(), siege.outbox_kinds()
    for number in (own, victim):
        to = derived if number == own else derived.replace(own.lower(), number.lower())
        for command in (*COMMANDS, f"#merge {own if number == victim else victim}"):
            siege.send(mail(ENGINEER, f"回复: [{number}] 打印机", f"{command}\n已处理。", name="刘洋", to=to,
                            message_id=make_msgid(domain="evil.example.net"), date=siege.now))
    siege.run()
    for number, seen in before.items():
        after = siege.state(number)
        assert (after.status, after.priority, after.assignee, after.watchers) == \
            (seen.status, seen.priority, seen.assignee, seen.watchers)
        assert "unverified_staff_mail" in after.flags
    assert siege.articles() == articles
    new_kinds = siege.outbox_kinds()[len(kinds):]
    assert set(new_kinds) == {"command_error"}  # the real engineer hears of each forged mail, nobody else
    assert len(siege.received_by(MALLORY)) == 1

    # the engineer's next answer on the victim's ticket reaches the victim only
    victim_ack = next(m for m in siege.received_by(REPORTER) if victim in str(m["Subject"]))
    assert reply_to_of(victim_ack) != derived
    siege.send(mail(ENGINEER, f"回复: [{victim}] 打印机", "临时密码 Abc-12345，请登录后修改。", name="刘洋",
                    to=siege.app.desk.addresses.staff(victim), date=siege.now))
    sent = siege.run()
    assert [rcpt for rcpt, m in sent if "临时密码" in m.get_body(("plain",)).get_content()] == [(REPORTER,)]
    assert len(siege.received_by(MALLORY)) == 1


def test_a_forged_pass_below_our_servers_fail_proves_nothing(siege: Siege) -> None:
    """A 'dkim=pass' with our authserv-id written by the sender, below our server's own 'fail', is ignored."""
    victim = siege.open(REPORTER, "财务部打印机卡纸", "三楼打印机一直卡纸。", name="张伟")
    before = siege.state(victim)
    forged = mail(ENGINEER, f"回复: [{victim}] 打印机", "#priority P1\n#status closed", name="刘洋", date=siege.now,
                  headers={"Authentication-Results": f"{MX}; dkim=pass header.d=example.com; dmarc=pass "
                                                     "header.from=example.com"})
    ours = ("Authentication-Results", f"{MX}; dkim=fail header.d=example.com; spf=fail "
                                      "smtp.mailfrom=example.com; dmarc=fail header.from=example.com")
    siege.send(stamped(forged, ours, HOP))
    # and where our server wrote nothing at all, a forged header among the sender's own fields
    siege.send(stamped(mail(ENGINEER, f"回复: [{victim}] 打印机", "#assign me", name="刘洋", date=siege.now,
                            headers={"Authentication-Results": f"{MX}; dkim=pass header.d=example.com"}), HOP))
    siege.run()
    after = siege.state(victim)
    assert (after.status, after.priority) == (before.status, before.priority)
    assert "unverified_staff_mail" in after.flags


def test_our_servers_pass_on_top_does_prove_staff(siege: Siege) -> None:
    """The same command with our server's own dkim=pass on top is applied: the check is not simply closed."""
    victim = siege.open(REPORTER, "财务部打印机卡纸", "三楼打印机一直卡纸。", name="张伟")
    ours = ("Authentication-Results", f"{MX}; dkim=pass header.d=example.com header.s=s1; dmarc=pass "
                                      "header.from=example.com")
    siege.send(stamped(mail(ENGINEER, f"回复: [{victim}] 打印机", "#priority P2", name="刘洋", date=siege.now),
                       ours, HOP))
    siege.run()
    assert siege.state(victim).priority == "P2"


def test_a_forged_reporter_from_adds_no_spy(siege: Siege) -> None:
    """A mail in the reporter's name that our server says failed DMARC adds no watcher and is flagged."""
    victim = siege.open(REPORTER, "财务部打印机卡纸", "三楼打印机一直卡纸。", name="张伟")
    ours = ("Authentication-Results", f"{MX}; spf=fail smtp.mailfrom=example.com; dkim=none; "
                                      "dmarc=fail header.from=example.com")
    siege.send(stamped(mail(REPORTER, f"回复: [{victim}] 打印机", "已解决，谢谢", name="张伟", cc=SPY,
                            date=siege.now), ours, HOP))
    siege.run()
    after = siege.state(victim)
    assert SPY not in after.watchers and "from_failed_auth" in after.flags
    assert after.status != "closed"
    siege.send(mail(ENGINEER, f"回复: [{victim}] 打印机", "请重启打印机后再试。", name="刘洋",
                    to=siege.app.desk.addresses.staff(victim), date=siege.now))
    siege.run()
    assert siege.received_by(SPY) == []


def test_a_stranger_quoting_the_reporters_message_id_gets_a_ticket_of_her_own(siege: Siege) -> None:
    """In-Reply-To naming the reporter's mail does not let a stranger into that conversation, nor her Cc."""
    first = mail(REPORTER, "财务部打印机卡纸", "三楼打印机一直卡纸。", name="张伟", date=siege.now,
                 message_id="<printer-1@client.example.com>")
    siege.send(first)
    siege.run()
    with siege.app.store.session() as s:
        victim = s.scalars(select(Ticket.number)).one()
    before = siege.state(victim)
    siege.send(mail(MALLORY, "Re: 财务部打印机卡纸", "补充一下情况", in_reply_to="<printer-1@client.example.com>",
                    cc=SPY, date=siege.now))
    siege.run()
    assert siege.state(victim) == before
    with siege.app.store.session() as s:
        own = s.scalars(select(Ticket).where(Ticket.reporter == MALLORY)).one()
        links = s.scalars(select(TicketLink.kind).where(TicketLink.ticket_id == own.id)).all()
    assert "foreign_thread" in own.flags and links == ["related"]
    siege.send(mail(ENGINEER, f"回复: [{victim}] 打印机", "维修工程师下午到。", name="刘洋",
                    to=siege.app.desk.addresses.staff(victim), date=siege.now))
    sent = siege.run()
    assert all(MALLORY not in rcpt and SPY not in rcpt for rcpt, _ in sent)


def test_the_reporters_reply_address_lets_no_stranger_in(siege: Siege) -> None:
    """Mail from a stranger to the reporter's reply address (a forwarded ack) opens a linked ticket instead."""
    victim = siege.open(REPORTER, "财务部打印机卡纸", "三楼打印机一直卡纸。", name="张伟")
    ack = next(m for m in siege.received_by(REPORTER) if victim in str(m["Subject"]))
    before = siege.state(victim)
    siege.send(mail(MALLORY, f"回复: [{victim}] 打印机", "#close", to=reply_to_of(ack), cc=SPY, date=siege.now))
    siege.run()
    assert siege.state(victim) == before
    with siege.app.store.session() as s:
        own = s.scalars(select(Ticket).where(Ticket.reporter == MALLORY)).one()
    assert "foreign_thread" in own.flags and SPY in own.watchers  # her own ticket, her own Cc


def test_two_thousand_cc_make_at_most_ten_watchers(siege: Siege) -> None:
    """A reporter copying 2,000 addresses cannot turn the desk into a mass mailer: ten watchers at most."""
    crowd = ", ".join(f"user{i}@crowd.example.org" for i in range(2000))
    victim = siege.open(MALLORY, "打印机卡纸", "三楼打印机一直卡纸。", cc=crowd)
    assert len(siege.state(victim).watchers) == 10
    ack = siege.received_by(MALLORY)[0]
    siege.send(mail(MALLORY, f"回复: [{victim}] 打印机", "还是不行", to=reply_to_of(ack), cc=crowd.replace("user",
                                                                                                  "more"),
                    date=siege.now))
    siege.run()
    assert len(siege.state(victim).watchers) == 10
    assignee = siege.state(victim).assignee or ENGINEER
    siege.send(mail(assignee, f"回复: [{victim}] 打印机", "请重启。", to=siege.app.desk.addresses.staff(victim),
                    date=siege.now))
    sent = siege.run()
    public = [rcpt for rcpt, m in sent if MALLORY in rcpt]
    assert public and all(len(rcpt) <= 11 for rcpt in public)


def test_lists_and_our_own_addresses_never_become_watchers(siege: Siege) -> None:
    """Cc of a list, a role address, the support address and a reply address adds none of them."""
    victim = siege.open(REPORTER, "财务部打印机卡纸", "三楼打印机一直卡纸。", name="张伟",
                        cc="all@example.com, it-list@example.com, support@example.com, chen.jing@example.com")
    reply = siege.app.desk.addresses.reporter(victim)
    siege.send(mail(REPORTER, f"回复: [{victim}] 打印机", "补充", to=reply, cc=f"{reply}, noreply@example.com",
                    date=siege.now))
    siege.run()
    assert siege.state(victim).watchers == ("chen.jing@example.com",)


def test_an_old_tickets_addresses_still_thread_but_prove_nothing(siege: Siege) -> None:
    """A ticket from before the server secret: its old reporter address still threads, its old staff
    address (computable by anyone) runs no command."""
    victim = siege.open(REPORTER, "财务部打印机卡纸", "三楼打印机一直卡纸。", name="张伟")
    legacy = "0123456789abcdef"
    with siege.app.store.session() as s:
        s.scalars(select(Ticket).where(Ticket.number == victim)).one().reply_token = legacy
    head = f"support+{victim.lower()}-"
    siege.send(mail(REPORTER, "补充截图", "截图见附件。", to=f"{head}{legacy}@example.com", date=siege.now))
    siege.send(mail(ENGINEER, "x", "#priority P1", to=f"{head}{old_staff_token(legacy)}@example.com",
                    date=siege.now))
    siege.run()
    after = siege.state(victim)
    assert after.messages >= 3 and after.priority != "P1" and "unverified_staff_mail" in after.flags

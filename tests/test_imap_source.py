"""ImapSource against a real Dovecot: batching, moving, quarantine, IDLE, outages, login errors."""

from __future__ import annotations

import logging
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from imapclient import DELETED

from maildesk.ingest.imap_server import ImapConnectionError, ImapLoginError
from maildesk.ingest.imap_source import ImapSource
from tests.dovecot import DovecotServer, Mailbox
from tests.dovecot import dovecot as dovecot_fixture  # noqa: F401  (pytest finds fixtures by their name)
from tests.dovecot import mailbox as mailbox_fixture  # noqa: F401


def chinese_mail(n: int) -> bytes:
    """A small support request in Chinese, numbered so order and identity can be checked."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "张伟 <zhang.wei@example.cn>"
    msg["To"] = "support@example.cn"
    msg["Subject"] = f"打印机无法打印 第{n}封"
    msg["Message-ID"] = f"<req-{n}@example.cn>"
    msg.set_content(f"你好，三楼的打印机又卡纸了，请尽快处理。编号 {n}\n", charset="gb18030")
    return msg.as_bytes()


class Sleeps:
    """A sleep that records how long it was asked to sleep and runs an optional action instead."""

    def __init__(self, action: object = None) -> None:
        self.calls: list[float] = []
        self.action = action

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if callable(self.action):
            self.action()


def test_fetches_250_in_batches_each_once_oldest_first_then_moves_them(mailbox: Mailbox) -> None:
    """250 waiting mails come out in batches of 100, each once and in arrival order, and end up in Processed."""
    raws = [chinese_mail(n) for n in range(250)]
    mailbox.append_many("INBOX", raws)
    with ImapSource(mailbox.settings(batch_size=100)) as source:
        batches = [source.fetch_batch(100) for _ in range(4)]
        assert [len(b) for b in batches] == [100, 100, 50, 0]
        fetched = [m for batch in batches for m in batch]
        assert [m.raw for m in fetched] == raws
        assert len({m.source_id for m in fetched}) == 250
        assert fetched[0].source_id.startswith(f"imap:{mailbox.user}@{mailbox.host}/INBOX;UIDVALIDITY=")
        assert fetched[0].source_id.endswith(";UID=1")
        source.mark_done([m.source_id for m in fetched])
    assert mailbox.uids("INBOX") == []
    assert sorted(mailbox.fetch("Processed").values()) == sorted(raws)


def test_connecting_creates_processed_and_quarantine_folders(mailbox: Mailbox) -> None:
    """A fresh mailbox gets its Processed and Quarantine folders on first use."""
    with ImapSource(mailbox.settings(processed_folder="已处理", quarantine_folder="Quarantine")) as source:
        assert source.fetch_batch(10) == []
    assert {"已处理", "Quarantine"} <= set(mailbox.folders())


def test_message_not_marked_done_is_offered_again_in_the_next_pass(mailbox: Mailbox) -> None:
    """A mail left in the inbox is not repeated within a pass but comes back after wait_for_mail."""
    mailbox.append_many("INBOX", [chinese_mail(1), chinese_mail(2)])
    with ImapSource(mailbox.settings(idle=False), sleep=Sleeps()) as source:
        first = source.fetch_batch(10)
        assert source.fetch_batch(10) == []
        source.mark_done([first[0].source_id])
        source.wait_for_mail(1)
        assert source.fetch_batch(10) == [first[1]]


def test_quarantine_moves_the_message_aside_and_logs_the_reason(
    mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    """A quarantined mail leaves the inbox for Quarantine, intact, and the log says why."""
    raw = chinese_mail(7)
    mailbox.append("INBOX", raw)
    with ImapSource(mailbox.settings()) as source, caplog.at_level(logging.WARNING):
        (message,) = source.fetch_batch(10)
        source.quarantine(message.source_id, "无法解析的附件")
    assert mailbox.uids("INBOX") == []
    assert list(mailbox.fetch("Quarantine").values()) == [raw]
    assert "无法解析的附件" in caplog.text


def test_idle_wakes_up_when_another_client_delivers_mail(mailbox: Mailbox) -> None:
    """wait_for_mail returns within a second of a delivery made over another connection."""
    with ImapSource(mailbox.settings()) as source:
        assert source.fetch_batch(10) == []
        delivery = threading.Timer(0.3, mailbox.append, ("INBOX", chinese_mail(1)))
        started = time.monotonic()
        delivery.start()
        source.wait_for_mail(10)
        waited = time.monotonic() - started
        delivery.join()
        assert waited < 1.3
        assert [m.raw for m in source.fetch_batch(10)] == [chinese_mail(1)]


def test_idle_returns_after_the_timeout_when_no_mail_comes(mailbox: Mailbox) -> None:
    """Without new mail, wait_for_mail gives up after its timeout."""
    with ImapSource(mailbox.settings()) as source:
        started = time.monotonic()
        source.wait_for_mail(0.3)
        assert 0.25 < time.monotonic() - started < 2


def test_without_idle_it_sleeps_the_poll_interval(mailbox: Mailbox) -> None:
    """With IDLE switched off, waiting is a sleep of poll_seconds (or the timeout if shorter)."""
    sleeps = Sleeps()
    with ImapSource(mailbox.settings(idle=False, poll_seconds=2.0), sleep=sleeps) as source:
        source.wait_for_mail(30)
        source.wait_for_mail(0.5)
    assert sleeps.calls == [2.0, 0.5]


def test_reconnects_after_the_server_was_killed_and_restarted(mailbox: Mailbox, dovecot: DovecotServer) -> None:
    """After a server crash the source reconnects with backoff and carries on where it was."""
    mailbox.append_many("INBOX", [chinese_mail(1), chinese_mail(2)])
    sleeps = Sleeps(action=dovecot.restart)  # the server comes back during the first backoff pause
    with ImapSource(mailbox.settings(), sleep=sleeps) as source:
        first = source.fetch_batch(1)
        dovecot.kill()
        second = source.fetch_batch(10)
        assert sleeps.calls == [1.0]
        assert [m.raw for m in first + second] == [chinese_mail(1), chinese_mail(2)]
        source.mark_done([m.source_id for m in first + second])
    assert mailbox.uids("INBOX") == []
    assert len(mailbox.uids("Processed")) == 2


def test_a_crash_during_idle_ends_the_wait_and_the_source_reconnects(mailbox: Mailbox, dovecot: DovecotServer) -> None:
    """When the server dies while the source idles, the wait ends early and fetching goes on after the restart."""
    crash = threading.Timer(0.3, dovecot.kill)

    def restart_after_crash() -> None:
        crash.join()
        dovecot.restart()
        mailbox.append("INBOX", chinese_mail(1))

    sleeps = Sleeps(action=restart_after_crash)
    with ImapSource(mailbox.settings(), sleep=sleeps) as source:
        assert source.fetch_batch(10) == []
        started = time.monotonic()
        crash.start()
        source.wait_for_mail(10)
        assert time.monotonic() - started < 3
        assert sleeps.calls == [1.0]
        assert [m.raw for m in source.fetch_batch(10)] == [chinese_mail(1)]


def test_gives_up_with_backoff_capped_at_a_minute_when_the_server_stays_down(
    mailbox: Mailbox, dovecot: DovecotServer
) -> None:
    """A server that stays down is retried 1 s, 2 s, 4 s … 60 s apart, then ImapConnectionError."""
    sleeps = Sleeps()
    with ImapSource(mailbox.settings(reconnect_attempts=9), sleep=sleeps) as source:
        source.fetch_batch(1)
        dovecot.kill()
        try:
            with pytest.raises(ImapConnectionError, match="after 9 attempts"):
                source.fetch_batch(1)
        finally:
            dovecot.restart()
        assert sleeps.calls == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
        mailbox.append("INBOX", chinese_mail(3))
        assert [m.raw for m in source.fetch_batch(1)] == [chinese_mail(3)]


def test_wrong_password_fails_at_once_without_showing_the_password(
    mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused login raises ImapLoginError immediately; neither the error nor the log holds the password."""
    wrong = "Wr0ng-密码-xyz"
    sleeps = Sleeps()
    source = ImapSource(mailbox.settings(password=wrong), sleep=sleeps)
    with caplog.at_level(logging.DEBUG), pytest.raises(ImapLoginError) as raised:
        source.fetch_batch(1)
    assert mailbox.user in str(raised.value)
    assert wrong not in str(raised.value)
    assert wrong not in caplog.text
    assert wrong not in repr(source.settings)
    assert sleeps.calls == []


def test_a_chinese_password_logs_in(dovecot: DovecotServer) -> None:
    """A password with non-ASCII characters works (LOGIN cannot carry it; AUTHENTICATE PLAIN can)."""
    mailbox = Mailbox(dovecot, *dovecot.new_user(password="客服部-密码-2026"))
    mailbox.append("INBOX", chinese_mail(1))
    with ImapSource(mailbox.settings()) as source:
        assert [m.raw for m in source.fetch_batch(10)] == [chinese_mail(1)]


def test_copy_and_expunge_fallback_moves_only_our_messages(mailbox: Mailbox) -> None:
    """Without MOVE, COPY + \\Deleted + UID EXPUNGE moves our mail and leaves others' deleted mail alone."""
    with mailbox.client() as other:
        other.append("INBOX", chinese_mail(99), flags=[DELETED])
    mailbox.append_many("INBOX", [chinese_mail(1), chinese_mail(2)])
    with ImapSource(mailbox.settings(), use_move=False) as source:
        fetched = source.fetch_batch(10)
        assert [m.raw for m in fetched] == [chinese_mail(1), chinese_mail(2)]
        source.mark_done([m.source_id for m in fetched])
    assert sorted(mailbox.fetch("Processed").values()) == [chinese_mail(1), chinese_mail(2)]
    with mailbox.client() as other:
        other.select_folder("INBOX", readonly=True)
        assert len(other.search(["ALL"])) == 1  # the other client's \Deleted mail is still there


@pytest.mark.parametrize("use_move", [None, False])
def test_mark_done_of_a_message_already_gone_is_not_an_error(mailbox: Mailbox, use_move: bool | None) -> None:
    """Marking done a mail someone else already removed does nothing and raises nothing."""
    mailbox.append("INBOX", chinese_mail(1))
    with ImapSource(mailbox.settings(), use_move=use_move) as source:
        (message,) = source.fetch_batch(10)
        with mailbox.client() as other:
            other.select_folder("INBOX")
            other.move(other.search(["ALL"]), "Quarantine")
        source.mark_done([message.source_id])
        source.quarantine(message.source_id, "gone")
    assert len(mailbox.uids("Quarantine")) == 1
    assert mailbox.uids("Processed") == []


def test_new_uidvalidity_offers_mail_again_and_leaves_old_ids_alone(
    mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    """When the folder is recreated (new UIDVALIDITY) the next pass warns, goes on, and ignores stale ids."""
    mailbox.create_folder("Intake")
    mailbox.append("Intake", chinese_mail(1))
    with ImapSource(mailbox.settings(folder="Intake")) as source:
        (old,) = source.fetch_batch(10)
        with mailbox.client() as other:
            other.delete_folder("Intake")
            other.create_folder("Intake")
            other.append("Intake", chinese_mail(2))
        with caplog.at_level(logging.WARNING):
            source.wait_for_mail(0)
            (new,) = source.fetch_batch(10)
            source.mark_done([old.source_id])
        assert new.raw == chinese_mail(2)
        assert new.source_id != old.source_id
        assert "UIDVALIDITY" in caplog.text
        assert len(mailbox.uids("Intake")) == 1  # the stale id did not move the new mail
        source.mark_done([new.source_id])
    assert mailbox.uids("Intake") == []


def test_batches_are_bounded_by_bytes_from_the_sizes_the_server_reports(mailbox: Mailbox) -> None:
    """With 100 kB a batch, 40 kB mails come two at a time and a 300 kB mail alone; all once, in order."""
    raws = [chinese_mail(n) + b"\r\n" + b"x" * size for n, size in
            enumerate([40_000, 40_000, 40_000, 300_000, 40_000])]
    mailbox.append_many("INBOX", raws)
    with ImapSource(mailbox.settings()) as source:
        batches = [source.fetch_batch(100, max_bytes=100_000) for _ in range(5)]
        assert [len(b) for b in batches] == [2, 1, 1, 1, 0]
        assert [m.raw for b in batches for m in b] == raws


def test_mail_that_came_just_before_the_last_search_ends_the_wait_at_once(mailbox: Mailbox) -> None:
    """A mail delivered between two commands is not in the next SEARCH's result (the server syncs the
    session's view at the end of a command) but is told of at its end; IDLE would not tell of it again,
    so waiting lasted until the next mail or the poll interval (a minute by default)."""
    with ImapSource(mailbox.settings()) as source:
        assert source.fetch_batch(10) == []
        mailbox.append("INBOX", chinese_mail(1))  # over another connection, before this session's next command
        assert source.fetch_batch(10) == []  # the SEARCH did not see it
        started = time.monotonic()
        source.wait_for_mail(10)
        assert time.monotonic() - started < 1
        fetched = source.fetch_batch(10)
        assert [m.raw for m in fetched] == [chinese_mail(1)]
        source.mark_done([m.source_id for m in fetched])
        assert source.fetch_batch(10) == []  # a drain's end, as the daemon's
        started = time.monotonic()
        source.wait_for_mail(0.5)  # nothing new since: a real wait
        assert time.monotonic() - started >= 0.45


def test_mail_that_came_after_the_last_command_ends_the_wait_at_once(mailbox: Mailbox) -> None:
    """A mail delivered after the session's last command is told of as IDLE begins: Dovecot sends "* n EXISTS"
    with IDLE's "+ idling", in one read, and the news sat in the client's buffer while it waited on the socket
    until the timeout (a 30-second wait for one mail in 1,500 in bench/end_to_end.py's latency runs)."""
    with ImapSource(mailbox.settings()) as source:
        for n in range(3):
            assert source.fetch_batch(10) == []  # a drain's end: the last command before the wait
            mailbox.append("INBOX", chinese_mail(n))  # over another connection
            started = time.monotonic()
            source.wait_for_mail(5)
            assert time.monotonic() - started < 1
            fetched = source.fetch_batch(10)
            assert [m.raw for m in fetched] == [chinese_mail(n)]
            source.mark_done([m.source_id for m in fetched])
        assert source.fetch_batch(10) == []
        started = time.monotonic()
        source.wait_for_mail(0.5)  # nothing new since: a real wait
        assert time.monotonic() - started >= 0.45

"""Two daemons reading one mailbox (the requirements' several instances on PostgreSQL): each mail is one ticket
with one acknowledgement, and lands in the processed folder once. A mail the other daemon stored moments ago is
that daemon's to move; this one leaves it in the inbox, and moves it only once the other has plainly stopped
before moving it.

Real parts throughout: Dovecot, the database, and in the last test two `maildesk run` processes and aiosmtpd.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from maildesk.app import App
from maildesk.daemon import intake_pipeline
from maildesk.ingest.imap_source import ImapSource
from maildesk.ingest.outcome import Result
from maildesk.ingest.pipeline import LEFT_FOR_ITS_STORER
from tests.daemon_process import DaemonProcess
from tests.databases import new_pg_database
from tests.desk import desk_settings, mail, message_id_of, write_config
from tests.dovecot import Mailbox
from tests.smtp_sink import SmtpSink

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Shanghai


class Clock:
    """The desk's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def after(self, delta: timedelta) -> None:
        self.now = START + delta


def _processed(mailbox: Mailbox) -> Counter[bytes]:
    """The mails in the processed folder, by Message-ID: each should be there once."""
    return Counter(message_id_of(raw) for raw in mailbox.fetch("Processed").values())


def _mails(count: int) -> list[bytes]:
    return [mail(f"user{i}@example.com", f"打印机卡纸 #{i}", "财务部打印机卡纸。",
                 message_id=f"<p{i}@client.example.com>") for i in range(count)]


def _sources(mailbox: Mailbox) -> tuple[ImapSource, ImapSource]:
    return ImapSource(mailbox.settings()), ImapSource(mailbox.settings())


def test_a_mail_the_other_daemon_stored_moments_ago_is_left_for_it_to_move(app: App, mailbox: Mailbox) -> None:
    """Both daemons fetch the same five mails; the other stores them first. This one takes them as handled and
    leaves them in the inbox, saying so; the other moves them: five mails in the processed folder, once each."""
    mailbox.append_many("INBOX", _mails(5))
    clock = Clock()
    ours, theirs = intake_pipeline(app, clock), intake_pipeline(app, clock)
    our_source, their_source = _sources(mailbox)
    with our_source, their_source:
        our_batch, their_batch = our_source.fetch_batch(10), their_source.fetch_batch(10)
        clock.after(timedelta(seconds=1))
        stored = theirs.process(their_batch)
        clock.after(timedelta(seconds=2))
        found = ours.process(our_batch)
        assert [o.result for o in stored] == [Result.CREATED] * 5
        assert [(o.result, o.done) for o in found] == [(Result.ALREADY, False)] * 5
        assert all("left for it to move" in o.reason for o in found)
        our_source.mark_done([o.source_id for o in found if o.done])  # what the pipeline's drain does
        their_source.mark_done([o.source_id for o in stored if o.done])
    assert mailbox.uids("INBOX") == []
    assert _processed(mailbox) == Counter({f"<p{i}@client.example.com>": 1 for i in range(5)})


def test_a_mail_the_other_daemon_stored_and_never_moved_is_moved_once_it_has_plainly_stopped(
        app: App, mailbox: Mailbox) -> None:
    """The other daemon stores the mails and stops before moving them. Within LEFT_FOR_ITS_STORER this one leaves
    them in the inbox, pass after pass; after it, the next pass moves them. A daemon started after they were
    stored (the other one restarting, say) moves them at once, as does one that stored them itself and whose move
    failed."""
    mailbox.append_many("INBOX", _mails(3))
    clock = Clock()
    ours, theirs = intake_pipeline(app, clock), intake_pipeline(app, clock)
    our_source, their_source = _sources(mailbox)
    with our_source, their_source:
        clock.after(timedelta(seconds=1))
        assert [o.result for o in theirs.process(their_source.fetch_batch(10))] == [Result.CREATED] * 3
        for moment in (timedelta(seconds=2), LEFT_FOR_ITS_STORER):
            clock.after(moment)
            our_source.wait_for_mail(0)  # a new pass
            assert [o.done for o in ours.process(our_source.fetch_batch(10))] == [False] * 3
        assert len(mailbox.uids("INBOX")) == 3
        # the one that stored them, its move having failed: its own to move, at once
        clock.after(timedelta(seconds=3))
        their_source.wait_for_mail(0)
        again = theirs.process(their_source.fetch_batch(10))
        assert [(o.result, o.done) for o in again] == [(Result.ALREADY, True)] * 3
        # one started after they were stored, at once
        restarted = intake_pipeline(app, clock)
        our_source.wait_for_mail(0)
        assert [o.done for o in restarted.process(our_source.fetch_batch(10))] == [True] * 3
        # and this one, once their row is older than the while left for the other to move them
        clock.after(timedelta(seconds=1) + LEFT_FOR_ITS_STORER + timedelta(seconds=1))
        our_source.wait_for_mail(0)
        moved = ours.process(our_source.fetch_batch(10))
        assert [(o.result, o.done) for o in moved] == [(Result.ALREADY, True)] * 3
        our_source.mark_done([o.source_id for o in moved])
    assert mailbox.uids("INBOX") == []
    assert sorted(_processed(mailbox).values()) == [1, 1, 1]


REPORTERS = [f"u{i}@example.com" for i in range(300)]


def _two_daemons_config(tmp_path: Path, url: str, mailbox: Mailbox, smtp_sink: SmtpSink) -> list[Path]:
    """Two installations, each with its config, on one mailbox and one database."""
    configs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        settings = desk_settings(url, imap=(mailbox.host, mailbox.port, mailbox.user),
                                 smtp=(smtp_sink.host, smtp_sink.port), intake={"batch_size": 10})
        configs.append(write_config(tmp_path / name, settings))
    return configs


def _arriving() -> Iterator[bytes]:
    return iter([mail(r, f"问题 {i}", f"内容 {i}", message_id=f"<m{i}@client.example.com>")
                 for i, r in enumerate(REPORTERS)])


def _all_done(daemons: list[DaemonProcess], mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """Wait for an acknowledgement to every reporter and an empty inbox, then stop both daemons cleanly."""
    daemons[1].wait_for(lambda: {m.rcpt_tos[0] for m in smtp_sink.messages} >= set(REPORTERS), timeout=120,
                        label="an acknowledgement to every reporter")
    daemons[1].wait_for(lambda: mailbox.uids("INBOX") == [], timeout=30, label="an empty inbox")
    for daemon in daemons:
        code, _ = daemon.terminate()
        assert code == 0, daemon.log()


def _each_once_in_processed(mailbox: Mailbox) -> None:
    processed = _processed(mailbox)
    assert len(processed) == len(REPORTERS), len(processed)
    assert [k for k, n in processed.items() if n > 1] == []


@pytest.mark.slow
@pytest.mark.pg
def test_two_daemons_on_one_mailbox_store_ack_and_move_each_mail_once(
        tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """Two `maildesk run` processes on one mailbox and one PostgreSQL database while 300 mails arrive in waves:
    300 tickets, one acknowledgement each, no Message-ID sent twice, an empty inbox and 300 mails in the processed
    folder, once each, and nothing worse than a warning in either log."""
    with new_pg_database("two_daemons") as url:
        configs, arriving = _two_daemons_config(tmp_path, url, mailbox, smtp_sink), _arriving()
        mailbox.append_many("INBOX", [next(arriving) for _ in range(100)])
        daemons = [DaemonProcess(config, imap_password=mailbox.password) for config in configs]
        try:
            for daemon in daemons:
                daemon.wait_for_log("started:")
            for _ in range(4):
                mailbox.append_many("INBOX", [next(arriving) for _ in range(50)])
                time.sleep(0.3)
            _all_done(daemons, mailbox, smtp_sink)
        finally:
            for daemon in daemons:
                daemon.kill()
    for daemon in daemons:
        assert not [line for line in daemon.log().splitlines() if " ERROR " in line or "Traceback" in line]
    acks = Counter(m.rcpt_tos[0] for m in smtp_sink.messages if m.rcpt_tos[0] in REPORTERS)
    assert acks == Counter({r: 1 for r in REPORTERS})
    ids = [message_id_of(m.content) for m in smtp_sink.messages]
    assert len(ids) == len(set(ids))
    _each_once_in_processed(mailbox)


@pytest.mark.slow
@pytest.mark.pg
def test_one_of_two_daemons_killed_while_storing_and_restarted_leaves_each_mail_once_in_processed(
        tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink) -> None:
    """One of two daemons is killed (SIGKILL) while mail streams in, and started again. What it stored and had not
    moved yet, the other leaves to it, and the restarted one moves it at once: in the end every reporter is
    acknowledged, the inbox is empty and every mail is once in the processed folder."""
    with new_pg_database("two_daemons_kill") as url:
        configs, arriving = _two_daemons_config(tmp_path, url, mailbox, smtp_sink), _arriving()
        daemons = [DaemonProcess(config, imap_password=mailbox.password) for config in configs]
        try:
            for daemon in daemons:
                daemon.wait_for_log("started:")
            mailbox.append_many("INBOX", [next(arriving) for _ in range(150)])
            daemons[0].wait_for(lambda: "created" in daemons[0].log(), label="the first tickets")
            daemons[0].kill()
            assert "created" in daemons[0].log()
            mailbox.append_many("INBOX", [next(arriving) for _ in range(150)])
            daemons[0] = DaemonProcess(configs[0], imap_password=mailbox.password)
            daemons[0].wait_for_log("started:")
            _all_done(daemons, mailbox, smtp_sink)
        finally:
            for daemon in daemons:
                daemon.kill()
    assert "Traceback" not in daemons[1].log()
    _each_once_in_processed(mailbox)

"""The mailbox read one batch ahead (``ReadAhead``) against a real Dovecot: the next batch fetched while one
is stored, every call on the connection from one thread and one at a time, moves in order, failures raised to
the caller, a batch read ahead and not taken offered again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from maildesk.ingest.imap_server import ImapError
from maildesk.ingest.imap_source import ImapSource
from maildesk.ingest.read_ahead import ReadAhead
from maildesk.ingest.source import SourceMessage, SourceWrapper
from maildesk.stopping import Interrupted
from tests.dovecot import Mailbox
from tests.dovecot import dovecot as dovecot_fixture  # noqa: F401  (pytest finds fixtures by their name)
from tests.dovecot import mailbox as mailbox_fixture  # noqa: F401
from tests.test_imap_source import chinese_mail
from tests.waiting import wait_for


class Watched(SourceWrapper):
    """The IMAP source, noting each call: what, from which thread, and how many calls were in flight."""

    def __init__(self, source: ImapSource) -> None:
        super().__init__(source)
        self.calls: list[tuple[str, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.fetches_begun = 0
        self._lock = threading.Lock()

    def _watched(self, what: str, call: Callable[[], Any]) -> Any:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.calls.append((what, threading.current_thread().name))
            if what == "fetch":
                self.fetches_begun += 1
        try:
            time.sleep(0.01)  # long enough for an overlapping call to show
            return call()
        finally:
            with self._lock:
                self.in_flight -= 1

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        batch: list[SourceMessage] = self._watched("fetch", lambda: self.source.fetch_batch(limit, max_bytes))
        return batch

    def mark_done(self, source_ids: Sequence[str]) -> None:
        self._watched("move", lambda: self.source.mark_done(source_ids))


def subjects(batch: list[SourceMessage]) -> list[int]:
    """The numbers of ``chinese_mail`` in a batch, in order."""
    marker = "编号 ".encode("gb18030")
    return [int(m.raw[m.raw.index(marker) + len(marker):].split()[0]) for m in batch]


def test_the_next_batch_is_fetched_while_one_is_stored_and_every_mail_comes_once(mailbox: Mailbox) -> None:
    """Seven mails taken three at a time: once a batch is handed out the next is fetched without being asked
    (in the read-ahead thread), each mail comes once in arrival order, and the stored ones end up in Processed."""
    mailbox.append_many("INBOX", [chinese_mail(n) for n in range(7)])
    imap = ImapSource(mailbox.settings(batch_size=3))
    watched = Watched(imap)
    reading = ReadAhead(watched)
    try:
        taken: list[int] = []
        while batch := reading.fetch_batch(3):
            # the batch in hand is "being stored": the next fetch begins meanwhile
            assert wait_for(lambda: watched.fetches_begun == len(taken) // 3 + 2), watched.calls
            taken.extend(subjects(batch))
            reading.mark_done([m.source_id for m in batch])
        reading.settle()
        assert taken == list(range(7))
        assert watched.most_in_flight == 1  # one call on the connection at a time
        assert {thread for _, thread in watched.calls} == {"maildesk-read-ahead"}
        # each batch's move after the fetch of the next: the order of calls on the connection
        assert [what for what, _ in watched.calls] == ["fetch", "fetch", "move", "fetch", "move", "fetch", "move"]
        assert len(mailbox.uids("INBOX")) == 0 and len(mailbox.uids("Processed")) == 7
    finally:
        reading.close()


def test_a_batch_read_ahead_and_not_taken_stays_in_the_inbox_and_comes_in_the_next_pass(mailbox: Mailbox) -> None:
    """A drain that ends after its first batch (a limit, a stop): the batch fetched ahead is dropped at the
    drain's end, nothing of it moved, and the next pass offers it."""
    mailbox.append_many("INBOX", [chinese_mail(n) for n in range(4)])
    reading = ReadAhead(ImapSource(mailbox.settings(batch_size=2)))
    try:
        first = reading.fetch_batch(2)
        reading.mark_done([m.source_id for m in first])
        reading.settle()
        assert subjects(first) == [0, 1]
        assert len(mailbox.uids("INBOX")) == 2 and len(mailbox.uids("Processed")) == 2
        reading.wait_for_mail(0)  # a new pass
        assert subjects(reading.fetch_batch(2)) == [2, 3]
    finally:
        reading.close()


@pytest.mark.parametrize("started", [False, True], ids=["before-it-starts", "while-it-starts"])
def test_a_stop_that_lands_while_the_thread_starts_leaves_nothing_to_join_and_no_thread(
        mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, started: bool) -> None:
    """SIGTERM during a fetch: the stop's ``Interrupted`` may be raised by the signal handler while the read-ahead
    thread is being started (``Thread.start`` waits for it to begin). Settling then must not fail (the daemon
    once ended with "cannot join thread before it is started"), a thread that did start ends, and the mail
    stays in the inbox for the next pass. Mocked: a signal cannot be made to land at that instruction for real,
    so ``Thread.start`` raises as the handler would, once."""
    mailbox.append("INBOX", chinese_mail(0))
    real_start = threading.Thread.start

    def start_then_stop(thread: threading.Thread) -> None:
        monkeypatch.setattr(threading.Thread, "start", real_start)
        if started:
            real_start(thread)
        raise Interrupted

    reading = ReadAhead(ImapSource(mailbox.settings(batch_size=5)))
    try:
        monkeypatch.setattr(threading.Thread, "start", start_then_stop)
        with pytest.raises(Interrupted):
            reading.fetch_batch(5)
        reading.settle(timeout=0, raising=False)  # the daemon's way out of a drain a stop cut short
        assert wait_for(lambda: not any(t.name == "maildesk-read-ahead" for t in threading.enumerate()))
        assert len(mailbox.uids("INBOX")) == 1
        assert subjects(reading.fetch_batch(5)) == [0]  # the next pass takes it
    finally:
        reading.close()


def test_a_smaller_ask_gets_no_more_than_it_asked_and_the_rest_next(mailbox: Mailbox) -> None:
    """Read ahead three at a time, then asked for two: two, then the one left, then the next batch."""
    mailbox.append_many("INBOX", [chinese_mail(n) for n in range(5)])
    reading = ReadAhead(ImapSource(mailbox.settings(batch_size=3)))
    try:
        assert subjects(reading.fetch_batch(3)) == [0, 1, 2]
        assert subjects(reading.fetch_batch(2)) == [3, 4]
        assert reading.fetch_batch(2) == []
    finally:
        reading.close()


def test_the_batch_read_ahead_shows_as_upcoming_once_it_is_there_and_is_what_comes_next(mailbox: Mailbox) -> None:
    """``upcoming`` never waits: nothing before the first batch is taken, the next batch once its fetch is done
    (the very mail objects the next ``fetch_batch`` hands out, so the parsing process's answer for them fits),
    and what is left of a smaller ask."""
    mailbox.append_many("INBOX", [chinese_mail(n) for n in range(5)])
    reading = ReadAhead(ImapSource(mailbox.settings(batch_size=3)))
    try:
        assert reading.upcoming(3) == []  # nothing asked for yet: the first fetch is the caller's own
        first = reading.fetch_batch(3)
        assert subjects(first) == [0, 1, 2]
        assert wait_for(lambda: reading.upcoming(3) != [])
        upcoming = reading.upcoming(3)
        assert subjects(upcoming) == [3, 4] and subjects(reading.upcoming(1)) == [3]
        taken = reading.fetch_batch(1)
        assert [m.raw for m in taken] == [m.raw for m in upcoming[:1]] and taken[0].raw is upcoming[0].raw
        assert subjects(reading.upcoming(3)) == [4]  # the rest of what was read
        assert subjects(reading.fetch_batch(3)) == [4]
    finally:
        reading.close()


def test_a_move_that_fails_is_raised_at_the_next_call(mailbox: Mailbox) -> None:
    """The processed folder deleted under the daemon: the MOVE in the read-ahead thread fails, and the next
    fetch raises it, naming the move, instead of the drain going on as if the mail had been moved."""
    mailbox.append_many("INBOX", [chinese_mail(n) for n in range(4)])
    reading = ReadAhead(ImapSource(mailbox.settings(batch_size=2)))
    try:
        batch = reading.fetch_batch(2)
        client = mailbox.client()
        client.delete_folder("Processed")
        client.logout()
        reading.mark_done([m.source_id for m in batch])  # returns at once: the move is the thread's
        time.sleep(1.0)  # the move has failed by now (a local MOVE takes milliseconds)
        with pytest.raises(ImapError, match="mark_done"):
            reading.fetch_batch(2)
        assert len(mailbox.uids("INBOX")) == 4  # nothing moved, nothing lost
    finally:
        reading.close()


def padded_mail(n: int, size: int) -> bytes:
    """``chinese_mail(n)`` with a line of padding, about ``size`` bytes in all."""
    raw = chinese_mail(n)
    return raw + b"x" * max(0, size - len(raw) - 2) + b"\r\n"


def test_the_batch_read_ahead_gets_only_what_the_batch_in_hand_leaves_of_the_bytes(mailbox: Mailbox) -> None:
    """Batches of at most 25 kB of 10 kB mails: two in hand leave 5 kB, so the batch read ahead is the one
    mail a source hands out however large; a mail that fills the bytes alone is read with nothing ahead."""
    mailbox.append_many("INBOX", [padded_mail(n, 10_000) for n in range(4)] + [padded_mail(4, 30_000)]
                        + [padded_mail(5, 1_000)])
    watched = Watched(ImapSource(mailbox.settings(batch_size=10)))
    reading = ReadAhead(watched)
    try:
        assert subjects(reading.fetch_batch(10, 25_000)) == [0, 1]
        assert subjects(reading.fetch_batch(10, 25_000)) == [2]  # read ahead in the 5 kB left
        assert subjects(reading.fetch_batch(10, 25_000)) == [3]  # read ahead in the 15 kB left: mail 4 is 30 kB
        big = reading.fetch_batch(10, 25_000)
        assert subjects(big) == [4]
        time.sleep(0.3)
        assert watched.fetches_begun == 4  # the 30 kB mail fills the bytes: nothing read ahead of it
        assert subjects(reading.fetch_batch(10, 25_000)) == [5]
    finally:
        reading.close()

"""Parsing alongside storing: a process of its own parses a batch's next group of mail while the daemon stores
the group before it.

Parsing needs nothing but the mail's bytes, and storing keeps the daemon's process busy; a forked
process uses the second core (measured on the heavy corpus of `bench/end_to_end.py`: parsing is
1.5 ms of a mail's 10 ms, and with the child the daemon's own share of it is 0.3 ms). A batch's
first group is parsed while the batch before stores its last, if the mailbox has read it by then
(``upcoming``: the daemon's read-ahead over IMAP); otherwise the parent parses its first half while
the child parses the rest. From then on the child works one group ahead: while the parent stores
group k, the child parses group k+1. One request is out at a time, so neither end can block writing
to a full pipe while the other does too: an answer left unread (the batch failed in between, or the
group asked for ahead was not the next batch's after all) is read and dropped before the next request.

The child gets the raw bytes and answers each mail parsed without them (the parent has them; sending
them back would double what crosses the pipe), or None where parsing raised: the parent then parses
that mail itself, so a failure reads as it does without the child. Should the child end (killed, out
of memory) or not answer, the parent says so once and parses in its own process from then on.

Forked, like the sender (``maildesk.outbound.alongside``), before any thread of the daemon starts; it
touches neither the database nor the mailbox. It ignores SIGINT and SIGTERM and ends when told or
when its pipe closes (the parent ended), so a stopping daemon finishes its batch with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import pickle
import signal
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

from maildesk.ingest.parse import parse_or_error
from maildesk.mail import InboundMail

log = logging.getLogger(__name__)

Parsed = list[InboundMail | Exception]
# a group of mails parsed, one way or the other: the pipeline stores them a group to a transaction
ParseGroups = Callable[[Sequence[Sequence[bytes]]], Iterator[Parsed]]
# a group of 25 heavy mails parses in well under a second; this only bounds a wedged child
ANSWER_SECONDS = 60.0
_ENDING_SIGNALS = {signal.SIGTERM, signal.SIGINT}
PROCESS_NAME = "maildesk-parse"


def parse_group(group: Sequence[bytes]) -> Parsed:
    """One group parsed in this process."""
    return [parse_or_error(raw) for raw in group]


def parse_in_process(groups: Sequence[Sequence[bytes]]) -> Iterator[Parsed]:
    """Each group parsed in this process, as it is asked for."""
    for group in groups:
        yield parse_group(group)


class ParsingAlongside:
    """A forked process that parses the next group while the caller stores this one (``groups``)."""

    def __init__(self, *, before_fork: Callable[[], None] | None = None,
                 upcoming: Callable[[], Sequence[bytes]] | None = None) -> None:
        """``upcoming``: the next batch's first group, if the mailbox has read it already (else empty)."""
        self._before_fork = before_fork
        self._upcoming = upcoming
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._asked = 0  # the number of the last request sent
        self._unread: int | None = None  # the request whose answer is not read yet
        self._ahead: list[bytes] | None = None  # what that request asked, when it was a next batch's first group

    def start(self) -> ParsingAlongside:
        if self._before_fork is not None:
            self._before_fork()
        fork = multiprocessing.get_context("fork")
        ours, theirs = fork.Pipe()
        self._process = fork.Process(target=_serve, args=(theirs, ours), name="maildesk parsing", daemon=True)
        # held back until the child ignores them: a SIGTERM to the whole service just now must not kill it
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _ENDING_SIGNALS)
        try:
            self._process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        theirs.close()
        self._conn = ours
        return self

    @property
    def pid(self) -> int | None:
        """The child's process id; None once it has been stopped, or given up on."""
        return self._process.pid if self._process is not None else None

    def groups(self, groups: Sequence[Sequence[bytes]]) -> Iterator[Parsed]:
        """Each group parsed, in order: the first by the child ahead of the batch or by both processes, each later
        one by the child while the caller stores the one before (should the child have ended, here); while the
        caller stores the last, the child parses the next batch's first group if it is known."""
        if not groups:
            return
        first = self._taken_ahead(groups[0])
        if first is None:
            first = self._shared(groups[0])
        asked = self._ask_next(groups, 1)  # before the caller stores the first
        yield first
        for k in range(1, len(groups)):
            answer = self._answer(asked, groups[k]) if asked is not None else None
            asked = self._ask_next(groups, k + 1)
            yield answer if answer is not None else parse_group(groups[k])

    def _ask_next(self, groups: Sequence[Sequence[bytes]], k: int) -> int | None:
        """Group ``k`` asked for; past the batch's end, the next batch's first group if the mailbox has read it
        (its answer is for that batch: None here)."""
        if k < len(groups):
            return self._ask(groups[k])
        group = list(self._upcoming()) if self._upcoming is not None else []
        if group and self._ask(group) is not None:
            self._ahead = group
        return None

    def _taken_ahead(self, group: Sequence[bytes]) -> Parsed | None:
        """The answer for ``group`` if it was asked for ahead (the same mails: the same bytes objects)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None or self._unread is None or len(ahead) != len(group):
            return None
        if any(a is not b for a, b in zip(ahead, group, strict=True)):
            return None  # not this batch's after all: the answer is dropped at the next request
        return self._answer(self._unread, group)

    def _shared(self, group: Sequence[bytes]) -> Parsed:
        """A batch's first group, which nothing was parsing ahead of: its first half parsed here while the child
        parses the rest."""
        half = (len(group) + 1) // 2
        asked = self._ask(group[half:]) if len(group) > 1 else None
        here = parse_group(group[:half])
        there = self._answer(asked, group[half:]) if asked is not None else None
        return here + (there if there is not None else parse_group(group[half:]))

    def _ask(self, group: Sequence[bytes]) -> int | None:
        if self._unread is not None:  # read first: the child may be writing it, and block until it is read
            self._receive(self._unread)
            self._ahead = None
        if self._conn is None:
            return None
        self._asked += 1
        try:
            self._conn.send((self._asked, list(group)))
        except OSError:
            self._ended("it had ended")
            return None
        self._unread = self._asked
        return self._asked

    def _answer(self, asked: int, group: Sequence[bytes]) -> Parsed | None:
        """The child's answer to request ``asked``, the raw bytes put back; None when it has none to give."""
        mails = self._receive(asked)
        if mails is None:
            return None
        return [parse_or_error(raw) if mail is None else dataclasses.replace(mail, raw=raw)
                for raw, mail in zip(group, mails, strict=True)]

    def _receive(self, asked: int) -> list[InboundMail | None] | None:
        """The child's answer to request ``asked``, as it sent it; None when it has none to give."""
        conn, self._unread = self._conn, None
        if conn is None:
            return None
        try:
            while True:
                if not conn.poll(ANSWER_SECONDS):
                    self._ended(f"it gave no answer within {ANSWER_SECONDS:.0f} s")
                    return None
                number, mails = conn.recv()
                if number == asked:  # not an earlier one: each is read before the next request (kept as a check)
                    return list(mails)
        except (EOFError, OSError):
            self._ended("it ended")
            return None

    def _ended(self, why: str) -> None:
        process = self._process
        self.stop()  # joined (it is gone, or ended now): its exit code is known
        code = process.exitcode if process is not None else None
        log.error("intake: the parsing process failed (%s%s); parsing in the daemon's own process from now on",
                  why, "" if code is None else f", exit code {code}")

    def stop(self) -> None:
        """End the child (it is waiting for mail, or parsing one group: either ends at once)."""
        conn, process, self._conn, self._process = self._conn, self._process, None, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send(None)
            conn.close()
        if process is not None:
            process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join()

    def __enter__(self) -> ParsingAlongside:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _serve(conn: Connection, parents_end: Connection) -> None:
    """The child: parse each group sent, answer it; end on None or when the parent is gone."""
    parents_end.close()  # its copy, forked along: kept open here, the parent's death would not close the pipe
    with contextlib.suppress(OSError):  # the name `ps` and `top` show (Linux), told apart from the daemon's
        Path("/proc/self/comm").write_text(PROCESS_NAME)
    # the parent's handlers and wake-up pipe came along with the fork; the parent tells the child when to end
    signal.set_wakeup_fd(-1)
    for signum in _ENDING_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _ENDING_SIGNALS)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        number, group = request
        answer: list[InboundMail | None] = []
        for raw in group:
            mail = parse_or_error(raw)
            if isinstance(mail, Exception):
                answer.append(None)
                continue
            for part in mail.attachments:  # worked out here, on the second core: the daemon records each one's
                _ = part.sha256
            answer.append(dataclasses.replace(mail, raw=b""))
        try:
            try:
                conn.send((number, answer))
            except (pickle.PicklingError, TypeError, AttributeError):  # a value that cannot cross: the parent parses
                conn.send((number, [None] * len(answer)))
        except OSError:
            return

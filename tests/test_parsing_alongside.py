"""The parsing process beside intake: what it parses is what the daemon's own process would have parsed, a
mail that fails to parse fails as it would have, and the daemon goes on parsing by itself when the process ends;
the process ends with its parent, whatever the parent's end.

The mails are the odd ones of tests/fixtures/mail (eight charsets, broken MIME, attachments, reports); the
daemon's real use of the process, over IMAP, is the last test."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import maildesk.ingest.parse
import maildesk.ingest.parsing_alongside
from maildesk.ingest.parsing_alongside import PROCESS_NAME, ParsingAlongside, parse_in_process
from maildesk.ingest.pipeline import TRANSACTION_MAILS
from maildesk.mail import InboundMail
from tests.daemon_process import DaemonProcess, children, ended, named
from tests.desk import desk_settings, mail, write_config
from tests.dovecot import Mailbox
from tests.smtp_sink import SmtpSink
from tests.waiting import wait_for

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "mail").glob("*.eml"))


def _groups(size: int = 5) -> list[list[bytes]]:
    raws = [f.read_bytes() for f in FIXTURES]
    return [raws[i:i + size] for i in range(0, len(raws), size)]


def test_the_process_parses_every_group_as_the_daemons_own_process_does() -> None:
    groups = _groups()
    assert len(groups) >= 4 and len(FIXTURES) >= 20
    with ParsingAlongside() as parsing:
        child = parsing.pid
        alongside = list(parsing.groups(groups))
        assert parsing.pid == child  # still there, still the same one: nothing fell back
    here = list(parse_in_process(groups))
    assert alongside == here
    # the raw bytes are the parent's own (they were not sent back), every one of them
    assert [m.raw for g in alongside for m in g if isinstance(m, InboundMail)] == [r for g in groups for r in g]


def test_the_first_group_of_a_batch_is_parsed_by_both_processes_and_the_rest_by_the_child(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Which process parsed a mail is marked in its subject, by a parser wrapped before the fork (so the child has
    the wrapper too): nothing is parsed ahead of a batch's first group, so the daemon parses half of it while the
    child parses the other half, and the child every later group while the daemon stores the one before."""
    real = maildesk.ingest.parsing_alongside.parse_or_error

    def parse_or_error(raw: bytes) -> InboundMail | Exception:
        parsed = real(raw)
        return dataclasses.replace(parsed, subject=str(os.getpid())) if isinstance(parsed, InboundMail) else parsed

    monkeypatch.setattr(maildesk.ingest.parsing_alongside, "parse_or_error", parse_or_error)
    groups = _groups()[:3]
    with ParsingAlongside() as parsing:
        child = str(parsing.pid)
        by = [[m.subject for m in group if isinstance(m, InboundMail)] for group in parsing.groups(groups)]
    here = str(os.getpid())
    assert by == [[here, here, here, child, child], [child] * 5, [child] * 5]


def test_the_next_batchs_first_group_is_parsed_by_the_child_while_the_last_group_is_stored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the mailbox has read the next batch already (``upcoming``), the child parses its first group while the
    daemon stores this batch's last: the daemon parses none of the next batch, and it gets its own mails."""
    real = maildesk.ingest.parsing_alongside.parse_or_error

    def parse_or_error(raw: bytes) -> InboundMail | Exception:
        parsed = real(raw)
        return dataclasses.replace(parsed, subject=str(os.getpid())) if isinstance(parsed, InboundMail) else parsed

    monkeypatch.setattr(maildesk.ingest.parsing_alongside, "parse_or_error", parse_or_error)
    groups = _groups()
    batch, next_batch = groups[:2], groups[2:4]
    upcoming: list[bytes] = []
    with ParsingAlongside(upcoming=lambda: upcoming) as parsing:
        child = str(parsing.pid)
        upcoming = next_batch[0]
        first = list(parsing.groups(batch))
        upcoming = []
        second = list(parsing.groups(next_batch))
    here = str(os.getpid())
    by = [[m.subject for m in group if isinstance(m, InboundMail)] for group in [*first, *second]]
    assert by == [[here, here, here, child, child], [child] * 5, [child] * 5, [child] * 5]
    assert [m.raw for g in second for m in g if isinstance(m, InboundMail)] == [r for g in next_batch for r in g]


@pytest.mark.timeout(60)
def test_a_group_asked_for_ahead_that_does_not_come_is_dropped_and_the_next_batch_gets_its_own_mails() -> None:
    """The mailbox's next batch turned out otherwise (a stop, a smaller ask): the answer for the group asked ahead
    is read and dropped before anything else is asked. The mails are big both ways, so that the child's answer
    and the next request each fill the pipe: were one written while the other was, both ends would wait forever."""
    def big(n: int) -> bytes:
        return mail("a@example.com", f"大附件 {n}", "见附件。", message_id=f"<big{n}@example.com>",
                    attachments=(("日志.zip", "application/zip", os.urandom(1_500_000)),))

    batch, not_coming, next_batch = [[big(0)]], [big(n) for n in range(1, 4)], [[big(n) for n in range(4, 7)]]
    with ParsingAlongside(upcoming=lambda: not_coming) as parsing:
        child = parsing.pid
        assert list(parsing.groups(batch)) == list(parse_in_process(batch))
        assert list(parsing.groups(next_batch)) == list(parse_in_process(next_batch))
        assert parsing.pid == child  # nothing fell back


def test_the_process_works_out_each_attachments_digest_for_the_daemon() -> None:
    """The digest (the key the content is stored by) comes back with the mail: the daemon does not hash again."""
    groups = _groups()
    with ParsingAlongside() as parsing:
        parsed = list(parsing.groups(groups))
    parts = [a for group in parsed[1:] for m in group if isinstance(m, InboundMail) for a in m.attachments]
    assert len(parts) >= 3
    for part in parts:
        assert part.__dict__["sha256"] == hashlib.sha256(part.data).hexdigest()  # there before anything asked


def test_a_mail_the_parser_fails_on_fails_as_it_would_without_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_mail reads anything; what it did not foresee is injected here (a mock: no real mail does it yet),
    in the parent before the fork, so the child has it too. The mail's failure is the parser's own exception."""
    real = maildesk.ingest.parse.parse_mail

    def parse_mail(raw: bytes) -> InboundMail:
        if b"BOOM" in raw:
            raise LookupError("unknown encoding: x-boom")
        return real(raw)

    monkeypatch.setattr(maildesk.ingest.parse, "parse_mail", parse_mail)
    groups = _groups()
    groups[2][1] = b"From: a@example.com\r\nSubject: BOOM\r\n\r\nbody\r\n"
    with ParsingAlongside() as parsing:
        parsed = list(parsing.groups(groups))
    failed = parsed[2][1]
    assert isinstance(failed, LookupError) and str(failed) == "unknown encoding: x-boom"
    assert sum(isinstance(m, Exception) for g in parsed for m in g) == 1


def test_when_the_process_is_killed_the_batch_is_parsed_here_and_the_log_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    groups = _groups()
    parsing = ParsingAlongside().start()
    child = parsing.pid
    assert child is not None
    parsed = parsing.groups(groups)
    with caplog.at_level(logging.ERROR, logger="maildesk.ingest.parsing_alongside"):
        first = next(parsed)  # the second group is with the child by now
        os.kill(child, signal.SIGKILL)
        rest = list(parsed)
        again = list(parsing.groups(groups))  # the next batch: here from the start
    assert [first, *rest] == list(parse_in_process(groups)) == again
    (said,) = [r.getMessage() for r in caplog.records]  # found out reading its answer, or sending it the next group
    assert re.fullmatch(r"intake: the parsing process failed \(it (had )?ended, exit code -9\); "
                        r"parsing in the daemon's own process from now on", said), said
    assert parsing.pid is None and ended(child)


def test_an_answer_left_unread_by_a_failed_batch_is_not_taken_for_the_next_batchs() -> None:
    """A batch whose storing fails stops asking for its groups with one already sent to the child; the next batch
    gets its own mails, not that answer."""
    first_batch, next_batch = _groups(3)[:3], _groups(4)[2:5]
    with ParsingAlongside() as parsing:
        abandoned = parsing.groups(first_batch)
        next(abandoned)  # the child is parsing the second group; the batch's storing fails here
        del abandoned
        assert list(parsing.groups(next_batch)) == list(parse_in_process(next_batch))


def test_sigterm_and_sigint_leave_the_process_parsing_until_the_daemon_is_done_with_it() -> None:
    """systemd sends SIGTERM to every process of the service, a terminal sends SIGINT to the foreground group: the
    daemon finishes its batch, with the process, and then ends it."""
    groups = _groups()
    with ParsingAlongside() as parsing:
        child = parsing.pid
        assert child is not None
        os.kill(child, signal.SIGTERM)
        os.kill(child, signal.SIGINT)
        assert list(parsing.groups(groups)) == list(parse_in_process(groups))
        assert parsing.pid == child
    assert wait_for(lambda: ended(child))


_PARENT = """
import os, sys, time
from maildesk.ingest.parsing_alongside import ParsingAlongside
parsing = ParsingAlongside().start()
print(parsing.pid, flush=True)
time.sleep(60)
"""


def test_the_process_ends_when_the_daemon_is_killed() -> None:
    with subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert not ended(child)
        parent.kill()  # no goodbye: the pipe to the child just closes
    assert wait_for(lambda: ended(child), 5)


@pytest.mark.slow
def test_the_serving_daemon_parses_alongside_and_goes_on_alone_when_that_process_is_killed(
    tmp_path: Path, mailbox: Mailbox, smtp_sink: SmtpSink,
) -> None:
    """`maildesk run` has a process named for what it does; killed, the daemon says so once and takes the next
    mails (two groups, which it would have shared with the process) itself, every one of them answered."""
    settings = desk_settings(f"sqlite:///{tmp_path / 'desk.db'}", imap=(mailbox.host, mailbox.port, mailbox.user),
                             smtp=(smtp_sink.host, smtp_sink.port))
    daemon = DaemonProcess(write_config(tmp_path, settings), imap_password=mailbox.password)
    try:
        daemon.wait_for_log("IMAP connected")
        (parser,) = [c for c in children(daemon.process.pid) if named(c) == PROCESS_NAME]
        os.kill(parser, signal.SIGKILL)
        reporters = [f"u{i}@example.com" for i in range(2 * TRANSACTION_MAILS)]
        mailbox.append_many("INBOX", [mail(r, f"打印机卡纸 {i}", "三楼打印机一直卡纸。")
                                      for i, r in enumerate(reporters)])
        daemon.wait_for(lambda: {m.rcpt_tos[0] for m in smtp_sink.messages} >= set(reporters),
                        label="every acknowledgement")
        code, _seconds = daemon.terminate()
    finally:
        daemon.kill()
    assert code == 0
    assert daemon.log().count("intake: the parsing process failed") == 1
    assert "Traceback" not in daemon.log()
    assert len(mailbox.uids("Processed")) == len(reporters)

"""The daemon: take mail in, keep the periodic jobs going, deliver the outbox; stop on SIGTERM in seconds.

The main thread alternates between draining the mailbox and waiting for mail (IMAP IDLE, or
polling); periodic jobs run on an APScheduler background thread, each job once at a time and
coalesced when late. SIGTERM (maildesk.stopping) cuts a wait, a read from the mailbox or a
back-off short at once; a batch being stored commits or rolls back, then the outbox gets a
last flush of a few seconds and the process exits 0, within STOP_SECONDS in every state.

When the mailbox or the database fails, the daemon says so in one log line, keeps the rest
going, and tries again later; it never moves a mail out of the inbox that it has not stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.exc import SQLAlchemyError

from maildesk import __version__
from maildesk.app import App
from maildesk.config import Settings
from maildesk.config_text import shown_url
from maildesk.desk.intake import DeskHandler
from maildesk.errors import ConfigError, MaildeskError
from maildesk.heartbeat import HEARTBEAT_SECONDS, Heartbeat, PassState
from maildesk.ingest.file_source import MaildirSource
from maildesk.ingest.imap_server import ImapConnectionError, ImapSettings
from maildesk.ingest.imap_source import ImapSource
from maildesk.ingest.outcome import Outcome
from maildesk.ingest.parsing_alongside import ParsingAlongside, parse_in_process
from maildesk.ingest.pipeline import TRANSACTION_MAILS, Pipeline
from maildesk.ingest.read_ahead import ReadAhead
from maildesk.ingest.source import MailSource, SourceMessage, SourceWrapper
from maildesk.outbound.alongside import SendingAlongside
from maildesk.outbound.sender import FlushResult, flush_outbox_sync
from maildesk.stopping import Interrupted, StopSignal
from maildesk.store.dberrors import describe_failure

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
OUTAGE_PAUSE = 60.0  # after the mailbox stayed unreachable through the source's own reconnects
DB_PAUSES = (5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0)  # after a database failure, growing
# the outbox's last flush when stopping claims for this long, and what is being sent then gets
# sender.STOP_GRACE more: about 4 s in all, so that stopping stays well under STOP_SECONDS
FINAL_FLUSH_SECONDS = 2.0
FLUSH_LOCK_WAIT = 2.0  # how long stopping waits for a flush the scheduler is finishing
# how long a drain ended by a stop waits for the mailbox's read-ahead thread to finish moving the stored mail
STOPPING_SETTLE_SECONDS = 2.0


def utc_now() -> datetime:
    return datetime.now(UTC)


# ``run --once`` is a command someone waits for: a mailbox that does not answer within a few
# seconds is an error to report, not an outage to sit out as the daemon does
ONCE_RECONNECT_ATTEMPTS = 3


def open_source(app: App, *, once: bool = False) -> MailSource:
    """The intake the config names: the IMAP mailbox, or a local Maildir."""
    s = app.settings
    if s.mailbox.kind == "maildir":
        return MaildirSource(s.path(s.mailbox.path))
    i = s.imap
    if not i.username:
        raise ConfigError("imap.username", "empty: the mailbox login is needed to read mail over IMAP "
                          "(or set mailbox.kind = \"maildir\")")
    password = s.secret(i.password_env)
    if not password:
        raise ConfigError("imap.password_env", f"the environment variable {i.password_env} (the IMAP password "
                          f"of {i.username}) is not set")
    return ImapSource(ImapSettings(
        host=i.host, port=i.port, security=i.security, username=i.username,
        password=password, folder=i.folder, processed_folder=i.processed_folder,
        quarantine_folder=i.quarantine_folder, batch_size=i.batch_size, idle=i.idle,
        poll_seconds=i.poll_seconds, timeout=i.timeout, ca_file=str(s.path(i.ca_file)) if i.ca_file else "",
        **({"reconnect_attempts": ONCE_RECONNECT_ATTEMPTS} if once else {}),
    ))


def intake_pipeline(app: App, clock: Clock) -> Pipeline:
    """The intake pipeline of ``app``: mail read from a source, handed to the desk, exactly once."""
    return Pipeline(app.store, app.settings, app.desk.addresses, DeskHandler(app.desk), clock)


def describe_mailbox(settings: Settings) -> str:
    """Where the daemon takes mail from, for the start-up line and ``status``."""
    if settings.mailbox.kind == "maildir":
        return f"maildir {settings.path(settings.mailbox.path)}"
    i = settings.imap
    return f"imap://{i.username}@{i.host}:{i.port}/{i.folder} ({i.security})"


def describe_transport(settings: Settings) -> str:
    smtp = settings.smtp
    if smtp.transport == "smtp":
        return f"smtp {smtp.host}:{smtp.port} ({smtp.security})"
    if smtp.transport == "file":
        return f"file {settings.path(smtp.directory)} (mail is written to files, not sent)"
    return "console (mail is printed, not sent)"


@dataclass
class PassSummary:
    outcomes: list[Outcome] = field(default_factory=list)
    flushed: FlushResult = field(default_factory=FlushResult)
    jobs: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.result] = out.get(o.result, 0) + 1
        return out


class _Intake(SourceWrapper):
    """The source as the daemon's main loop uses it: reading may be cut short by a stop (nothing is
    stored yet), moving mail that was stored is not (it completes the pass)."""

    def __init__(self, source: MailSource, stopper: StopSignal) -> None:
        super().__init__(source)
        self.stopper = stopper

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        if self.stopper.requested.is_set():
            return []  # ends the drain: the mail stays in the inbox for the next start
        with self.stopper.interruptible():
            return self.source.fetch_batch(limit, max_bytes)

    def wait_for_mail(self, timeout: float) -> None:
        with self.stopper.interruptible():
            self.source.wait_for_mail(timeout)


class Daemon:
    def __init__(self, app: App, source: MailSource, clock: Clock = utc_now) -> None:
        self.app = app
        self.source = source
        # over IMAP the next batch is fetched, and the stored one moved, while a batch is stored (``read_ahead``)
        self._reading: MailSource = ReadAhead(source) if isinstance(source, ImapSource) else source
        self.clock = clock
        self.pipeline = intake_pipeline(app, clock)
        self._stop = threading.Event()
        self.stopper = StopSignal(self._stop)
        self.state = PassState()
        # the main loop and the scheduler's outbox job take turns: the outbox's claims keep them
        # from sending a mail twice anyway, but one flush at a time keeps to smtp.connections
        self._flushing = threading.Lock()
        self._db_failures = 0
        self._sender: SendingAlongside | None = None  # the serving daemon's sending process, over SMTP
        self._sender_lock = threading.Lock()  # the main loop and the scheduler's outbox job both kick it
        self._parsing: ParsingAlongside | None = None  # the serving daemon's parsing process

    def flush(self) -> FlushResult:
        """Deliver the due outbox rows; waits for a flush already running in this daemon. A stop
        request ends it within a couple of seconds, the rest left for later."""
        with self._flushing:
            return self.flush_only(self.app, self.clock, stop=self._stop)

    @staticmethod
    def flush_only(app: App, clock: Clock, *, stop: threading.Event | None = None,
                   time_limit: float | None = None) -> FlushResult:
        """Deliver the due outbox rows (no mailbox needed)."""
        return flush_outbox_sync(app.store, app.transport, app.settings.smtp, clock, tz=app.settings.tz,
                                 stop=stop, time_limit=time_limit)

    def _flush_in_child(self) -> tuple[Callable[[], FlushResult], threading.Event]:
        """The sender alongside intake, made in its forked process: connections of its own to the database
        (the parent's are the parent's), the same settings and clock."""
        app, stop = App(self.app.settings), threading.Event()
        return (lambda: self.flush_only(app, self.clock, stop=stop)), stop

    def _sender_process(self) -> SendingAlongside:
        return SendingAlongside(self._flush_in_child, stopping=self._stop, before_fork=self.app.store.before_fork)

    def _parsing_process(self) -> ParsingAlongside:
        return ParsingAlongside(before_fork=self.app.store.before_fork, upcoming=self._next_group)

    def _next_group(self) -> list[bytes]:
        """The first group of the batch the mailbox has read ahead, if it is there yet: the parsing process begins
        on it while the batch in hand stores its last group."""
        if not isinstance(self._reading, ReadAhead):
            return []
        return [m.raw for m in self._reading.upcoming(self.app.settings.intake.batch_size)[:TRANSACTION_MAILS]]

    def drain(self, after_batch: Callable[[], object] | None = None) -> list[Outcome]:
        """Take in what the source holds now, a process parsing alongside; ``after_batch`` once each batch is
        committed (a sending process's kick)."""
        with self._parsing_process() as parsing, self._settled():
            return self.pipeline.drain(self._reading, after_batch=after_batch, parse=parsing.groups)

    @contextmanager
    def _settled(self) -> Iterator[None]:
        """A drain, and the mailbox's read-ahead thread done with at its end (``ReadAhead.settle``): the stored
        mail moved, its failure raised here, nothing of it running on when the drain is over."""
        if not isinstance(self._reading, ReadAhead):
            yield
            return
        try:
            yield
        except Exception:
            self._reading.settle(raising=False)  # the drain's own failure is the one to report
            raise
        except BaseException:  # stopping at once: a read stuck on a silent server ends with the process
            self._reading.settle(timeout=0, raising=False)
            raise
        self._reading.settle(timeout=STOPPING_SETTLE_SECONDS if self._stop.is_set() else None)

    def _sends_alongside(self) -> bool:
        """Over SMTP the outbox is sent by a process of its own while intake goes on; a file or the
        console takes one mail at a time, in this process's own output."""
        return self.app.settings.smtp.transport == "smtp"

    def run_once(self) -> PassSummary:
        """One ingest pass, one pass of the periodic jobs, one outbox flush."""
        from maildesk.scheduler import run_periodic_jobs

        summary = PassSummary()
        # the mail of each stored batch goes out while the next one is read and stored
        alongside = FlushResult()
        if self._sends_alongside():
            with self._sender_process() as sending:  # forked first, as the serving daemon forks it
                summary.outcomes = self.drain(after_batch=sending.kick)
                # while the sender still sends what intake queued last, as the serving daemon's jobs run
                summary.jobs = run_periodic_jobs(self.app, self.clock())
            alongside = sending.total
        else:
            summary.outcomes = self.drain()
            summary.jobs = run_periodic_jobs(self.app, self.clock())
        summary.flushed = alongside + self.flush()  # what is left: the jobs' mail, what the sender had not begun
        return summary

    def stop(self) -> None:
        self._stop.set()

    def run_forever(self, *, config_file: str | Path | None = None) -> None:
        """Serve until SIGTERM or SIGINT (or ``stop()``); call from the main thread."""
        self.stopper.install()
        try:
            self._serve(config_file)
        finally:
            self.stopper.uninstall()

    def _serve(self, config_file: str | Path | None) -> None:
        from maildesk.scheduler import start_scheduler

        s = self.app.settings
        log.info("maildesk %s started: config %s, mailbox %s, database %s, transport %s, timezone %s",
                 __version__, config_file or "(none)", describe_mailbox(s), shown_url(s.database_url),
                 describe_transport(s), s.timezone)
        if self._sends_alongside():
            # forked before any thread of ours starts: a fork copies the calling thread only, and a
            # lock another thread held at that moment would stay held in the child for ever
            self._sender = self._sender_process().start()
        self._parsing = self._parsing_process().start()  # forked now for the same reason
        heartbeat = Heartbeat(self.app.store, self.state, self.clock, mailbox=describe_mailbox(s))
        heartbeat.start()
        beat = ("heartbeat", HEARTBEAT_SECONDS, lambda _desk, _store, _now: heartbeat.beat())
        scheduler = start_scheduler(self.app, self.clock, self.send_due, extra=[beat], stop=self._stop)
        intake = _Intake(self._reading, self.stopper)
        try:
            while not self._stop.is_set():
                passed = self._one_pass(intake)
                heartbeat.beat()  # status shows the pass at once, not at the next periodic beat
                if passed and not self._stop.is_set():
                    intake.wait_for_mail(s.imap.poll_seconds)
        except Interrupted:
            pass
        finally:
            self._shut_down(scheduler, heartbeat)

    def send_due(self) -> FlushResult | str:
        """The serving daemon's way to deliver the outbox: a kick to its sending process, or a flush here
        when there is none (file or console transport) or it has ended."""
        with self._sender_lock:
            sender = self._sender
            if sender is not None and sender.kick():
                return "handed to the sending process"
            if sender is not None:  # said once: the next caller finds no sender
                self._sender = None
                log.error("outbox: the sending process ended (exit code %s); sending from the daemon's own "
                          "process from now on", sender.exit_code())
        return self.flush()

    def _one_pass(self, intake: _Intake) -> bool:
        """Drain the mailbox once; False when it failed (logged, paused), so the loop tries again."""
        try:
            # with a sending process, each batch's mail goes out while the next batch is stored
            parse = self._parsing.groups if self._parsing is not None else parse_in_process
            with self._settled():
                outcomes = self.pipeline.drain(intake, after_batch=None if self._sender is None else self._send_logged,
                                               parse=parse)
        except ImapConnectionError as exc:
            # the mail server is away for longer than the source's own retries: keep the
            # scheduler and outbox going and try the mailbox again later
            self._trouble(f"mailbox unreachable: {exc}", OUTAGE_PAUSE)
            return False
        except SQLAlchemyError as exc:
            pause = DB_PAUSES[min(self._db_failures, len(DB_PAUSES) - 1)]
            self._db_failures += 1
            self._trouble(f"database failing ({describe_failure(exc)}); the mail in hand stays in the inbox",
                          pause)
            intake.wait_for_mail(0)  # a new pass: the mail not stored is offered again
            return False
        self._db_failures = 0
        self.state.last_pass_at, self.state.problem = self.clock(), ""
        self.state.mails_in += len(outcomes)
        if outcomes and self._sender is None:
            self._send_logged()
        return True

    def _send_logged(self) -> None:
        """``send_due`` after a batch or a drain. The mail is committed whatever happens here, so a failing
        flush is only logged: the next batch, drain or outbox job tries again."""
        try:
            self.send_due()
        except (SQLAlchemyError, MaildeskError) as exc:
            log.error("outbox flush failed, trying again later: %s", describe_failure(exc))

    def _trouble(self, problem: str, pause: float) -> None:
        self.state.problem = problem
        log.error("%s; trying again in %.0f s", problem, pause)
        with self.stopper.interruptible():
            self._stop.wait(pause)

    def _shut_down(self, scheduler: BaseScheduler, heartbeat: Heartbeat) -> None:
        scheduler.shutdown(wait=False)  # a job still running ends with the process
        with self._sender_lock:
            sender, self._sender = self._sender, None
        if sender is not None:  # told to stop too: it cuts its flush short, and the last flush below follows it
            sender.stop()
        if self._parsing is not None:
            self._parsing.stop()
        result: FlushResult | str = "skipped: the scheduler's flush did not finish in time"
        if self._flushing.acquire(timeout=FLUSH_LOCK_WAIT):
            try:
                result = self.flush_only(self.app, self.clock, time_limit=FINAL_FLUSH_SECONDS)
            except (SQLAlchemyError, MaildeskError) as exc:
                result = f"failed: {describe_failure(exc)}"
            finally:
                self._flushing.release()
        abort = getattr(self.source, "abort", None)
        if callable(abort):  # no polite LOGOUT: the server may be the reason we are stopping slowly
            abort()
        else:
            self.source.close()
        heartbeat.stop()
        log.info("stopped; last outbox flush: %s", result)

"""The daemon: take mail in, keep the periodic jobs going, deliver the outbox; stop cleanly on SIGTERM.

The main thread alternates between draining the mailbox and waiting for mail
(IMAP IDLE, or polling); periodic jobs run on an APScheduler background thread,
each job once at a time and coalesced when late. SIGTERM during a wait ends the
wait at once; during a batch it lets the batch commit, then the outbox is
flushed and the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from maildesk.app import App
from maildesk.desk.intake import DeskHandler
from maildesk.errors import ConfigError
from maildesk.ingest.file_source import MaildirSource
from maildesk.ingest.imap_source import ImapConnectionError, ImapSettings, ImapSource
from maildesk.ingest.outcome import Outcome
from maildesk.ingest.pipeline import Pipeline
from maildesk.ingest.source import MailSource
from maildesk.outbound.sender import FlushResult, flush_outbox_sync

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
OUTAGE_PAUSE = 60.0


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


class _Interrupted(Exception):
    """Raised by the signal handler to end a wait for mail early."""


class Daemon:
    def __init__(self, app: App, source: MailSource, clock: Clock = utc_now) -> None:
        self.app = app
        self.source = source
        self.clock = clock
        self.pipeline = intake_pipeline(app, clock)
        self._stop = threading.Event()
        self._waiting = False
        # the main loop and the scheduler's outbox job take turns: the outbox's claims keep them
        # from sending a mail twice anyway, but one flush at a time keeps to smtp.connections
        self._flushing = threading.Lock()

    def flush(self) -> FlushResult:
        """Deliver the due outbox rows; waits for a flush already running in this daemon."""
        with self._flushing:
            return self.flush_only(self.app, self.clock)

    @staticmethod
    def flush_only(app: App, clock: Clock) -> FlushResult:
        """Deliver the due outbox rows (no mailbox needed)."""
        return flush_outbox_sync(app.store, app.transport, app.settings.smtp, clock, tz=app.settings.tz)

    def run_once(self) -> PassSummary:
        """One ingest pass, one pass of the periodic jobs, one outbox flush."""
        from maildesk.scheduler import run_periodic_jobs

        summary = PassSummary()
        summary.outcomes = self.pipeline.drain(self.source)
        summary.jobs = run_periodic_jobs(self.app, self.clock())
        summary.flushed = self.flush()
        return summary

    def stop(self) -> None:
        self._stop.set()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the mail in hand, then stopping", signum)
        self._stop.set()
        if self._waiting:
            raise _Interrupted

    def _pause(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True when a stop was asked for meanwhile."""
        return self._stop.wait(seconds)

    def run_forever(self) -> None:
        from maildesk.scheduler import start_scheduler

        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        scheduler = start_scheduler(self.app, self.clock, self.flush)
        wait = self.app.settings.imap.poll_seconds
        try:
            while not self._stop.is_set():
                try:
                    outcomes = self.pipeline.drain(self.source)
                except ImapConnectionError as exc:
                    # the mail server is away for longer than the source's own retries: keep the
                    # scheduler and outbox going and try the mailbox again later
                    log.error("mailbox unreachable, trying again in %.0f s: %s", OUTAGE_PAUSE, exc)
                    outcomes = []
                    if self._pause(OUTAGE_PAUSE):
                        break
                    continue
                if outcomes:
                    self.flush()
                if self._stop.is_set():
                    break
                self._waiting = True
                try:
                    self.source.wait_for_mail(wait)
                except _Interrupted:
                    break
                finally:
                    self._waiting = False
        finally:
            scheduler.shutdown(wait=True)
            result = self.flush()
            log.info("stopped; last outbox flush: %s", result)
            self.source.close()

"""``maildesk status``: whether the desk is working, from the daemons' heartbeats, the mailbox and the outbox.

Unhealthy (exit 1) when no daemon has beaten lately, a daemon reports a problem (mailbox
unreachable, database failing), the last mailbox pass is older than ``max_lag``, or a mail has
waited in the outbox longer than ``max_outbox_age``. Tickets past their targets are reported but
are the desk's business, not the daemon's health.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from maildesk import __version__
from maildesk.app import App
from maildesk.config import Settings
from maildesk.errors import MaildeskError
from maildesk.heartbeat import HEARTBEAT_SECONDS
from maildesk.statuses import OPEN_STATUSES, Status
from maildesk.store.models import OutboxMail, Ticket
from maildesk.store.models_ops import DaemonBeat
from maildesk.times import iso

MIN_LAG = 300.0
# waiting on the reporter stops the SLA clock, so those tickets are never past a target
ACTIVE = sorted(s.value for s in OPEN_STATUSES - {Status.WAITING_USER})


@dataclass(frozen=True)
class Limits:
    max_lag: float  # seconds since the last mailbox pass
    max_outbox_age: float  # seconds the oldest pending mail may wait
    stale_heartbeat: float = 3 * HEARTBEAT_SECONDS

    @classmethod
    def for_settings(cls, settings: Settings, *, max_lag: float | None, max_outbox_age: float) -> Limits:
        return cls(max_lag=max_lag or max(3 * settings.imap.poll_seconds, MIN_LAG), max_outbox_age=max_outbox_age)


@dataclass
class Report:
    now: datetime
    daemons: list[DaemonBeat] = field(default_factory=list)  # running ones, or the last one that ran
    running: int = 0
    last_pass_at: datetime | None = None
    mails_in: int = 0
    mailbox: str = ""
    waiting: int | None = None  # mails in the inbox now; None: not counted
    waiting_note: str = ""
    pending: int = 0
    failed: int = 0
    oldest_pending_at: datetime | None = None
    open_tickets: int = 0
    past_targets: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def lag(self) -> float | None:
        return None if self.last_pass_at is None else (self.now - self.last_pass_at).total_seconds()

    def as_json(self, tz: ZoneInfo) -> dict[str, Any]:
        oldest = self.oldest_pending_at
        return {
            "healthy": self.healthy, "now": iso(self.now, tz), "problems": self.problems,
            "daemons": [{"id": d.id, "host": d.host, "pid": d.pid, "version": d.version, "mailbox": d.mailbox,
                         "running": d.stopped_at is None, "started_at": iso(d.started_at, tz),
                         "heartbeat_at": iso(d.beat_at, tz), "stopped_at": iso(d.stopped_at, tz),
                         "last_pass_at": iso(d.last_pass_at, tz), "problem": d.problem} for d in self.daemons],
            "mailbox": {"source": self.mailbox, "last_pass_at": iso(self.last_pass_at, tz),
                        "lag_seconds": None if self.lag is None else round(self.lag),
                        "mails_since_start": self.mails_in, "waiting": self.waiting, "note": self.waiting_note},
            "outbox": {"pending": self.pending, "failed": self.failed, "oldest_pending_at": iso(oldest, tz),
                       "oldest_pending_seconds": None if oldest is None else
                       round((self.now - oldest).total_seconds())},
            "tickets": {"open": self.open_tickets, "past_targets": self.past_targets},
        }


def gather(app: App, limits: Limits, now: datetime, *, count_mailbox: bool = True) -> Report:
    """Everything ``status`` shows, at ``now``."""
    from maildesk.daemon import describe_mailbox

    report = Report(now=now, mailbox=describe_mailbox(app.settings))
    with app.store.session() as session:
        _daemons(session, report, limits)
        _outbox(session, report, limits)
        _tickets(session, report)
    if count_mailbox:
        _count_inbox(app.settings, report)
    else:
        report.waiting_note = "not counted (--no-mailbox)"
    return report


def _daemons(session: Session, report: Report, limits: Limits) -> None:
    fresh = report.now - timedelta(seconds=limits.stale_heartbeat)
    running = list(session.scalars(select(DaemonBeat).where(DaemonBeat.stopped_at.is_(None),
                                                            DaemonBeat.beat_at >= fresh)
                                   .order_by(DaemonBeat.started_at)))
    report.running = len(running)
    if not running:
        last = session.scalars(select(DaemonBeat).order_by(DaemonBeat.beat_at.desc()).limit(1)).first()
        report.daemons = [last] if last is not None else []
        seen = f" (the last one {_span(report.now - last.beat_at)} ago)" if last is not None else ""
        report.problems.append(f"no daemon running: no heartbeat in the last {limits.stale_heartbeat:.0f} s{seen}")
        return
    report.daemons = running
    passes = [d for d in running if d.last_pass_at is not None]
    if passes:
        latest = max(passes, key=lambda d: d.last_pass_at or report.now)
        report.last_pass_at, report.mails_in = latest.last_pass_at, latest.mails_in
    for d in running:
        if d.problem:
            report.problems.append(f"daemon {d.host}:{d.pid}: {d.problem}")
    lag = report.lag
    if lag is None:
        started = min(d.started_at for d in running)
        if (report.now - started).total_seconds() > limits.max_lag:
            report.problems.append("no mailbox pass has finished since the daemon started, "
                                   f"{_span(report.now - started)} ago")
    elif lag > limits.max_lag:
        report.problems.append(f"the last mailbox pass ended {_span(timedelta(seconds=lag))} ago "
                               f"(more than {limits.max_lag:.0f} s)")


def _outbox(session: Session, report: Report, limits: Limits) -> None:
    counts = dict(session.execute(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all())
    report.pending, report.failed = int(counts.get("pending", 0)), int(counts.get("failed", 0))
    report.oldest_pending_at = session.scalar(select(func.min(OutboxMail.created_at))
                                              .where(OutboxMail.status == "pending"))
    oldest = report.oldest_pending_at
    if oldest is not None and (report.now - oldest).total_seconds() > limits.max_outbox_age:
        report.problems.append(f"a mail has waited in the outbox for {_span(report.now - oldest)} "
                               f"(more than {limits.max_outbox_age:.0f} s): is the SMTP server reachable?")


def _tickets(session: Session, report: Report) -> None:
    now = report.now
    open_statuses = sorted(s.value for s in OPEN_STATUSES)
    report.open_tickets = session.scalar(select(func.count()).select_from(Ticket)
                                         .where(Ticket.status.in_(open_statuses))) or 0
    late = or_(Ticket.resolve_due <= now, and_(Ticket.first_response_at.is_(None), Ticket.response_due <= now))
    report.past_targets = session.scalar(select(func.count()).select_from(Ticket)
                                         .where(Ticket.status.in_(ACTIVE), late)) or 0


def _count_inbox(settings: Settings, report: Report) -> None:
    """Mail waiting in the intake now, asked of the mailbox itself (a read-only look)."""
    if settings.mailbox.kind == "maildir":
        path = settings.path(settings.mailbox.path)
        try:
            report.waiting = sum(1 for sub in ("new", "cur") for entry in os.scandir(path / sub)
                                 if entry.is_file() and not entry.name.startswith("."))
        except OSError as exc:
            report.waiting_note = f"cannot read {path}: {exc.strerror or exc}"
        return
    imap = settings.imap
    password = settings.secret(imap.password_env)
    if not imap.username or not password:
        report.waiting_note = f"not counted: {imap.password_env} is not set here" if imap.username else \
            "not counted: imap.username is empty"
        return
    from maildesk.ingest.imap_count import count_waiting
    from maildesk.ingest.imap_server import ImapSettings

    try:
        report.waiting = count_waiting(ImapSettings(
            host=imap.host, port=imap.port, security=imap.security, username=imap.username, password=password,
            folder=imap.folder, processed_folder=imap.processed_folder, quarantine_folder=imap.quarantine_folder,
            timeout=min(imap.timeout, 10.0), ca_file=str(settings.path(imap.ca_file)) if imap.ca_file else "",
        ))
    except (MaildeskError, OSError) as exc:
        report.waiting_note = f"not counted: {exc}"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def render_text(report: Report, settings: Settings) -> list[str]:
    tz = settings.tz

    def at(value: datetime | None) -> str:
        return "-" if value is None else f"{value.astimezone(tz):%Y-%m-%d %H:%M:%S}"

    lines = [f"maildesk {__version__}: {'healthy' if report.healthy else 'UNHEALTHY'} at {at(report.now)} "
             f"({settings.timezone})"]
    for d in report.daemons:
        state = "running" if d.stopped_at is None else f"stopped at {at(d.stopped_at)}"
        lines.append(f"daemon: {d.host} pid {d.pid} (maildesk {d.version}) {state}; started {at(d.started_at)}, "
                     f"heartbeat {_span(report.now - d.beat_at)} ago")
    if not report.daemons:
        lines.append("daemon: none has run on this database")
    lag = f" ({_span(timedelta(seconds=report.lag))} ago; {report.mails_in} mail(s) taken in since the start)" \
        if report.lag is not None else ""
    lines.append(f"mailbox: {report.mailbox}; last pass {at(report.last_pass_at)}{lag}")
    waiting = str(report.waiting) if report.waiting is not None else report.waiting_note
    lines.append(f"  waiting in the inbox: {waiting}")
    oldest = f" (oldest since {at(report.oldest_pending_at)}, {_span(report.now - report.oldest_pending_at)})" \
        if report.oldest_pending_at is not None else ""
    lines.append(f"outbox: {report.pending} pending{oldest}, {report.failed} failed")
    lines.append(f"tickets: {report.open_tickets} open, {report.past_targets} past their targets now")
    lines.extend(f"problem: {p}" for p in report.problems)
    return lines

"""Periodic jobs: each is a function of (desk, store, now), so any moment can be replayed from the CLI.

APScheduler runs them in the daemon (one instance at a time, late runs coalesced);
``run_periodic_jobs`` runs one pass of all of them for ``run --once``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

from maildesk.app import App
from maildesk.desk.setup import Desk
from maildesk.reports.mailing import monthly_report_job, recurring_alert_job, weekly_report_job
from maildesk.store.db import Store
from maildesk.sweep import sweep_job as sla_sweep_job

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Job = Callable[[Desk, Store, datetime], str]

# (name, seconds between runs, job). Business mail that must go out once is decided by the
# database state each job reads, not by when the job happens to run.
PERIODIC: list[tuple[str, int, Job]] = [
    ("sla", 60, sla_sweep_job),  # escalations, reminders, progress, closing, surveys, digests
    # due from Monday / the 1st 09:00 for the period just over; cheap no-ops otherwise
    ("report-weekly", 600, weekly_report_job),
    ("report-monthly", 600, monthly_report_job),
    ("recurring", 600, recurring_alert_job),
]


def run_periodic_jobs(app: App, now: datetime) -> list[str]:
    """Run every periodic job once at ``now``; returns one line per job."""
    lines = []
    for name, _every, job in PERIODIC:
        lines.append(f"{name}: {job(app.desk, app.store, now)}")
    return lines


def _guard(name: str, job: Job, app: App, clock: Clock) -> Callable[[], None]:
    def run() -> None:
        try:
            log.debug("%s: %s", name, job(app.desk, app.store, clock()))
        except Exception:  # a failing job is logged and tried again at its next run
            log.exception("periodic job %s failed", name)

    return run


def start_scheduler(app: App, clock: Clock, flush: Callable[[], object]) -> BackgroundScheduler:
    """Start the periodic jobs, and ``flush`` (the daemon's own outbox flush) every 30 seconds."""
    scheduler = BackgroundScheduler(timezone=app.settings.tz)
    defaults = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    for name, every, job in PERIODIC:
        scheduler.add_job(_guard(name, job, app, clock), "interval", seconds=every, id=name, **defaults)

    def outbox(_desk: Desk, _store: Store, _now: datetime) -> str:
        return str(flush())

    scheduler.add_job(_guard("outbox", outbox, app, clock), "interval", seconds=30, id="outbox", **defaults)
    scheduler.start()
    return scheduler

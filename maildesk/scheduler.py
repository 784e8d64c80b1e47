"""Periodic jobs: each is a function of (desk, store, now), so any moment can be replayed from the CLI.

APScheduler runs them in the daemon (one instance at a time, late runs coalesced);
``run_periodic_jobs`` runs one pass of all of them for ``run --once``. What a job did is
logged at DEBUG (every minute is chatter); a job that fails says so in one line at ERROR,
with the traceback only when the failure is not the database's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from maildesk.app import App
from maildesk.desk.setup import Desk
from maildesk.reports.mailing import monthly_report_job, recurring_alert_job, weekly_report_job
from maildesk.store.db import Store
from maildesk.store.dberrors import describe_failure
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
OUTBOX_SECONDS = 30


def run_periodic_jobs(app: App, now: datetime) -> list[str]:
    """Run every periodic job once at ``now``; returns one line per job."""
    lines = []
    for name, _every, job in PERIODIC:
        lines.append(f"{name}: {job(app.desk, app.store, now)}")
    return lines


def guarded(name: str, job: Job, app: App, clock: Clock) -> Callable[[], None]:
    """``job`` as the scheduler runs it: a failure is logged and the job tried again at its next run."""

    def run() -> None:
        try:
            log.debug("%s: %s", name, job(app.desk, app.store, clock()))
        except SQLAlchemyError as exc:  # the daemon's main loop says more; one line is enough here
            log.error("periodic job %s: database failing, trying again at its next run: %s", name,
                      describe_failure(exc))
        except Exception:
            log.exception("periodic job %s failed; trying again at its next run", name)

    run.__name__ = run.__qualname__ = f"maildesk job {name}"  # what APScheduler's own lines name
    return run


def start_scheduler(app: App, clock: Clock, flush: Callable[[], object],
                    extra: Sequence[tuple[str, int, Job]] = (), stop: threading.Event | None = None,
                    ) -> BackgroundScheduler:
    """Start the periodic jobs, ``flush`` (the daemon's own outbox flush) every 30 seconds, and ``extra``;
    ``stop`` cuts a running SLA sweep short when the daemon stops."""
    scheduler = BackgroundScheduler(timezone=app.settings.tz)
    defaults = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}

    def outbox(_desk: Desk, _store: Store, _now: datetime) -> str:
        return str(flush())

    # the SLA sweep and the outbox run at once: a restart must not put escalations a minute behind,
    # nor leave what a stopped or killed daemon had not sent waiting for the job's first turn
    first = {"sla": clock(), "outbox": clock()}
    jobs = [(name, every, partial(sla_sweep_job, stop=stop) if job is sla_sweep_job else job)
            for name, every, job in PERIODIC]
    for name, every, job in [*jobs, ("outbox", OUTBOX_SECONDS, outbox), *extra]:
        scheduler.add_job(guarded(name, job, app, clock), "interval", seconds=every, id=name, name=name,
                          **({"next_run_time": first[name]} if name in first else {}), **defaults)
    scheduler.start()
    return scheduler

"""The SLA sweep: every mail the support process calls for at a given moment, queued once.

``run_sweep(desk, store, now)`` is a function of the database and ``now`` only: the daemon runs it
every minute, ``maildesk sla sweep --now ISO`` replays any moment, and running it twice at
the same moment queues nothing the second time. Phases, in order: escalations, urgent response
breaches (mobilisation), reminders to assignees and to evaluators of requirements, confirmation
reminders and auto-closes, surveys, overdue reviews (复盘), progress mails, digests.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from maildesk.desk.setup import Desk
from maildesk.store.db import Store
from maildesk.sweep.breaches import breach_phase
from maildesk.sweep.closing import closing_phase, survey_phase
from maildesk.sweep.digest import digest_phase
from maildesk.sweep.escalation import escalation_phase
from maildesk.sweep.evaluations import evaluation_reminder_phase
from maildesk.sweep.progress import progress_phase
from maildesk.sweep.reminders import reminder_phase
from maildesk.sweep.reviews import review_phase
from maildesk.sweep.runner import Queued, Sweep, SweepError

__all__ = ["PHASES", "Queued", "Sweep", "SweepError", "run_sweep", "sweep_job"]

PHASES: tuple[Callable[[Sweep], None], ...] = (
    escalation_phase, breach_phase, reminder_phase, evaluation_reminder_phase, closing_phase, survey_phase,
    review_phase, progress_phase, digest_phase,
)


def run_sweep(desk: Desk, store: Store, now: datetime, *, dry_run: bool = False,
              stop: threading.Event | None = None) -> Sweep:
    """Run every phase at ``now``; the returned Sweep lists the mails queued.

    ``dry_run``: the same sweep on a store whose transaction is rolled back at the end, so it
    lists what it would queue and changes nothing. ``stop`` (the daemon's SIGTERM) ends the sweep
    after the chunk of tickets in hand; the rest stays due for the next sweep."""
    if dry_run:
        from maildesk.store.dryrun import rolled_back

        with rolled_back(store) as rolled:
            return run_sweep(desk, rolled, now)
    sweep = Sweep(desk, store, now, stop=stop)
    for phase in PHASES:
        if sweep.stopping:
            break
        phase(sweep)
    return sweep


def sweep_job(desk: Desk, store: Store, now: datetime, *, stop: threading.Event | None = None) -> str:
    """The scheduler's SLA job: one sweep, summarised in one line."""
    queued = run_sweep(desk, store, now, stop=stop).queued
    if not queued:
        return "nothing due"
    counts = Counter(q.kind for q in queued)
    return f"{len(queued)} queued (" + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) + ")"

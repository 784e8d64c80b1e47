"""The daemon's heartbeat row: that it runs, when its last mailbox pass ended, what keeps it from working.

``maildesk status`` reads these rows (one per daemon run, several daemons may share a database).
Writing one is a single UPDATE every HEARTBEAT_SECONDS from the scheduler's thread, so a main
loop stuck on a server that does not answer still beats, and its stale ``last_pass_at`` shows it.
A heartbeat that cannot be written (the database is away) is skipped: the daemon's own log says
why, and the row's age tells ``status``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import SQLAlchemyError

from maildesk import __version__
from maildesk.store.db import Store
from maildesk.store.dberrors import describe_failure
from maildesk.store.models_ops import DaemonBeat

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30
KEEP_STOPPED = timedelta(days=30)  # rows of daemons that stopped are kept this long, then removed


@dataclass
class PassState:
    """What the main loop reports: the end of the last pass that worked, the mails taken in since the
    start, the current problem."""

    last_pass_at: datetime | None = None
    mails_in: int = 0
    problem: str = ""


class Heartbeat:
    """The row of this daemon run; ``state`` is read at every beat."""

    def __init__(self, store: Store, state: PassState, clock: Callable[[], datetime], *, mailbox: str) -> None:
        self.store, self.state, self.clock, self.mailbox = store, state, clock, mailbox
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._started = False

    def start(self) -> None:
        now = self.clock()
        try:
            with self.store.session() as session:
                session.execute(delete(DaemonBeat).where(DaemonBeat.stopped_at < now - KEEP_STOPPED))
                session.add(DaemonBeat(id=self.id, host=socket.gethostname(), pid=os.getpid(), version=__version__,
                                       mailbox=self.mailbox, started_at=now, beat_at=now, mails_in=0,
                                       problem=self.state.problem))
            self._started = True
        except SQLAlchemyError as exc:
            log.warning("heartbeat: cannot write the daemon's row, trying at the next beat: %s", describe_failure(exc))

    def beat(self) -> str:
        """Write the state now; the scheduler's job line."""
        if not self._started:
            self.start()
            return "started" if self._started else "not written"
        s = self.state
        try:
            with self.store.session() as session:
                session.execute(update(DaemonBeat).where(DaemonBeat.id == self.id).values(
                    beat_at=self.clock(), last_pass_at=s.last_pass_at, mails_in=s.mails_in,
                    problem=s.problem[:1000]))
        except SQLAlchemyError as exc:
            log.debug("heartbeat not written: %s", describe_failure(exc))
            return "not written"
        return "written"

    def stop(self) -> None:
        if not self._started:
            return
        try:
            with self.store.session() as session:
                now = self.clock()
                session.execute(update(DaemonBeat).where(DaemonBeat.id == self.id).values(
                    beat_at=now, stopped_at=now, problem=""))
        except SQLAlchemyError as exc:
            log.debug("heartbeat: stop not written: %s", describe_failure(exc))

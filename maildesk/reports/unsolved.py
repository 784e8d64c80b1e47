"""What stayed unsolved, and why: the report's list of open tickets with whom each waits on and its last word.

Every ticket created before the end of the period and still open when the report runs, oldest first
(the first ``LIMIT``; the total is always complete). For each: its status, whom it waits on (the
reporter while it waits on them, another team, its engineer, or nobody while it has none), the last
internal note or progress entry with its time, and its age at the end of the period. Subjects and
notes reach supervisors masked, like everything else in a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maildesk.masking import Masker
from maildesk.statuses import OPEN_STATUSES, Status
from maildesk.store.models import Event, Ticket
from maildesk.times import iso

__all__ = ["LIMIT", "NOTE_CHARS", "Unsolved", "unsolved_tickets"]

LIMIT = 50
NOTE_CHARS = 200
_OPEN = [s.value for s in OPEN_STATUSES]
_LAST_WORDS = ("note", "progress")


@dataclass(frozen=True)
class Unsolved:
    """One ticket that stayed open, and what holds it."""

    number: str
    subject: str  # masked
    priority: str
    status: str
    waiting_on: str  # reporter, team, assignee, nobody
    assignee: str | None
    last_word: str  # the last note or progress entry, masked and cut; "" when there is none
    last_word_at: str | None  # ISO-8601 in the desk's zone
    age_hours: float  # wall-clock hours from creation to the end of the period (or now, if sooner)

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def waiting_on(ticket: Ticket) -> str:
    """Whom an open ticket waits on: the reporter, another team, its engineer, or nobody (no one has it)."""
    status = Status(ticket.status)
    if status == Status.WAITING_USER:
        return "reporter"
    if status == Status.WAITING_TEAM:
        return "team"
    return "assignee" if ticket.assignee or ticket.lead else "nobody"


def _cut(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= NOTE_CHARS else line[:NOTE_CHARS - 1] + "…"


def unsolved_tickets(session: Session, end: datetime, as_of: datetime, masker: Masker, tz: ZoneInfo,
                     ) -> tuple[list[Unsolved], int]:
    """The open tickets created before ``end`` (the first LIMIT, oldest first) and how many there are."""
    where = (Ticket.status.in_(_OPEN), Ticket.created_at < end)
    total = session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
    tickets = session.scalars(select(Ticket).where(*where).order_by(Ticket.created_at, Ticket.id).limit(LIMIT)).all()
    last: dict[int, Event] = {}
    if tickets:
        for event in session.scalars(select(Event).where(Event.ticket_id.in_([t.id for t in tickets]),
                                                         Event.action.in_(_LAST_WORDS)).order_by(Event.id)):
            last[event.ticket_id] = event
    out = []
    for t in tickets:
        names = (t.reporter_name,) if t.reporter_name else ()
        word = last.get(t.id)
        out.append(Unsolved(
            # the subject on one line: a table row, a CSV cell
            number=t.number, subject=masker.text(" ".join(t.subject.split()), names), priority=t.priority,
            status=t.status,
            waiting_on=waiting_on(t), assignee=t.assignee or t.lead,
            last_word=masker.text(_cut(word.note), names) if word is not None and word.note else "",
            last_word_at=iso(word.at, tz) if word is not None else None,
            age_hours=round(max(0.0, (as_of - t.created_at).total_seconds()) / 3600, 1),
        ))
    return out, total

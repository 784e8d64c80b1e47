"""A chunk's mails composed while its tickets are worked, and written together when the chunk is done.

Queued one at a time, a mail costs its own statements: the thread ids read, "queued before?",
the outbox row, the ticket's message (about seven a mail with the ticket's savepoint, each a
round trip on PostgreSQL). Here the chunk's threads are read in one query before the work, each
mail is rendered and composed as the work asks for it, and ``write`` stores them all in two
statements (``maildesk.outbound.outbox_many``). The result is the same mails, threaded the same
way, each queued once: a mail's dedup key already in the outbox, or asked for twice in the chunk,
is not written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from maildesk.config import Settings
from maildesk.desk.mailing import Thread, seen_by_reporter
from maildesk.outbound.outbox import Composed, Outgoing, compose_for_outbox, thread_of
from maildesk.outbound.outbox_many import store_composed
from maildesk.store.models import Message, Ticket

Note = TypeVar("Note")
# (message_id, direction, from_addr, to_addrs) of one message, as threading reads it
ThreadRow = tuple[str, str, str, Sequence[str] | None]

# built once: read once a chunk
_THREADS = (
    select(Message.ticket_id, Message.message_id, Message.direction, Message.from_addr, Message.to_addrs)
    .where(Message.ticket_id.in_(bindparam("ticket_ids", expanding=True))).order_by(Message.id)
)


@dataclass
class ChunkMail(Generic[Note]):
    """The mails of one chunk not written yet, each with the caller's note (what to report once it is written)."""

    settings: Settings
    now: datetime
    threads: dict[int, list[ThreadRow]]  # per ticket id: its messages in order, the chunk's new ones included
    mails: list[tuple[Composed, Ticket, Note]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, session: Session, settings: Settings, now: datetime, tickets: Sequence[Ticket]) -> ChunkMail[Any]:
        """The threads of ``tickets``, in one query."""
        threads: dict[int, list[ThreadRow]] = {}
        for tid, mid, direction, sender, to in session.execute(_THREADS, {"ticket_ids": [t.id for t in tickets]}):
            if tid is not None:  # always, by the query: the column allows NULL for mail on no ticket
                threads.setdefault(tid, []).append((mid, direction, sender, to))
        return cls(settings, now, threads)

    def reporter_thread(self, ticket: Ticket) -> Thread:
        """As ``maildesk.desk.mailing.reporter_thread_ids``: what the reporter saw."""
        return seen_by_reporter(self.threads.get(ticket.id, []), ticket.reporter)

    def thread(self, ticket: Ticket) -> Thread:
        """As ``maildesk.outbound.outbox.thread_ids``: the ticket's first and latest messages."""
        rows = self.threads.get(ticket.id, [])
        return thread_of(rows[0][0], rows[-1][0]) if rows else (None, [])

    def add(self, mail: Outgoing, ticket: Ticket, note: Note) -> bool:
        """Compose ``mail`` for writing with the chunk; False when the chunk has a mail of its dedup key already."""
        if mail.dedup_key is not None:
            if mail.dedup_key in self.keys:
                return False
            self.keys.add(mail.dedup_key)
        composed = compose_for_outbox(self.settings, mail, now=self.now, ticket=ticket)
        if composed.message is not None:  # a later mail on the ticket in this chunk threads under this one
            self.threads.setdefault(ticket.id, []).append(
                (composed.message_id, "out", self.settings.support_address, list(mail.to)))
        self.mails.append((composed, ticket, note))
        return True

    def write(self, session: Session) -> list[Note]:
        """Store the chunk's mails; the notes of those written, in order (a dedup key queued before is not)."""
        written = store_composed(session, [composed for composed, _, _ in self.mails])
        notes = []
        for composed, ticket, note in self.mails:
            if composed.message_id not in written:
                continue
            if composed.message is not None:
                ticket.message_count = (ticket.message_count or 0) + 1
            notes.append(note)
        return notes

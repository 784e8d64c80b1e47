"""Many composed mails written to the outbox together: two statements for a whole chunk of mails.

``queue_mail`` writes one mail with three or four statements (is its notice queued before, the
outbox row, the ticket's message). A sweep chunk that mails most of its tickets (the 17:00 daily
summary) composes its mails first and writes them here at once: one multi-row ``INSERT … ON
CONFLICT (dedup_key) DO NOTHING`` for the outbox rows, one for the messages of the rows written.
The unique dedup key stays the last word on "sent once": a notice another daemon queued meanwhile
is simply not written, and neither is its message.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from maildesk.outbound.outbox import Composed
from maildesk.store.models import Message, OutboxMail

_OUTBOX = OutboxMail.metadata.tables[OutboxMail.__tablename__]
# RETURNING the Message-IDs (unique, made here): which rows were written, whatever order they come back in
_INSERT_UNLESS_QUEUED = {
    "sqlite": sqlite_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"])
    .returning(_OUTBOX.c.message_id),
    "postgresql": pg_insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedup_key"])
    .returning(_OUTBOX.c.message_id),
}
_INSERT_MESSAGES = insert(Message.metadata.tables[Message.__tablename__])


def store_composed(session: Session, mails: Sequence[Composed]) -> set[str]:
    """Write ``mails`` (in their order, so ids follow it) and their messages; the Message-IDs of those written:
    a mail whose dedup key is in the outbox already is left out. The caller counts the messages on the tickets."""
    if not mails:
        return set()
    insert_rows = _INSERT_UNLESS_QUEUED[session.get_bind().dialect.name]
    with session.no_autoflush:  # the tickets' own changes go with the chunk's flush, as before
        connection = session.connection()
        written = set(connection.execute(insert_rows, [m.outbox for m in mails]).scalars())
        messages = [m.message for m in mails if m.message is not None and m.message_id in written]
        if messages:
            connection.execute(_INSERT_MESSAGES, messages)
    return written

"""Which Message-IDs of a batch are stored already: one query for the whole batch instead of one a mail.

The ids are read from the raw headers before the mails are parsed (``message_id_hint``), so the
query is only as good as that reading; the pipeline therefore trusts its answer only for an id
the query asked about, and only for the first mail of the batch with that id. Only a mail's own
Message-ID is ever stored for an incoming mail, so no earlier mail of the batch can have stored
it then; every other lookup (an id read differently by the parser, an id met again in the batch,
whether its earlier mail was stored, quarantined or rolled back) asks the database as before. A
second daemon storing the same id meanwhile is still caught by the unique index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, select

from maildesk.ingest.msgids import normalise_message_id
from maildesk.store.models import Message

# built once: building a statement costs more than SQLite takes to run it
_MESSAGE_PK = select(Message.id).where(Message.message_id == bindparam("message_id"))
_STORED = select(Message.message_id, Message.id).where(
    Message.message_id.in_(bindparam("message_ids", expanding=True))
)
# The first line that is either "Message-ID: <id>", as nearly every mail writes it, or the blank one that ends
# the headers; any other way of writing it is left to the parser. One scan from a literal "\n": a few µs.
_MESSAGE_ID_OR_END = re.compile(rb"\n(?:message-id:[ \t]*<([!-;=?-~]+)>[ \t]*)?\r?\n", re.IGNORECASE)


def message_id_hint(raw: bytes) -> str | None:
    """The Message-ID the parser will most likely read from ``raw``, normalised like it; None when unsure."""
    found = _MESSAGE_ID_OR_END.search(raw)
    return normalise_message_id(found.group(1).decode("ascii")) if found and found.group(1) else None


class KnownIds:
    """The batch's answers to "is a message with this Message-ID stored?", asked once at the batch's start."""

    def __init__(self, conn: Connection, raws: Iterable[bytes]) -> None:
        self._asked = {hint for hint in map(message_id_hint, raws) if hint}
        self._stored: dict[str, int] = (
            {mid: pk for mid, pk in conn.execute(_STORED, {"message_ids": list(self._asked)})} if self._asked else {}
        )
        self._met: set[str] = set()

    def stored(self, conn: Connection, message_id: str) -> int | None:
        """The id of the message stored with ``message_id``, or None."""
        first = message_id not in self._met
        self._met.add(message_id)
        if first and message_id in self._asked:
            return self._stored.get(message_id)
        return conn.scalar(_MESSAGE_PK, {"message_id": message_id})

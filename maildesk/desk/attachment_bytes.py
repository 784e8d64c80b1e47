"""A stored attachment's bytes, decoded from the mail it came in.

Intake keeps every incoming mail whole (``messages.raw``); an attachment's row holds its name, type,
size and digest, not its content again: storing the decoded content as well wrote a mail with
attachments into the database about twice (migration 0009). What wants the bytes (the assignment mail
of a reassignment attaches the reporter's files) decodes them from the mail here. Contents stored
before that migration are in ``blobs`` and are read from there.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from maildesk.ingest.parse import parse_mail
from maildesk.store.models import Blob, Message

_STORED_BEFORE = select(Blob.data).where(Blob.sha256 == bindparam("digest"))
_RAW = select(Message.raw).where(Message.id == bindparam("message_id"))


class AttachmentBytes:
    """Reads attachments' bytes in one session; the last mail decoded is kept, so that reading a mail's files one
    after another (in the order of their messages) decodes each mail once, and only one is held at a time."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._message_id: int | None = None
        self._contents: dict[str, bytes] = {}

    def read(self, message_id: int, sha256: str) -> bytes | None:
        """The content with digest ``sha256`` of an attachment of message ``message_id``; None when it is neither
        stored apart nor found in the mail (its bytes are gone)."""
        stored = self._session.scalar(_STORED_BEFORE, {"digest": sha256})
        if stored is not None:
            return stored
        if message_id != self._message_id:
            raw = self._session.scalar(_RAW, {"message_id": message_id})
            self._contents = {part.sha256: part.data for part in parse_mail(raw).attachments} if raw else {}
            self._message_id = message_id
        return self._contents.get(sha256)

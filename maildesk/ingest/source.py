"""Where mail comes from: the contract every mail source (IMAP, Maildir, .eml files) keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SourceMessage:
    """One message as its source holds it.

    `source_id` is stable and unique, so the store can key "already done" on it:
    IMAP: `imap:{user}@{host}/{folder};UIDVALIDITY={v};UID={uid}`;
    files: `file:{absolute path}:{sha256 prefix}`.
    """

    source_id: str
    raw: bytes


class MailSource(Protocol):
    """A place messages are taken from and, once stored, moved out of.

    A *pass* is the run of `fetch_batch` calls between two `wait_for_mail` calls:
    within a pass each message is handed out at most once; a message still in the
    intake (neither marked done nor quarantined) is offered again in a later pass,
    and the pipeline recognises it by its source id.
    """

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        """Up to `limit` messages not yet done and not yet handed out in this pass, oldest first.

        With `max_bytes`, the messages together are no larger than that, by their size at the
        source, read before the messages themselves; the first message comes however large it is,
        so that every message can be taken in. (A source made of several sources may go over
        by one message where one of them ends.)
        """
        ...

    def mark_done(self, source_ids: Sequence[str]) -> None:
        """Move these messages out of the intake (the processed folder); unknown or gone ids are no error."""
        ...

    def quarantine(self, source_id: str, reason: str) -> None:
        """Put a message a human must look at aside, with the reason; never deletes it."""
        ...

    def wait_for_mail(self, timeout: float) -> None:
        """Block until new mail may have arrived or `timeout` seconds passed; starts a new pass."""
        ...

    def close(self) -> None:
        """Release connections; the source is not used afterwards."""
        ...



class SourceWrapper:
    """A source that hands every call to ``source``: subclass it to change one step (a stop that cuts reading
    short, a test that watches batches) and keep the rest of the contract as the real source keeps it."""

    def __init__(self, source: MailSource) -> None:
        self.source = source

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        return self.source.fetch_batch(limit, max_bytes)

    def mark_done(self, source_ids: Sequence[str]) -> None:
        self.source.mark_done(source_ids)

    def quarantine(self, source_id: str, reason: str) -> None:
        self.source.quarantine(source_id, reason)

    def wait_for_mail(self, timeout: float) -> None:
        self.source.wait_for_mail(timeout)

    def close(self) -> None:
        self.source.close()

"""The way back for a mail that failed: list, show and retry what intake quarantined.

A quarantined mail keeps its raw bytes in ``processed_sources`` (outcome "quarantined"). A
retry feeds those bytes through the same pipeline as ``maildesk ingest``, under a source id of
its own (``retry:N:<original id>``): the original id stays "done", so the retry is never taken
for the mail seen before ("already"). Once the retry is stored, the original row becomes
"retried" and lets go of the bytes; a retry that fails again is quarantined under its own id,
with the new reason and the bytes, so each quarantined mail is listed exactly once. Should the
process die between the two steps, the original row still holds the mail, and a second retry
finds the first by its Message-ID ("duplicate").

IDs are the first eight hex digits of the SHA-256 of the source id: short to type, stable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from maildesk.errors import MaildeskError, NotFoundError
from maildesk.ingest.source import SourceMessage
from maildesk.store.db import Store
from maildesk.store.models import ProcessedSource

QUARANTINED = "quarantined"
RETRIED = "retried"
ID_CHARS = 8
MAX_SOURCE_ID = 500  # processed_sources.source_id
_RETRY = re.compile(r"^retry:(\d+):(.*)$", re.DOTALL)


class AmbiguousId(MaildeskError):
    """A short id that more than one quarantined mail starts with."""


def short_id(source_id: str) -> str:
    return hashlib.sha256(source_id.encode("utf-8")).hexdigest()[:ID_CHARS]


def retry_source_id(source_id: str) -> str:
    """The source id of the next retry of ``source_id``: retry:1:…, then retry:2:… for a retry that failed."""
    found = _RETRY.match(source_id)
    count, original = (int(found.group(1)) + 1, found.group(2)) if found else (1, source_id)
    new = f"retry:{count}:{original}"
    if len(new) > MAX_SOURCE_ID:
        new = f"retry:{count}:sha256:{hashlib.sha256(original.encode('utf-8')).hexdigest()}"
    return new


@dataclass(frozen=True)
class Quarantined:
    """One quarantined mail as the commands show it (without its bytes)."""

    id: str
    source_id: str
    reason: str
    at: datetime
    size: int


def quarantined(session: Session) -> list[Quarantined]:
    """Every quarantined mail, oldest first."""
    rows = session.execute(
        select(ProcessedSource.source_id, ProcessedSource.reason, ProcessedSource.at,
               func.coalesce(func.length(ProcessedSource.raw), 0))
        .where(ProcessedSource.outcome == QUARANTINED).order_by(ProcessedSource.at, ProcessedSource.source_id)
    ).all()
    return [Quarantined(short_id(sid), sid, reason, at, int(size)) for sid, reason, at, size in rows]


def find(session: Session, wanted: str) -> Quarantined:
    """The quarantined mail whose id starts with ``wanted`` (or whose source id is ``wanted``)."""
    wanted = wanted.strip()
    hits = [q for q in quarantined(session)
            if q.source_id == wanted or (len(wanted) >= 4 and q.id.startswith(wanted.lower()))]
    if not hits:
        raise NotFoundError(f"no quarantined mail {wanted} (maildesk quarantine list shows them)")
    if len(hits) > 1 and not any(q.source_id == wanted for q in hits):
        raise AmbiguousId(f"{wanted} names {len(hits)} quarantined mails; give more of the id")
    return next((q for q in hits if q.source_id == wanted), hits[0])


HEAD_BYTES = 64 * 1024  # enough for the headers of any sane mail, without reading a 50 MB one whole


def raw_bytes(session: Session, source_id: str, limit: int | None = None) -> bytes:
    """The quarantined mail's bytes, or only its first ``limit`` bytes (for its headers)."""
    column = ProcessedSource.raw if limit is None else func.substr(ProcessedSource.raw, 1, limit)
    raw = session.scalar(select(column).where(ProcessedSource.source_id == source_id))
    return bytes(raw or b"")


def headers(raw: bytes) -> dict[str, str]:
    """The headers a person recognises a mail by, decoded."""
    message = BytesHeaderParser(policy=default_policy).parsebytes(raw)
    out = {}
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        try:
            value = message.get(name)
        except Exception:  # a header too broken to decode is shown as missing, not a failure
            value = None
        out[name.lower()] = " ".join(str(value).split()) if value is not None else ""
    return out


class RetrySource:
    """A MailSource over quarantined mails: their bytes, read from the store a batch at a time."""

    def __init__(self, store: Store, mails: Sequence[Quarantined]) -> None:
        self.store = store
        self._waiting = list(mails)
        self.retry_ids = {retry_source_id(q.source_id): q for q in mails}

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        batch: list[Quarantined] = []
        total = 0
        while self._waiting and len(batch) < limit:
            if batch and max_bytes is not None and total + self._waiting[0].size > max_bytes:
                break
            batch.append(self._waiting.pop(0))
            total += batch[-1].size
        with self.store.session() as session:
            return [SourceMessage(retry_source_id(q.source_id), raw_bytes(session, q.source_id)) for q in batch]

    def mark_done(self, source_ids: Sequence[str]) -> None:
        """Nothing to move: the copy on the server or in the Maildir stays where quarantine put it."""

    def quarantine(self, source_id: str, reason: str) -> None:
        """The pipeline has recorded it, bytes and reason, under its retry id."""

    def wait_for_mail(self, timeout: float) -> None:
        """A fixed set of mails: nothing new comes."""

    def close(self) -> None:
        """Nothing to release."""


def settle_retried(store: Store, retried: dict[str, Quarantined], results: dict[str, str], now: datetime) -> None:
    """Mark the originals of the retries that ran as retried, and drop their bytes (kept elsewhere now)."""
    with store.session() as session:
        for retry_id, result in results.items():
            original = retried.get(retry_id)
            if original is None:
                continue
            note = f"{original.reason} | retried {now:%Y-%m-%d %H:%M} UTC as {retry_id}: {result}"
            session.execute(update(ProcessedSource).where(ProcessedSource.source_id == original.source_id)
                            .values(outcome=RETRIED, raw=None, reason=note[:2000]))

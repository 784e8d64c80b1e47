"""What intake hands the desk, and what the desk hands back: the vocabulary of one mail's outcome.

``Inbound`` is the end of reading a mail: the parsed mail, its kind (normal, auto-reply,
bounce, list, our own), what the sender wrote this time, and the ticket it names, if any.
The desk decides everything else and answers with ``Handled``; the pipeline adds the source
and reports an ``Outcome``. Results are named, never free strings: they are the words of
``run --json``, the log and the processed-sources table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.orm import Session

from maildesk.errors import MaildeskError
from maildesk.ingest.loops import MailKind
from maildesk.mail import InboundMail
from maildesk.store.models import Ticket


class Result(StrEnum):
    """What became of one incoming mail."""

    CREATED = "created"  # a new ticket
    REPLY = "reply"  # joined a ticket's conversation
    NOISE = "noise"  # an auto-reply, bounce, list or our own mail: stored, never answered
    DUPLICATE = "duplicate"  # a Message-ID stored before
    ALREADY = "already"  # this very source (mailbox UID, file) was handled before
    REJECTED = "rejected"  # an unknown sender under the reject policy: politely refused
    QUARANTINED = "quarantined"  # set aside for a person, with the reason


class QuarantineMail(MaildeskError):
    """This mail cannot become or join a ticket; it is set aside with the reason."""


@dataclass(frozen=True)
class Inbound:
    """A mail as intake read it: parsed, its kind, its new words, and the ticket it names."""

    mail: InboundMail
    kind: MailKind
    kind_reason: str
    text: str  # what the sender wrote this time, without the quoted conversation
    named: Ticket | None = None  # the ticket its reply address, tag or Message-IDs name
    via: str = ""  # how: "address", "tag", "in-reply-to", "references"


@dataclass(frozen=True)
class Handled:
    """The desk's answer for one mail; ``message_pk`` is the stored incoming message, if any."""

    result: Result
    ticket: str | None = None
    reason: str = ""
    message_pk: int | None = None
    notes: tuple[str, ...] = ()  # what the desk did besides, to log once the mail is committed


@dataclass(frozen=True)
class Outcome:
    """What became of one source message, for the source (move it) and for people (log, JSON)."""

    source_id: str
    result: Result
    ticket: str | None = None
    reason: str = ""
    notes: tuple[str, ...] = ()  # logged before the result, once the mail is committed
    # left in the intake: another process stored the mail moments ago and moves it itself (``Pipeline``)
    left: bool = False

    @property
    def done(self) -> bool:
        """The source may move the mail to the processed folder."""
        return self.result != Result.QUARANTINED and not self.left


class Handler(Protocol):
    """The desk's entry point, as the pipeline sees it: one mail in its batch's session at the batch's moment."""

    def __call__(self, session: Session, inbound: Inbound, now: datetime) -> Handled: ...

    def read_ahead(self, session: Session, mails: Sequence[InboundMail], now: datetime) -> None:
        """At the start of a group's transaction: read in one go what handling each of ``mails`` will ask the
        database (a query a group instead of one a mail)."""

"""The parsed, immutable form of one incoming mail that every later stage reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property


@dataclass(frozen=True)
class Address:
    """One mailbox: display name (decoded) and address (lower-cased)."""

    name: str
    addr: str

    def __str__(self) -> str:
        return f"{self.name} <{self.addr}>" if self.name else self.addr


@dataclass(frozen=True)
class Attachment:
    """One attachment or inline part with its decoded file name."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def sha256(self) -> str:
        """The content's digest (how a stored attachment finds its part of the mail again): worked out once, and
        kept when the mail is pickled, so the parsing process (``ingest.parsing_alongside``) can work it out for
        the daemon."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class InboundMail:
    """A mail as maildesk understands it; built by ``ingest.parse`` which never raises."""

    raw: bytes
    message_id: str  # without angle brackets; synthesised from the raw bytes when missing
    subject: str
    from_addr: Address | None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    date: datetime | None = None
    in_reply_to: str | None = None  # without angle brackets
    references: tuple[str, ...] = ()  # without angle brackets, oldest first
    text: str = ""  # text/plain, or the HTML part turned into text
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    # lower-cased header name -> every decoded value, in order
    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    defects: tuple[str, ...] = ()
    # the reports its MIME structure makes it ("delivery-status", "disposition-notification"):
    # a multipart/report of that type or a part of its kind, whatever the sender calls itself
    reports: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        """The first value of a header, decoded, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def sender(self) -> str:
        """The sender's address, lower-cased, or an empty string."""
        return self.from_addr.addr if self.from_addr else ""

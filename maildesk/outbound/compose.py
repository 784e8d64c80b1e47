"""Build the bytes of one outgoing mail.

Everything here is pure: no clock, no settings, no I/O. The outbox stores what
``compose`` returns and sends exactly those bytes, so a retry resends the same
Message-ID and the same body. The same arguments give the same bytes: MIME
boundaries come from the Message-ID, not from a random number.

The message is written as text by ``maildesk.outbound.mime`` rather than through
``email.message.EmailMessage``: the standard library's policy machinery cost 1.5–3.5 ms a
mail, about 40 % of intake, where writing the text directly costs under 0.1 ms
(``bench/compose.py``). The ticket-tag helpers live in ``maildesk.outbound.subjects`` and
are re-exported here.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import format_datetime, parseaddr
from typing import Protocol

from maildesk.errors import MaildeskError
from maildesk.outbound.mime import (
    CRLF,
    HeaderFolder,
    Part,
    address_header,
    attachment_part,
    boundary_stem,
    inline_part,
    multipart,
    quote_local_part,
    text_part,
    unstructured_header,
)
from maildesk.outbound.subjects import find_ticket_number, strip_subject, tag_subject, ticket_tag_pattern

__all__ = [
    "AddressLike",
    "ComposeError",
    "Recipient",
    "compose",
    "find_ticket_number",
    "make_message_id",
    "strip_subject",
    "tag_subject",
    "ticket_tag_pattern",
    "writable_id",
]

# Long threads would otherwise grow References past the 998-octet line limit;
# RFC 5322 §3.6.4 allows trimming, keeping the root and the most recent ids.
MAX_REFERENCES = 20
# The longest id that still fits on one header line ("In-Reply-To: <id>" within 998 octets).
MAX_WRITTEN_ID = 998 - len("In-Reply-To: <>")

# Headers compose() writes itself; an extra header with one of these names would
# duplicate it, which breaks threading or delivery in subtle ways.
_MANAGED_HEADERS = frozenset(
    name.lower()
    for name in (
        "From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To",
        "References", "Auto-Submitted", "X-Auto-Response-Suppress", "X-Maildesk-Loop",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
    )
)  # fmt: skip

# Characters of an RFC 5322 dot-atom: what may stand left of the "@" of a Message-ID.
_ATOM_TEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
# A domain as RFC 5322 §3.4.1 allows it: dot-atom text or a [literal].
_DOMAIN = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+|\[[\x21-\x5a\x5e-\x7e]*\]")
_BLANKS = re.compile(r"[ \t]+")
# RFC 5322 field names: printable ASCII but the colon.
_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")
# RFC 2045 token, for the halves of a content type (compared lower-cased).
_TOKEN = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
# A bare address of dot-atoms, as the desk mostly writes to (a reporter, staff, a reply address with its
# token): ``parseaddr`` gives ("", it) for such a string, and a reporter's or token's is new with each ticket.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_BARE_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


class ComposeError(MaildeskError):
    """The parts given to ``compose`` cannot make a valid mail; the message says which part."""


class _NamedAddress(Protocol):
    """Anything with a display name and an address, like ``maildesk.mail.Address``."""

    @property
    def name(self) -> str: ...

    @property
    def addr(self) -> str: ...


AddressLike = tuple[str, str] | _NamedAddress
# A recipient is an address, a "Name <addr>" string, or a (name, addr) pair.
Recipient = str | AddressLike


def _bare_id(value: str, what: str) -> str:
    bare = value.strip().removeprefix("<").removesuffix(">").strip()
    # printable ASCII holds no white space but the space: three searches instead of a loop over the characters
    if (
        not bare
        or "@" not in bare
        or not bare.isascii()
        or not bare.isprintable()
        or " " in bare
        or "<" in bare
        or ">" in bare
    ):
        raise ComposeError(f"{what}: not a message id: {value!r}")
    return bare


def writable_id(value: str) -> str | None:
    """``value`` bare, when it is a Message-ID maildesk may write (RFC 5322 §3.6.4); else None.

    The ids a mail answers come from other people's mail and are stored as they came (see
    ``maildesk.ingest.msgids``): without "@", non-ASCII, shortened from 100 kB. Such an id
    cannot go into In-Reply-To or References, so it is left out rather than refusing the mail.
    """
    bare = value.strip().removeprefix("<").removesuffix(">")
    left, at, right = bare.rpartition("@")
    if not at or len(bare) > MAX_WRITTEN_ID or not _ATOM_TEXT.fullmatch(left) or not _DOMAIN.fullmatch(right):
        return None
    return bare


def _mailbox(name: str, addr: str, what: str) -> tuple[str, str]:
    """(display name, addr-spec as it goes in the header)."""
    name, addr = _BLANKS.sub(" ", name.strip()), addr.strip()  # a display name is one line: tabs are noise
    if "\r" in name or "\n" in name:
        raise ComposeError(f"{what}: bad address {addr!r}: a line break in the display name {name!r}")
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain:
        raise ComposeError(f"{what}: not a mail address: {addr!r}")
    if not local.isascii():
        raise ComposeError(f"{what}: a non-ASCII local part needs SMTPUTF8, which maildesk does not send")
    if not local.isprintable():
        raise ComposeError(f"{what}: bad address {addr!r}: control characters in the local part")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ComposeError(f"{what}: bad domain in {addr!r}: {exc}") from exc
    if not _DOMAIN.fullmatch(domain):
        raise ComposeError(f"{what}: bad domain in {addr!r}")
    already_quoted = len(local) > 1 and local[0] == local[-1] == '"'
    return name, f"{local if already_quoted else quote_local_part(local)}@{domain}"


@functools.lru_cache(maxsize=4096)
def _parsed(value: str) -> tuple[str, str]:
    """``parseaddr``, remembered: a desk writes to the same people all day, and parsing costs ~90 µs."""
    return parseaddr(value)


@functools.lru_cache(maxsize=64)
def _from_header(name: str, addr: str) -> str:
    """The From header, remembered: it is the desk's own address, the same on every mail it sends."""
    return address_header("From", [_mailbox(name, addr, "from_addr")])


def _recipient(value: Recipient, what: str) -> tuple[str, str]:
    if isinstance(value, str):
        name, addr = ("", value) if _BARE_ADDRESS.fullmatch(value) else _parsed(value)
        if not addr:
            raise ComposeError(f"{what}: not a mail address: {value!r}")
        return _mailbox(name, addr, what)
    if isinstance(value, tuple):
        return _mailbox(value[0], value[1], what)
    return _mailbox(value.name, value.addr, what)


def _text_header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:  # refuse instead of letting the value start a new header
        raise ComposeError(f"header {name}: a value may not contain CR or LF: {value!r}")
    return unstructured_header(name, value)


def _text_part(text: str, subtype: str) -> tuple[Part, list[bytes]]:
    """The part, and its body again when it went unencoded (a boundary must not occur in it)."""
    try:
        part, unencoded = text_part(text, subtype)
    except UnicodeEncodeError as exc:
        raise ComposeError(f"{subtype}: text that cannot be written as UTF-8: {exc}") from exc
    return part, [part[1]] if unencoded else []


def _mime_type(content_type: str, what: str) -> str:
    maintype, _, subtype = content_type.strip().lower().partition("/")
    if not _TOKEN.fullmatch(maintype) or not _TOKEN.fullmatch(subtype) or maintype == "multipart":
        raise ComposeError(f"{what}: not a content type: {content_type!r}")
    return f"{maintype}/{subtype}"


def _references(references: Sequence[str], in_reply_to: str | None) -> list[str]:
    ids: list[str] = []
    for ref in references:
        bare = writable_id(ref)
        if bare is not None and bare not in ids:
            ids.append(bare)
    if in_reply_to is not None:
        # The parent belongs last in References (RFC 5322 §3.6.4) even if the caller forgot it.
        if in_reply_to in ids:
            ids.remove(in_reply_to)
        ids.append(in_reply_to)
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1) :]
    return ids


def _thread_headers(message_id: str, in_reply_to: str | None, references: Sequence[str]) -> str:
    lines = [f"Message-ID: <{_bare_id(message_id, 'message_id')}>{CRLF}"]
    parent = writable_id(in_reply_to) if in_reply_to is not None else None
    if parent is not None:
        lines.append(f"In-Reply-To: <{parent}>{CRLF}")
    refs = _references(references, parent)
    if refs:
        # Folded between ids only: an id cut or encoded can no longer be matched to its mail.
        folder = HeaderFolder("References")
        for ref in refs:
            folder.literal(f"<{ref}>")
        lines.append(folder.text())
    return "".join(lines)


def _headers(
    *,
    from_addr: AddressLike,
    to: Sequence[Recipient],
    cc: Sequence[Recipient],
    reply_to: Recipient | None,
    subject: str,
    date: datetime,
    message_id: str,
    in_reply_to: str | None,
    references: Sequence[str],
    auto_submitted: str | None,
    loop_header_value: str | None,
    extra_headers: Mapping[str, str],
) -> str:
    name, addr = (from_addr[0], from_addr[1]) if isinstance(from_addr, tuple) else (from_addr.name, from_addr.addr)
    lines = [_from_header(name, addr)]
    if to:
        lines.append(address_header("To", [_recipient(r, "to") for r in to]))
    if cc:
        lines.append(address_header("Cc", [_recipient(r, "cc") for r in cc]))
    if reply_to is not None:
        lines.append(address_header("Reply-To", [_recipient(reply_to, "reply_to")]))
    lines.append(_text_header("Subject", subject))
    lines.append(f"Date: {format_datetime(date)}{CRLF}")
    lines.append(_thread_headers(message_id, in_reply_to, references))
    if auto_submitted is not None:
        lines.append(f"Auto-Submitted: {auto_submitted}{CRLF}")  # RFC 3834: no auto-reply to an auto-reply
        # Exchange/Outlook honour this instead; without it out-of-office replies come back.
        lines.append(f"X-Auto-Response-Suppress: OOF, AutoReply{CRLF}")
    if loop_header_value is not None:
        lines.append(_text_header("X-Maildesk-Loop", loop_header_value))
    for name, value in extra_headers.items():
        if name.lower() in _MANAGED_HEADERS:
            raise ComposeError(f"extra_headers: {name} is set by compose itself")
        if not _FIELD_NAME.fullmatch(name):
            raise ComposeError(f"extra_headers: not a header name: {name!r}")
        lines.append(_text_header(name, value))
    return "".join(lines)


def compose(
    *,
    from_addr: AddressLike,
    to: Sequence[Recipient],
    cc: Sequence[Recipient] = (),
    subject: str,
    text: str,
    html: str | None = None,
    message_id: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    auto_submitted: str | None = "auto-replied",
    loop_header_value: str | None = None,
    reply_to: Recipient | None = None,
    extra_headers: Mapping[str, str] | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    inline_images: Sequence[tuple[str, str, bytes]] = (),
    date: datetime,
) -> bytes:
    """Return a complete RFC 5322 message, CRLF line ends, 7-bit clean.

    Ids are bare (no angle brackets; brackets are tolerated). ``attachments`` are
    ``(filename, content_type, data)``; ``inline_images`` are ``(content_id,
    content_type, data)`` referenced from ``html`` as ``cid:content_id``.
    Structure: text, or alternative(text, html), or alternative(text,
    related(html, images)), wrapped in mixed when there are attachments.
    Text parts travel in canonical CRLF form (RFC 2045 §6.8).
    """
    if not to and not cc:
        raise ComposeError("to: a mail needs at least one recipient")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ComposeError("date: needs a timezone (a naive datetime would be sent as local time)")
    if inline_images and html is None:
        raise ComposeError("inline_images: inline images need an HTML part to show them")
    if auto_submitted is not None and auto_submitted not in ("auto-replied", "auto-generated"):
        raise ComposeError(f"auto_submitted: expected auto-replied or auto-generated, got {auto_submitted!r}")

    head = _headers(
        from_addr=from_addr,
        to=to,
        cc=cc,
        reply_to=reply_to,
        subject=subject,
        date=date,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
        loop_header_value=loop_header_value,
        extra_headers=extra_headers or {},
    )
    plain, unencoded = _text_part(text, "plain")
    html_part: Part | None = None
    if html is not None:
        html_part, html_unencoded = _text_part(html, "html")
        unencoded = unencoded + html_unencoded
    images = [
        inline_part(_mime_type(ctype, f"inline image {cid}"), _bare_id(cid, "inline image content id"), data)
        for cid, ctype, data in inline_images
    ]
    files = [
        attachment_part(_mime_type(ctype, f"attachment {filename}"), filename, data)
        for filename, ctype, data in attachments
    ]

    root = plain
    if html_part is not None or files:
        stem = boundary_stem(message_id, unencoded)
        if html_part is not None:
            if images:
                html_part = multipart("related", stem + "_r", [html_part, *images])
            root = multipart("alternative", stem + "_a", [plain, html_part])
        if files:
            root = multipart("mixed", stem + "_m", [root, *files])
    return (head + "MIME-Version: 1.0" + CRLF + root[0] + CRLF).encode("ascii") + root[1]


def make_message_id(domain: str, unique: str) -> str:
    """A bare Message-ID ``maildesk.<unique>@<domain>``; the same input gives the same id.

    Pass the outbox row's stable key as ``unique`` so a retried send keeps its id;
    an empty ``unique`` gives a random id. Characters a Message-ID may not carry
    are replaced by a hash of ``unique``.
    """
    domain = domain.strip().strip(".")
    if not domain or any(c.isspace() or c in "<>@" for c in domain):
        raise ComposeError(f"message id domain: not a domain: {domain!r}")
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    if not unique:
        local = uuid.uuid4().hex
    elif _ATOM_TEXT.fullmatch(unique) and ".." not in unique and not unique.endswith("."):
        local = unique
    else:
        local = hashlib.sha256(unique.encode("utf-8")).hexdigest()[:32]
    return f"maildesk.{local}@{domain}"

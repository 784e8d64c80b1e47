"""Raw mail bytes → ``InboundMail``. Never raises: whatever is wrong with a mail becomes a defect.

The standard library's ``email`` package (compat32 policy, the fastest one) does the MIME
splitting; header words, charsets, file names and HTML are decoded here because real
Chinese mail lies about them: GB2312 labels on GBK text, raw 8-bit headers, file names in
RFC 2047 words inside quotes. mail-parser was measured on the same fixtures and got those
cases wrong (and is ~5x slower), so it is not used on this path.

Memory: the parser is fed through ``maildesk.ingest.mimefeed``, which keeps big attachments
out of it, so parsing a 57 MB mail costs about its decoded attachments, not nine times the mail.
Ids are normalised by ``maildesk.ingest.msgids`` so that they store and match alike everywhere.
"""

from __future__ import annotations

import email
import email.utils
import hashlib
import logging
import re
from datetime import UTC, datetime

from maildesk.ingest.charsets import CONTROL_CHARS, Defects, decode_words, raw_to_text
from maildesk.ingest.htmltext import html_to_text
from maildesk.ingest.mimebody import Body, walk
from maildesk.ingest.mimefeed import MimeFeed
from maildesk.ingest.msgids import normalise_message_id
from maildesk.mail import Address, InboundMail

_log = logging.getLogger(__name__)

# inside the brackets an id may be folded or hold stray spaces: normalisation removes them
_ANGLE_ID = re.compile(r"<([^<>]+)>")
_SPACES = re.compile(r"\s+")
# References kept for threading: the root and the most recent ones (RFC 5322 §3.6.4 allows
# trimming); a header of thousands of ids would otherwise become one huge database lookup.
MAX_REFERENCES = 100
# The blank line after the headers.
_HEADERS_END = re.compile(rb"\r?\n\r?\n")
# Defects that say the body, or the whole mail, could not be read; the pipeline names them.
UNREADABLE_BODY = "MIME structure unreadable, only the headers were read"
UNPARSABLE = "unparsable mail"
# As wide as the store's address and name columns, which PostgreSQL enforces and SQLite does not:
# cut (names) or refused (addresses) here, a mail fares the same on both.
MAX_ADDRESS_CHARS = 320
MAX_NAME_CHARS = 200


def _addresses(values: list[str], defects: Defects, name: str) -> tuple[Address, ...]:
    found: list[Address] = []
    for value in values:
        # Raw 8-bit names are decoded before splitting: the splitter wants text.
        text = _SPACES.sub(" ", raw_to_text(value, defects, f"header {name}"))
        for display, mailbox in email.utils.getaddresses([text]):
            addr = CONTROL_CHARS.sub("", mailbox).strip().lower()
            if len(addr) > MAX_ADDRESS_CHARS:  # no server delivers to it; PostgreSQL would refuse to store it
                defects.add(f"header {name}: an address of {len(addr)} characters ignored")
            elif addr:
                found.append(Address(decode_words(display, defects).strip("\"' ")[:MAX_NAME_CHARS], addr))
    return tuple(found)


def _bare_ids(value: str | None) -> tuple[str, ...]:
    """Normalised message ids without angle brackets, in order, each once; bare ids are accepted too."""
    if not value:
        return ()
    found = _ANGLE_ID.findall(value) or [t.strip("<>,;") for t in value.split() if "@" in t]
    return tuple(dict.fromkeys(i for i in map(normalise_message_id, found) if i))


def _references(value: str, defects: Defects) -> tuple[str, ...]:
    ids = _bare_ids(value)
    if len(ids) > MAX_REFERENCES:
        defects.add(f"References: {len(ids)} ids; kept the first and the last {MAX_REFERENCES - 1}")
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1):]
    return ids


def _date(value: str | None, defects: Defects) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            defects.add(f"unparsable Date {value[:60]!r}")
            return None
        if parsed.tzinfo is None:  # a local time without its zone is a guess either way: refuse it
            defects.add(f"Date without time zone {value[:60]!r}")
            return None
    if parsed.tzinfo is None:  # RFC 5322 "-0000" means UTC with the local zone unknown
        if "-0000" not in value:
            defects.add(f"Date without time zone {value[:60]!r}; taken as UTC")
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _first(headers: dict[str, tuple[str, ...]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _header_block(raw: bytes) -> bytes:
    """The mail up to the blank line that ends its headers (all of it when there is none)."""
    end = _HEADERS_END.search(raw)
    return raw[: end.end()] if end else raw


def _build(raw: bytes, defects: Defects, *, headers_only: bool = False) -> InboundMail:
    feed = MimeFeed(_header_block(raw) if headers_only else raw)
    msg = feed.message()
    items = list(msg.raw_items())
    if not raw or raw.isspace():  # not raw.strip(): that copies a mail ending in a line break
        defects.add("empty input")
    elif not items:
        defects.add("no headers")
    headers: dict[str, list[str]] = {}
    for name, value in items:
        key = name.strip().lower()
        headers.setdefault(key, []).append(decode_words(str(value), defects, f"header {key}"))
    decoded = {name: tuple(values) for name, values in headers.items()}
    raw_values: dict[str, list[str]] = {}
    for name, value in items:
        raw_values.setdefault(name.strip().lower(), []).append(str(value))

    body = Body(feed)
    if headers_only:
        body.note_report(msg, msg.get_content_type())  # what the top header says is all there is
    else:
        walk(msg, body, defects)
    del msg  # the parsed tree holds the mail's text: free it before the rest is built
    html = "\n".join(body.html) if body.html else None
    text = "\n".join(body.plain)
    if not text.strip() and html:
        text = html_to_text(html)

    message_id = next(iter(_bare_ids(_first(decoded, "message-id"))), "")
    if not message_id and (_first(decoded, "message-id") or "").strip():
        message_id = normalise_message_id((_first(decoded, "message-id") or "").split()[0])
    if not message_id:
        defects.add("no Message-ID; synthesised from the raw bytes")
        message_id = hashlib.sha256(raw).hexdigest()[:32] + "@maildesk.invalid"
    senders = _addresses(raw_values.get("from", []), defects, "from")
    if raw_values.get("from") and not senders:
        defects.add("From header without an address")
    return InboundMail(
        raw=raw,
        message_id=message_id,
        subject=_first(decoded, "subject") or "",
        from_addr=senders[0] if senders else None,
        to=_addresses(raw_values.get("to", []), defects, "to"),
        cc=_addresses(raw_values.get("cc", []), defects, "cc"),
        reply_to=_addresses(raw_values.get("reply-to", []), defects, "reply-to"),
        date=_date(_first(decoded, "date"), defects),
        in_reply_to=next(iter(_bare_ids(_first(decoded, "in-reply-to"))), None),
        references=_references(" ".join(decoded.get("references", ())), defects),
        text=text,
        html=html,
        attachments=tuple(body.attachments),
        headers=decoded,
        defects=tuple(defects),
        reports=tuple(body.reports),
    )


def parse_mail(raw: bytes) -> InboundMail:
    """Parse one mail; never raises: anything odd about it ends up in ``defects``.

    When the body cannot be read (MIME nested ten thousand deep makes the standard library's
    parser recurse until Python stops it), the headers still are: sender, subject and ids
    make a ticket, and the raw bytes are kept with the mail.
    """
    raw = bytes(raw)
    defects = Defects()
    try:
        return _build(raw, defects)
    except Exception as exc:
        _log.warning("mail body could not be parsed, reading the headers only: %s: %s", type(exc).__name__, exc)
        defects.add(f"{UNREADABLE_BODY}: {type(exc).__name__}: {str(exc)[:200]}")
    try:
        return _build(raw, defects, headers_only=True)
    except Exception as exc:  # the last line of defence: a mail we cannot read is still a mail
        _log.warning("mail could not be parsed: %s: %s", type(exc).__name__, exc)
        defects.add(f"{UNPARSABLE}: {type(exc).__name__}: {str(exc)[:200]}")
        return InboundMail(
            raw=raw,
            message_id=hashlib.sha256(raw).hexdigest()[:32] + "@maildesk.invalid",
            subject="",
            from_addr=None,
            defects=tuple(defects),
        )


def parse_or_error(raw: bytes) -> InboundMail | Exception:
    """The parsed mail, or what stopped the parser: raised again where the mail is stored, which quarantines it."""
    try:
        return parse_mail(raw)
    except Exception as exc:  # parse_mail reads anything; this is for what it did not foresee
        return exc

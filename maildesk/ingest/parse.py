"""Raw mail bytes → ``InboundMail``. Never raises: whatever is wrong with a mail becomes a defect.

The standard library's ``email`` package (compat32 policy, the fastest one) does the MIME
splitting; header words, charsets, file names and HTML are decoded here because real
Chinese mail lies about them: GB2312 labels on GBK text, raw 8-bit headers, file names in
RFC 2047 words inside quotes. mail-parser was measured on the same fixtures and got those
cases wrong (and is ~5x slower), so it is not used on this path.
"""

from __future__ import annotations

import email
import email.utils
import hashlib
import logging
import mimetypes
import re
from datetime import UTC, datetime
from email.message import Message
from email.policy import compat32

from maildesk.ingest.charsets import (
    CONTROL_CHARS,
    Defects,
    decode_bytes,
    decode_words,
    lenient_b64decode,
    raw_to_text,
)
from maildesk.ingest.htmltext import html_to_text
from maildesk.ingest.mail import Address, Attachment, InboundMail

_log = logging.getLogger(__name__)

_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
_SPACES = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_MAX_DEPTH = 20


def _addresses(values: list[str], defects: Defects, name: str) -> tuple[Address, ...]:
    found: list[Address] = []
    for value in values:
        # Raw 8-bit names are decoded before splitting: the splitter wants text.
        text = _SPACES.sub(" ", raw_to_text(value, defects, f"header {name}"))
        for display, mailbox in email.utils.getaddresses([text]):
            addr = CONTROL_CHARS.sub("", mailbox).strip().lower()
            if addr:
                found.append(Address(decode_words(display, defects).strip("\"' "), addr))
    return tuple(found)


def _bare_ids(value: str | None) -> tuple[str, ...]:
    """Message ids without angle brackets, in order, each once; bare ids are accepted too."""
    if not value:
        return ()
    ids = _ANGLE_ID.findall(value) or [t.strip("<>,;") for t in value.split() if "@" in t]
    return tuple(dict.fromkeys(ids))


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


def _raw_param(
    part: Message, name: str, header: str = "content-type"
) -> str | tuple[str | None, str | None, str] | None:
    """A header parameter as the library gives it, or None where its parameter parser gives up."""
    try:
        value = part.get_param(name, None, header)
    except Exception:  # decode_params raises TypeError/ValueError on mangled RFC 2231 continuations
        return None
    return value if isinstance(value, str | tuple) else None


def _text_param(part: Message, name: str) -> str:
    value = _raw_param(part, name)
    return (value[2] if isinstance(value, tuple) else value or "").strip().lower()


def _param(part: Message, name: str, header: str, defects: Defects) -> str | None:
    value = next((str(v) for k, v in part.raw_items() if k.lower() == header), None)
    if value is None:
        return None
    text = raw_to_text(value, defects, "attachment name")
    if text is not value:  # the library would turn raw 8-bit names into U+FFFD: give it decoded text
        part = Message()
        part[header] = text
    raw = _raw_param(part, name, header)
    if raw is None:
        return None
    if isinstance(raw, tuple):  # RFC 2231: (charset, language, %-decoded text as latin-1)
        try:
            data = str(raw[2]).encode("latin-1", "surrogateescape")
        except UnicodeEncodeError:  # already text: the name held raw 8-bit bytes as well as %-escapes
            data = str(raw[2]).encode("utf-8", "surrogateescape")
        return decode_words(decode_bytes(data, raw[0] or None, defects, "attachment name"), defects)
    return decode_words(str(raw), defects, "attachment name")


def _filename(part: Message, defects: Defects) -> str:
    name = _param(part, "filename", "content-disposition", defects) or _param(part, "name", "content-type", defects)
    if not name:
        return ""
    # Keep only the last path segment so no later stage can be led outside its directory.
    name = re.split(r"[/\\]", name)[-1]
    return CONTROL_CHARS.sub("", name).strip().strip(".")[:255]


def _payload_bytes(part: Message, defects: Defects) -> bytes:
    try:
        payload = part.get_payload()
    except (LookupError, ValueError):  # it decodes stray 8-bit bytes with the part's charset label
        payload = ""
    if isinstance(payload, list):  # message/rfc822 and message/delivery-status: keep them as mail bytes
        return b"".join(p.as_bytes() for p in payload if isinstance(p, Message))
    if str(part.get("content-transfer-encoding", "")).strip().lower() == "base64":
        # The library stops at the first padding and hands back the encoded text when the length is
        # off (a cut-off upload); decode what can be decoded instead.
        text = str(payload)  # 8-bit bytes in base64 are junk whatever they were meant to be
        data, clean = lenient_b64decode(text.encode("ascii", "ignore"))
        if not clean or not text.isascii():
            defects.add(f"{part.get_content_type()}: invalid base64 ignored")
        return data
    decoded = part.get_payload(decode=True)
    return decoded if isinstance(decoded, bytes) else b""


def _unflow(text: str, delsp: bool) -> str:
    """Join RFC 3676 format=flowed soft line breaks (Thunderbird, Apple Mail)."""
    out: list[str] = []
    carry = ""
    for piece in text.split("\n"):
        line = carry + piece
        if line.endswith(" ") and line != "-- ":
            carry = line[:-1] if delsp else line
        else:
            out.append(line)
            carry = ""
    if carry:
        out.append(carry)
    return "\n".join(out)


class _Body:
    """What one walk over the MIME tree collects."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []


def _text_part(part: Message, ctype: str, body: _Body, defects: Defects) -> None:
    data = _payload_bytes(part, defects)
    label: str | None = _text_param(part, "charset") or None
    if not label and ctype == "text/html":
        found = _META_CHARSET.search(data[:2048])
        label = found.group(1).decode("ascii") if found else None
    text = decode_bytes(data, label, defects, ctype).replace("\r\n", "\n").replace("\r", "\n")
    text = CONTROL_CHARS.sub("", text)  # NUL and friends: unreadable, and PostgreSQL refuses NUL
    if ctype == "text/html":
        body.html.append(text)
    elif _text_param(part, "format") == "flowed":
        body.plain.append(_unflow(text, _text_param(part, "delsp") == "yes"))
    else:
        body.plain.append(text)


def _walk(part: Message, body: _Body, defects: Defects, depth: int = 0) -> None:
    try:
        _walk_part(part, body, defects, depth)
    except Exception as exc:  # one bad part must not cost the other parts
        defects.add(f"{part.get_content_type()} part skipped: {type(exc).__name__}: {exc}")
    # Decoding a payload adds to the part's defects, so they are read afterwards.
    for defect in part.defects:
        defects.add(type(defect).__name__)


def _walk_part(part: Message, body: _Body, defects: Defects, depth: int) -> None:
    if depth > _MAX_DEPTH:
        defects.add("MIME nesting too deep; inner parts ignored")
        return
    ctype = part.get_content_type()
    if ctype.startswith("multipart/"):
        if not part.is_multipart():  # no usable boundary: the "parts" are one text, maybe readable
            _text_part(part, "text/plain", body, defects)
            return
        for child in part.get_payload():
            if isinstance(child, Message):
                _walk(child, body, defects, depth + 1)
        return
    disposition = part.get_content_disposition()
    filename = _filename(part, defects)
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        _text_part(part, ctype, body, defects)
        return
    content_id = decode_words(str(part.get("Content-ID", "")), defects).strip("<>") or None
    if not filename:
        inner = part.get_payload(0) if ctype == "message/rfc822" and part.is_multipart() else None
        subject = decode_words(str(inner.get("Subject", "")), defects) if isinstance(inner, Message) else ""
        if subject:
            filename = re.sub(r'[/\\:*?"<>|]', "_", subject)[:100] + ".eml"
        else:
            textual = ctype.startswith(("text/", "message/"))  # delivery reports, header dumps
            extension = mimetypes.guess_extension(ctype) or (".txt" if textual else ".bin")
            filename = f"attachment-{len(body.attachments) + 1}{extension}"
    inline = disposition == "inline" or (disposition is None and content_id is not None)
    body.attachments.append(Attachment(filename, ctype, _payload_bytes(part, defects), content_id, inline))


def _first(headers: dict[str, tuple[str, ...]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _build(raw: bytes, defects: Defects) -> InboundMail:
    msg = email.message_from_bytes(raw, policy=compat32)
    items = list(msg.raw_items())
    if not raw.strip():
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

    body = _Body()
    _walk(msg, body, defects)
    html = "\n".join(body.html) if body.html else None
    text = "\n".join(body.plain)
    if not text.strip() and html:
        text = html_to_text(html)

    message_id = next(iter(_bare_ids(_first(decoded, "message-id"))), "")
    if not message_id and (_first(decoded, "message-id") or "").strip():
        message_id = (_first(decoded, "message-id") or "").split()[0].strip("<>")
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
        references=_bare_ids(" ".join(decoded.get("references", ()))),
        text=text,
        html=html,
        attachments=tuple(body.attachments),
        headers=decoded,
        defects=tuple(defects),
    )


def parse_mail(raw: bytes) -> InboundMail:
    """Parse one mail; never raises: anything odd about it ends up in ``defects``."""
    defects = Defects()
    try:
        return _build(bytes(raw), defects)
    except Exception as exc:  # the last line of defence: a mail we cannot read is still a mail
        _log.warning("mail could not be parsed: %s: %s", type(exc).__name__, exc)
        defects.add(f"unparsable mail: {type(exc).__name__}: {exc}")
        return InboundMail(
            raw=bytes(raw),
            message_id=hashlib.sha256(bytes(raw)).hexdigest()[:32] + "@maildesk.invalid",
            subject="",
            from_addr=None,
            defects=tuple(defects),
        )

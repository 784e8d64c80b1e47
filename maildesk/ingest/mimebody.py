"""One walk over a parsed mail's MIME tree: its text, its HTML, its attachments, the reports it makes.

Whatever is wrong with a part becomes a defect and costs only that part: charsets that lie,
mangled RFC 2231 file names, cut-off base64, nesting deeper than ``_MAX_DEPTH``.
"""

from __future__ import annotations

import binascii
import mimetypes
import re
from email.message import Message

from maildesk.ingest.charsets import CONTROL_CHARS, Defects, decode_bytes, decode_words, lenient_b64decode, raw_to_text
from maildesk.ingest.mimefeed import MimeFeed
from maildesk.mail import Attachment

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_MAX_DEPTH = 20
# base64 as mail clients write it: the alphabet in lines, padding only at the end.
_CLEAN_BASE64 = re.compile(r"[A-Za-z0-9+/\s]*=?=?\s*")
# What part types say that a mail is a report, and of which kind (RFC 3462, 3464, 3798, 6533).
_REPORT_PARTS = {
    "message/delivery-status": "delivery-status",
    "message/global-delivery-status": "delivery-status",
    "message/disposition-notification": "disposition-notification",
    "message/global-disposition-notification": "disposition-notification",
}


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


def _payload_bytes(part: Message, defects: Defects, feed: MimeFeed) -> bytes:
    settled = feed.settle(part)  # a big base64 body comes decoded straight from the raw bytes
    if settled is not None:
        return settled
    try:
        payload = part.get_payload()
    except (LookupError, ValueError):  # it decodes stray 8-bit bytes with the part's charset label
        payload = ""
    if isinstance(payload, list):  # message/rfc822 and message/delivery-status: keep them as mail bytes
        return b"".join(p.as_bytes() for p in payload if isinstance(p, Message))
    if str(part.get("content-transfer-encoding", "")).strip().lower() == "base64":
        text = str(payload)
        if text.isascii() and _CLEAN_BASE64.fullmatch(text):
            # the usual case, decoded from the text as it is: no copy of a big attachment's base64
            try:
                return binascii.a2b_base64(text)
            except binascii.Error:  # the length is off: see below
                pass
        # The library stops at the first padding and hands back the encoded text when the length is
        # off (a cut-off upload); decode what can be decoded instead.
        # 8-bit bytes in base64 are junk whatever they were meant to be
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


class Body:
    """What one walk over the MIME tree collects."""

    def __init__(self, feed: MimeFeed) -> None:
        self.feed = feed
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []
        self.reports: list[str] = []

    def note_report(self, part: Message, ctype: str) -> None:
        """A report part or container (delivery status, read receipt) tells what the mail is."""
        kind = _text_param(part, "report-type") if ctype == "multipart/report" else _REPORT_PARTS.get(ctype, "")
        if kind and kind not in self.reports:
            self.reports.append(kind)


def _text_part(part: Message, ctype: str, body: Body, defects: Defects) -> None:
    data = _payload_bytes(part, defects, body.feed)
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


def walk(part: Message, body: Body, defects: Defects, depth: int = 0) -> None:
    try:
        _walk_part(part, body, defects, depth)
    except Exception as exc:  # one bad part must not cost the other parts
        defects.add(f"{part.get_content_type()} part skipped: {type(exc).__name__}: {exc}")
    # Decoding a payload adds to the part's defects, so they are read afterwards.
    for defect in part.defects:
        defects.add(type(defect).__name__)


def _walk_part(part: Message, body: Body, defects: Defects, depth: int) -> None:
    if depth > _MAX_DEPTH:
        defects.add("MIME nesting too deep; inner parts ignored")
        return
    ctype = part.get_content_type()
    body.note_report(part, ctype)
    if ctype.startswith("multipart/"):
        if not part.is_multipart():  # no usable boundary: the "parts" are one text, maybe readable
            _text_part(part, "text/plain", body, defects)
            return
        for child in part.get_payload():
            if isinstance(child, Message):
                walk(child, body, defects, depth + 1)
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
    body.attachments.append(Attachment(filename, ctype, _payload_bytes(part, defects, body.feed), content_id, inline))

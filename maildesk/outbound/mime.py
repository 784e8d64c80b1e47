"""The MIME pieces of an outgoing mail, written as text: folded headers, RFC 2047 words,
RFC 2231 parameters and encoded bodies.

The standard library's ``email.policy`` machinery parses every header it is given back
into a token tree before folding it, which made composing one mail 20 times slower
than writing it directly (``bench/compose.py``). maildesk only writes a handful of
header shapes, so they are written here directly. Everything returned is ASCII with CRLF line ends.

Limits kept: header lines at most 76 characters (RFC 2047 §2's limit for lines that carry
encoded words, inside RFC 5322's 78) unless one unbreakable token is longer; encoded words
at most 75 characters and never split inside a UTF-8 character; base64 lines of 76.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Sequence
from urllib.parse import quote

__all__ = [
    "CRLF",
    "HeaderFolder",
    "Part",
    "address_header",
    "attachment_part",
    "base64_body",
    "boundary_stem",
    "inline_part",
    "multipart",
    "param_header",
    "param_segments",
    "quote_local_part",
    "text_body",
    "text_part",
    "unstructured_header",
]

CRLF = "\r\n"
MAX_LINE = 76
# "=?utf-8?b?" + 60 base64 characters + "?=" is 72, inside the 75 of RFC 2047 §2.
_WORD_OVERHEAD = len("=?utf-8?b??=")
_WORD_BYTES = 45

# Printable ASCII without space: what may stand unencoded in a header.
_VISIBLE = re.compile(r"[\x21-\x7e]+")
_BLANKS = re.compile(r"([ \t]+)")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ATOM_PHRASE = re.compile(_ATEXT + r"(?: " + _ATEXT + r")*")
_DOT_ATOM = re.compile(_ATEXT + r"(?:\." + _ATEXT + r")*")
# Control characters that a 7bit text part should not carry raw (tab and line ends aside).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HIGH_BYTES = bytes(range(128, 256))
# RFC 2231 attribute-char beyond what urllib.parse.quote always leaves alone.
_ATTRIBUTE_SAFE = "!#$&+^`{|}"

# A MIME part as (its header lines, its body).
Part = tuple[str, bytes]


class HeaderFolder:
    """Builds one header field line by line, folding before a token that would not fit."""

    def __init__(self, name: str) -> None:
        self._lines: list[str] = []
        self._line = f"{name}:"

    def _fold(self) -> None:
        self._lines.append(self._line)
        self._line = ""

    def literal(self, token: str) -> None:
        """Add a token as it is, after one space; it moves to a new line when it does not fit."""
        if self._line and len(self._line) + 1 + len(token) > MAX_LINE:
            self._fold()  # right after the name too: "To:" alone on its first line is allowed
        self._line += " " + token

    def encoded(self, text: str, *, whole: bool = False) -> None:
        """Add text as RFC 2047 base64 words, filling the current line first.

        Decoders drop the white space between adjacent encoded words, so the folds between
        them add nothing to the text; each word ends on a whole UTF-8 character. With
        ``whole``, text that fits one word goes to the next line rather than being split
        (Python's own parser puts a space between the words of a split display name).
        """
        data = text.encode("utf-8")
        pos, size = 0, len(data)
        if whole and size <= _WORD_BYTES and len(self._line) + 1 + _WORD_OVERHEAD + (size + 2) // 3 * 4 > MAX_LINE:
            self._fold()
        while pos < size:
            room = min(_WORD_BYTES, (MAX_LINE - len(self._line) - 1 - _WORD_OVERHEAD) // 4 * 3)
            end = min(size, pos + room)
            if end < size:
                while end > pos and data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte
                    end -= 1
            if end <= pos:
                self._fold()
                continue
            self._line += " =?utf-8?b?" + binascii.b2a_base64(data[pos:end], newline=False).decode("ascii") + "?="
            pos = end

    def phrase(self, name: str) -> None:
        """A display name: atoms as they are, other ASCII quoted, anything else encoded."""
        if _ATOM_PHRASE.fullmatch(name) and "=?" not in name and max(map(len, name.split(" "))) < MAX_LINE - 2:
            for atom in name.split(" "):
                self.literal(atom)
        elif name.isascii() and name.isprintable() and len(name) < MAX_LINE - 4:
            self.literal('"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            self.encoded(name, whole=True)

    def text(self) -> str:
        """The finished header, CRLF at the end of each line."""
        return CRLF.join([*self._lines, self._line]) + CRLF


def unstructured_header(name: str, value: str) -> str:
    """A Subject-like header: printable ASCII words stay readable, runs of other words are encoded.

    ``value`` must hold no CR or LF. Runs of blanks between readable words become one space.
    """
    folder = HeaderFolder(name)
    pieces = _BLANKS.split(value.strip(" \t"))
    pending = ""  # consecutive words to encode together, with the blanks between them
    for i in range(0, len(pieces), 2):
        word = pieces[i]
        if not word:
            continue
        if _VISIBLE.fullmatch(word) and "=?" not in word and len(word) < MAX_LINE:
            if pending:
                folder.encoded(pending)
                pending = ""
            folder.literal(word)
        else:
            pending = pending + pieces[i - 1] + word if pending else word
    if pending:
        folder.encoded(pending)
    return folder.text()


def quote_local_part(local: str) -> str:
    """The local part of an address as a dot-atom, or quoted when it is not one."""
    if _DOT_ATOM.fullmatch(local):
        return local
    return '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'


def param_segments(key: str, value: str) -> list[str]:
    """``key=value`` for a header parameter: quoted ASCII, or RFC 2231 UTF-8, in continuations when long.

    Continuations break between characters, never inside one, so even a decoder that
    decodes each piece alone shows whole characters.
    """
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        plain = f'{key}="{value}"'
        if len(plain) < MAX_LINE - 2:
            return [plain]
    single = f"{key}*=utf-8''" + quote(value, safe=_ATTRIBUTE_SAFE)
    if len(single) < MAX_LINE - 2:
        return [single]
    segments: list[str] = []
    current = f"{key}*0*=utf-8''"
    started = False
    for char in value:
        piece = quote(char, safe=_ATTRIBUTE_SAFE)
        if started and len(current) + len(piece) > MAX_LINE - 2:
            segments.append(current)
            current = f"{key}*{len(segments)}*="
        current += piece
        started = True
    segments.append(current)
    return segments


def param_header(name: str, value: str, params: list[str]) -> str:
    """``Name: value; p1; p2`` with each parameter on a new line when it does not fit."""
    lines: list[str] = []
    line = f"{name}: {value}"
    for param in params:
        if len(line) + 2 + len(param) <= MAX_LINE:
            line += "; " + param
        else:
            lines.append(line + ";")
            line = " " + param
    lines.append(line)
    return CRLF.join(lines) + CRLF


def base64_body(data: bytes) -> bytes:
    """Base64 in lines of 76 characters, each ending in CRLF."""
    encoded = binascii.b2a_base64(data, newline=False)
    return b"".join([encoded[i : i + 76] + b"\r\n" for i in range(0, len(encoded), 76)])


def text_body(text: str) -> tuple[str, bytes]:
    """The transfer encoding and body bytes of a UTF-8 text part, in canonical CRLF form.

    Short-lined ASCII goes as it is (7bit); other text as quoted-printable when that is
    shorter (mostly ASCII, a few accents) and as base64 otherwise (Chinese). Raises
    UnicodeEncodeError for lone surrogates.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"  # a part's last line ends like the others, as the standard library's writer does
    if text.isascii() and not _CONTROL.search(text) and max(map(len, text.split("\n"))) <= 78:
        return "7bit", text.replace("\n", "\r\n").encode("ascii")
    data = text.replace("\n", "\r\n").encode("utf-8")
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    # quoted-printable writes 3 characters per non-ASCII byte, base64 4 per 3 bytes of any kind
    if high * 6 < len(data):
        return "quoted-printable", binascii.b2a_qp(data, istext=True)
    return "base64", base64_body(data)


def text_part(text: str, subtype: str) -> tuple[Part, bool]:
    """A ``text/subtype`` UTF-8 part, and whether its body went unencoded (7bit)."""
    cte, body = text_body(text)
    headers = f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}Content-Transfer-Encoding: {cte}{CRLF}'
    return (headers, body), cte == "7bit"


def inline_part(mime_type: str, content_id: str, data: bytes) -> Part:
    """An image shown inside the HTML as ``cid:content_id`` (bare id, checked by the caller)."""
    headers = (
        f"Content-Type: {mime_type}{CRLF}Content-Transfer-Encoding: base64{CRLF}"
        f"Content-Disposition: inline{CRLF}Content-ID: <{content_id}>{CRLF}"
    )
    return headers, base64_body(data)


def attachment_part(mime_type: str, filename: str, data: bytes) -> Part:
    """An attachment, its name in Content-Disposition and, for clients that only look there, Content-Type."""
    headers = (
        param_header("Content-Type", mime_type, param_segments("name", filename) if filename else [])
        + f"Content-Transfer-Encoding: base64{CRLF}"
        + param_header("Content-Disposition", "attachment", param_segments("filename", filename) if filename else [])
    )
    return headers, base64_body(data)


def multipart(subtype: str, boundary: str, parts: Sequence[Part]) -> Part:
    """A ``multipart/subtype`` part holding ``parts``; no preamble, no epilogue."""
    delimiter = f"--{boundary}".encode("ascii")
    pieces: list[bytes] = []
    for headers, body in parts:
        pieces += [delimiter, b"\r\n", headers.encode("ascii"), b"\r\n", body, b"\r\n"]
    pieces += [delimiter, b"--\r\n"]
    return param_header("Content-Type", f"multipart/{subtype}", [f'boundary="{boundary}"']), b"".join(pieces)


def boundary_stem(seed: str, unencoded: Sequence[bytes]) -> str:
    """A boundary stem derived from ``seed`` (the Message-ID), so the same mail gives the same bytes.

    Base64 and quoted-printable can never hold "=_" right after a line's "--"; a 7bit body
    could, so the stem changes until none of ``unencoded`` holds it. Callers add a distinct
    suffix per nesting level, none a prefix of another.
    """
    while True:
        stem = "=_" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:24]
        marker = f"--{stem}".encode("ascii")
        if not any(marker in body for body in unencoded):
            return stem
        seed += "+"


def address_header(name: str, mailboxes: Sequence[tuple[str, str]]) -> str:
    """An address-list header from (display name, addr-spec) pairs, folded between mailboxes."""
    folder = HeaderFolder(name)
    last = len(mailboxes) - 1
    for i, (display, spec) in enumerate(mailboxes):
        comma = "," if i < last else ""
        if display:
            folder.phrase(display)
            folder.literal(f"<{spec}>{comma}")
        else:
            folder.literal(spec + comma)
    return folder.text()

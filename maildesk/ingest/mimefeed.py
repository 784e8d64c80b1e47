"""Feeding a mail to the standard library's MIME parser without copies of its big parts.

Given a whole mail, ``email`` makes a str of it and a StringIO of that (4 bytes a
character), and keeps every line of a part as a str of its own until the part ends:
about 9 times the mail in memory, 500 MB for a 57 MB mail. Here the parser is fed a
slice at a time, and long stretches of base64 text (an attachment's body) are not fed
at all: each is replaced by a token line, and read straight from the raw bytes when
its part is read. Such a stretch can hold no MIME structure (no "-" to start a
boundary, no ":" or space to make a header), so the parser sees the same tree.
A part of another kind that holds one (base64 pasted into a text) gets its text back
whole, as the parser would have made it.
"""

from __future__ import annotations

import binascii
import re
import secrets
from email.feedparser import BytesFeedParser
from email.message import Message
from email.policy import compat32

FEED_BYTES = 1 << 20
# Shorter stretches go through the parser as they are: they cost it little.
RUN_BYTES = 64 * 1024
# Maximal stretches of the base64 alphabet and line ends (the look-behind keeps the search linear).
_STRETCH = re.compile(rb"(?<![A-Za-z0-9+/=\r\n])[A-Za-z0-9+/=\r\n]{%d,}" % RUN_BYTES)
_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_EOL = b"\r\n"
_INDEX_DIGITS = 8
# base64 text as it may stand around a stretch in a part: the alphabet, blanks, end padding.
_PIECE = re.compile(r"[A-Za-z0-9+/\s]*(?:=\s*){0,2}")


class MimeFeed:
    """One mail's bytes, parsed by ``message`` and read back part by part through ``settle``."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._spans = _runs(raw)
        # the token lines cannot be guessed, so a mail cannot forge one
        self._nonce = secrets.token_hex(16) if self._spans else ""

    def message(self) -> Message:
        """The parsed tree, its big base64 stretches stood in for by token lines."""
        parser = BytesFeedParser(policy=compat32)
        view = memoryview(self.raw)
        done = 0
        for index, (start, end) in enumerate([*self._spans, (len(view), len(view))]):
            for at in range(done, start, FEED_BYTES):
                parser.feed(bytes(view[at : min(at + FEED_BYTES, start)]))
            if end > start:
                parser.feed(f"{self._nonce}{index:0{_INDEX_DIGITS}d}".encode("ascii"))
            done = end
        message: Message = parser.close()
        return message

    def settle(self, part: Message) -> bytes | None:
        """Make ``part`` read as if parsed whole; for a base64 part holding stretches, its decoded bytes.

        Other parts (and the messages inside a message/rfc822 part) get their text back in place
        and None is returned: reading them as usual then gives what the parser would have given.
        """
        if not self._spans:
            return None
        payload = _stored_payload(part)
        if isinstance(payload, list):
            for inner in part.walk():
                self._restore(inner)
            return None
        if not isinstance(payload, str) or self._nonce not in payload:
            return None
        if str(part.get("content-transfer-encoding", "")).strip().lower() == "base64":
            decoded = self._decoded(payload)
            if decoded is not None:
                return decoded
        self._restore(part)
        return None

    def _restore(self, part: Message) -> None:
        payload = _stored_payload(part)
        if isinstance(payload, str) and self._nonce in payload:
            pieces = self._split(payload)
            for position in range(1, len(pieces), 2):
                start, end = self._spans[int(pieces[position])]
                pieces[position] = self.raw[start:end].decode("ascii")
            part.set_payload("".join(pieces))

    def _split(self, payload: str) -> list[str]:
        """text, index, text, index, ..., text: the payload around its token lines."""
        first, *rest = payload.split(self._nonce)
        pieces = [first]
        for piece in rest:
            pieces += [piece[:_INDEX_DIGITS], piece[_INDEX_DIGITS:]]
        return pieces

    def _decoded(self, payload: str) -> bytes | None:
        """The payload decoded piece by piece, or None where that could differ from decoding it whole."""
        parts: list[tuple[bytes | memoryview, int, bool]] = []  # data, base64 characters, padded
        for position, piece in enumerate(self._split(payload)):
            if position % 2:
                start, end = self._spans[int(piece)]
                letters = end - start - self.raw.count(b"\r", start, end) - self.raw.count(b"\n", start, end)
                parts.append((memoryview(self.raw)[start:end], letters, self.raw[end - 1] == ord("=")))
            elif piece.strip():
                if not piece.isascii() or not _PIECE.fullmatch(piece):
                    return None
                letters = len("".join(piece.split()))
                parts.append((piece.encode("ascii"), letters, "=" in piece))
        # decoding apart is decoding whole when all pieces but the last are whole groups of 4, unpadded
        if any(letters % 4 or padded for _, letters, padded in parts[:-1]):
            return None
        try:
            decoded = [binascii.a2b_base64(data) for data, _, _ in parts]
        except binascii.Error:  # the length is off: the usual lenient decoding says what it can
            return None
        return decoded[0] if len(decoded) == 1 else b"".join(decoded)


def _stored_payload(part: Message) -> object:
    """The payload as the parser stored it: get_payload() hands out a copy with raw 8-bit bytes
    replaced, and putting that back would lose them."""
    return getattr(part, "_payload", None)


def _runs(raw: bytes) -> list[tuple[int, int]]:
    """Spans of the raw mail that are pure base64 lines, long enough to keep out of the parser."""
    spans: list[tuple[int, int]] = []
    for found in _STRETCH.finditer(raw):
        start, end = found.span()
        if start:  # the stretch began after a non-base64 character: start at the next line
            newline = raw.find(b"\n", start, end)
            if newline < 0:
                continue
            start = newline + 1
        if end < len(raw):  # it stopped inside a line: end with the line before
            end = raw.rfind(b"\n", start, end)
        while start < end and raw[start] not in _ALPHABET:  # blank lines stay with the parser
            start += 1
        while end > start and raw[end - 1] in _EOL:  # so does the last line end
            end -= 1
        padding = raw.find(b"=", start, end)
        if end - start < RUN_BYTES or (padding >= 0 and raw[padding:end] not in (b"=", b"==")):
            continue  # too short, or padding before the end: leave it to the parser
        spans.append((start, end))
    return spans

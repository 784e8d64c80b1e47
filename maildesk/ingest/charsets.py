"""Decoding what mail headers and bodies claim to be: charsets, RFC 2047 words, base64.

Real Chinese mail lies about its charset: text labelled GB2312 holds GBK characters
(喆, 堃, 镕), Big5 text holds Microsoft's CP950 additions, old systems put raw GBK bytes
into headers with no label at all. Every function here degrades to a best guess and a
recorded defect instead of raising.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re

# Labels that real mail uses for a narrower charset than its text is really in.
_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "big5": "cp950", "ascii": "utf-8", "iso8859-1": "cp1252"}
# Labels seen in mail that Python's codec registry does not know.
_ALIASES = {
    "x-gbk": "gbk", "gb_2312-80": "gb2312", "csgb2312": "gb2312", "x-euc-cn": "gb2312", "x-big5": "big5",
    "cn-big5": "big5", "x-unicode20utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
}  # fmt: skip
# Tried after the declared charset fails, in this order: mainland Chinese mail is the normal case.
_FALLBACKS = ("utf-8", "gb18030", "big5hkscs")
# For Latin labels, text that decodes strictly as UTF-8 is the better bet than the label.
_LATIN = frozenset({"cp1252", "utf-8"})

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"[\r\n]+[ \t]*")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_B64_SHAPE = re.compile(rb"[A-Za-z0-9+/]*=*")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


class Defects(list[str]):
    """An ordered list of defect messages without repeats."""

    def add(self, message: str) -> None:
        if message not in self:
            self.append(message)


def codec_for(label: str | None) -> str | None:
    """The Python codec for text labelled ``label``, widened to what senders really use; None if unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower().split("*")[0]  # RFC 2231 allows "utf-8*zh"
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):  # "base64", "zlib", "rot13": not charsets
        return None
    return _WIDER.get(info.name, info.name)


def decode_bytes(data: bytes, label: str | None, defects: Defects, what: str) -> str:
    """Decode ``data`` labelled ``label``, falling back to likely charsets; never raises."""
    if data.isascii():
        return data.decode("ascii")
    declared = codec_for(label)
    if label and declared is None:
        defects.add(f"{what}: unknown charset {label!r}")
    if declared is None or declared in _LATIN:
        order: tuple[str, ...] = _FALLBACKS + ((declared,) if declared and declared != "utf-8" else ())
    else:
        order = (declared, *(c for c in ("big5hkscs", *_FALLBACKS) if c != declared))
    for codec in order:
        try:
            text = data.decode(codec)
        except UnicodeError:  # idna, punycode and utf-7 fail with other subclasses
            continue
        if declared and codec != declared and declared not in _LATIN:
            defects.add(f"{what}: declared {label} but decoded as {codec}")
        elif not label and what.startswith("header"):
            defects.add(f"{what}: raw 8-bit text without a charset")
        return text
    defects.add(f"{what}: undecodable bytes replaced")
    try:
        return data.decode(declared or "utf-8", "replace")
    except UnicodeError:
        return data.decode("utf-8", "replace")


def lenient_b64decode(data: bytes) -> tuple[bytes, bool]:
    """Decode base64 as far as it goes; the flag says whether it was clean (bad padding is forgiven)."""
    compact = data.translate(None, b" \t\r\n")
    try:
        return base64.b64decode(compact, validate=True), True
    except binascii.Error:
        pass
    out = bytearray()
    clean = _B64_SHAPE.fullmatch(compact) is not None
    for chunk in re.split(rb"=+", compact):  # some senders concatenate separately padded chunks
        segment = _B64_JUNK.sub(b"", chunk)
        if len(segment) % 4 == 1:  # a dangling sextet cannot make a byte: the input was cut short
            segment = segment[:-1]
        out += base64.b64decode(segment + b"=" * (-len(segment) % 4))
    return bytes(out), clean


def has_raw_bytes(value: str) -> bool:
    """Whether ``value`` still holds undecoded 8-bit bytes (the email parser keeps them as surrogates)."""
    return not value.isascii() and any("\udc80" <= char <= "\udcff" for char in value)


def raw_to_text(value: str, defects: Defects, what: str) -> str:
    """Turn the raw 8-bit bytes the parser left in ``value`` into text, guessing their charset."""
    if not has_raw_bytes(value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"), None, defects, what)


def _word_bytes(encoding: str, text: str) -> bytes:
    raw = text.encode("ascii", "surrogateescape")
    if encoding in "bB":
        data, clean = lenient_b64decode(raw)
        if not clean:
            raise ValueError("not base64")
        return data
    return quopri.decodestring(raw.replace(b"_", b" "), header=False)


def decode_words(value: str, defects: Defects, what: str = "header") -> str:
    """Unfold a header value and decode the raw 8-bit text and RFC 2047 words in it.

    Adjacent words in one charset are joined as bytes before decoding, because senders split
    the bytes of one Chinese character across two words.
    """
    value = _FOLD.sub(" ", raw_to_text(value, defects, what))
    if "=?" not in value:
        return CONTROL_CHARS.sub("", value).strip()
    pieces: list[tuple[str | None, bytes | str]] = []  # (charset label, bytes) or (None, plain text)
    pos, after_word = 0, False
    for match in _ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        if between and not (after_word and between.isspace()):
            pieces.append((None, between))
        label = match.group(1).lower()
        try:
            data = _word_bytes(match.group(2), match.group(3))
        except (binascii.Error, ValueError):
            defects.add(f"{what}: broken encoded word")
            pieces.append((None, match.group(0)))
        else:
            previous = pieces[-1] if pieces else None
            if previous and previous[0] == label and isinstance(previous[1], bytes):
                pieces[-1] = (label, previous[1] + data)
            else:
                pieces.append((label, data))
        pos, after_word = match.end(), True
    pieces.append((None, value[pos:]))
    out = [p if isinstance(p, str) else decode_bytes(p, label, defects, what) for label, p in pieces]
    return CONTROL_CHARS.sub("", "".join(out)).strip()

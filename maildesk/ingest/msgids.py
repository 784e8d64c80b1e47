"""Message ids as maildesk keeps and compares them, whatever a sender wrote.

Real mail carries ids that are not RFC 5322 ones: no "@", non-ASCII text, spaces, or
100 kB of junk. Such a mail is still a person's mail: its ids are stored and matched
like any other, after one normalisation that every place storing or looking up an
id from a mail uses (parse for Message-ID, In-Reply-To and References; the threading
lookups get those already normalised). The result is the same on SQLite and PostgreSQL:
whitespace and control characters removed, Unicode in NFC, and at most
``MAX_ID_BYTES`` UTF-8 bytes, so neither PostgreSQL's String(998) nor its index size
limit ever refuses it, and two copies of the same long id still find each other.

Only what maildesk writes is held to RFC 5322 (``maildesk.outbound.compose`` leaves out
the ids it may not write); what it stores is what the sender sent, made comparable.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Far above any id a real mail client makes (they stay under ~250 characters), well
# inside a 998-octet header line, String(998) and PostgreSQL's ~2,700-byte index entries.
MAX_ID_BYTES = 500
# What a shortened id keeps of the original, so a person can still recognise it.
_KEPT_CHARS = 64
# Marks a shortened id; being non-ASCII, it also keeps compose from ever writing one.
_ELLIPSIS = "\u2026"
_DIGEST_CHARS = 40
# Whitespace, controls (NUL is refused by PostgreSQL), and the brackets around an id.
_NOISE = re.compile(r"[\s\x00-\x1f\x7f<>]+")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def normalise_message_id(value: str) -> str:
    """The form in which an id from a mail is stored and compared; "" when nothing is left.

    Idempotent: a normalised id normalises to itself, so ids maildesk made, and ids
    read back from the database, pass through unchanged.
    """
    text = _NOISE.sub("", value)
    if not text:
        return ""
    # lone surrogates (undecodable raw bytes) cannot be stored as UTF-8 text anywhere
    text = unicodedata.normalize("NFC", _SURROGATES.sub("\ufffd", text))
    if len(text.encode("utf-8")) <= MAX_ID_BYTES:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
    return f"{text[:_KEPT_CHARS]}{_ELLIPSIS}{digest}"

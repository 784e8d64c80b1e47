"""Message ids as stored and compared: one normalisation for odd, foreign and huge ids."""

from __future__ import annotations

import pytest

from maildesk.ingest.msgids import MAX_ID_BYTES, normalise_message_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20261122.4f2a@mail.example.cn", "20261122.4f2a@mail.example.cn"),
        ("<20261122.4f2a@mail.example.cn>", "20261122.4f2a@mail.example.cn"),
        ("  <abc123>  ", "abc123"),  # no "@": still an id to store and match
        ("<ab c\r\n\tdef@x.example>", "abcdef@x.example"),  # folded or spaced inside the brackets
        ("<a\x00b@x.example>", "ab@x.example"),  # NUL, which PostgreSQL refuses in text
        ("<工单-7@例子.中国>", "工单-7@例子.中国"),  # non-ASCII kept as it came
        ("<cafe\u0301@x.example>", "caf\u00e9@x.example"),  # one Unicode form (NFC) on every path
        ("<bad\udcff@x.example>", "bad\ufffd@x.example"),  # an undecodable byte cannot be stored as text
        ("<>", ""),
        ("   ", ""),
    ],
)
def test_ids_are_cleaned_the_same_way_wherever_they_come_from(value: str, expected: str) -> None:
    """Brackets, whitespace and control characters go, non-ASCII stays in NFC, nothing else changes."""
    assert normalise_message_id(value) == expected


def test_a_huge_id_becomes_a_short_stable_form_that_still_tells_ids_apart() -> None:
    """A 100 kB id is stored as prefix…hash within the byte cap; the same id maps alike, another id not."""
    huge = "x" * 100_000 + "@attacker.example"
    other = "x" * 100_000 + "@attacker.example.net"
    short = normalise_message_id(f"<{huge}>")
    assert len(short.encode("utf-8")) <= MAX_ID_BYTES
    assert short.startswith("x" * 64 + "\u2026")
    assert normalise_message_id(huge) == short
    assert normalise_message_id(other) != short


def test_the_byte_cap_counts_bytes_not_characters() -> None:
    """An id of 400 Chinese characters (1,200 UTF-8 bytes) is shortened too; one just under the cap is not."""
    chinese = "工" * 400 + "@例子.中国"
    assert len(normalise_message_id(chinese).encode("utf-8")) <= MAX_ID_BYTES
    fits = "a" * (MAX_ID_BYTES - len("@x.example")) + "@x.example"
    assert normalise_message_id(fits) == fits


@pytest.mark.parametrize(
    "value",
    ["maildesk.ack.0f3a@example.com", "abc123", "工单@例子.中国", "y" * 100_000 + "@x", "工" * 400 + "@x"],
)
def test_normalising_twice_changes_nothing(value: str) -> None:
    """A stored id looked up again (a reply quoting it) normalises to itself."""
    once = normalise_message_id(value)
    assert normalise_message_id(once) == once
    assert normalise_message_id(f"<{once}>") == once

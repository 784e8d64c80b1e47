"""The ticket tag in a subject, and the Re:/Fw: prefixes around it.

Shared by the outbound templates (which tag subjects) and the ingest side (which finds
the tag in replies); ``maildesk.outbound.compose`` re-exports these names.
"""

from __future__ import annotations

import re

__all__ = ["find_ticket_number", "strip_subject", "tag_subject", "ticket_tag_pattern"]

# Reply and forward prefixes as Chinese and Western mail clients write them, with
# ASCII or full-width colons and Outlook's "RE[2]:" counters.
_REPLY_WORDS = ("re", "aw", "sv", "回复", "答复", "回覆")
_FORWARD_WORDS = ("fw", "fwd", "wg", "转发", "轉寄", "转寄")
_PREFIX = re.compile(
    r"^\s*(?P<word>" + "|".join(_REPLY_WORDS + _FORWARD_WORDS) + r")\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)


def ticket_tag_pattern(prefix: str) -> re.Pattern[str]:
    """The pattern of a ticket tag such as ``[TS-20261122-0007]``; group ``number`` is the number.

    It accepts any letter case and full-width brackets 【】 (typed by Chinese input
    methods); normalise the number with ``.upper()`` or use ``find_ticket_number``.
    """
    return re.compile(r"[\[【]\s*(?P<number>" + re.escape(prefix) + r"-\d{8}-\d{4,})\s*[\]】]", re.IGNORECASE)


def find_ticket_number(subject: str, prefix: str) -> str | None:
    """The first ticket number tagged in a subject, upper-cased, or None."""
    match = ticket_tag_pattern(prefix).search(subject)
    return match.group("number").upper() if match else None


def _strip_prefixes(subject: str) -> tuple[str, str | None]:
    """The subject without leading Re:/Fw: prefixes, and "Re" or "Fw" after the outermost one."""
    kind: str | None = None
    while match := _PREFIX.match(subject):
        if kind is None:
            kind = "Re" if match.group("word").lower() in _REPLY_WORDS else "Fw"
        subject = subject[match.end() :]
    return subject, kind


def strip_subject(subject: str, number: str | None = None) -> str:
    """A subject without Re:/Fw:/回复: prefixes and, given a ticket number, without its tag.

    ``RE: 回复: [TS-20261122-0007] 打印机卡纸`` becomes ``打印机卡纸``: the bare topic that
    templates put after their own label.
    """
    rest, _ = _strip_prefixes(" ".join(subject.split()))
    if number is not None:
        rest, _ = _strip_prefixes(_without_tag(rest, number))
    return rest


def _without_tag(subject: str, number: str) -> str:
    # A tag of ``number`` holds the number's trailing digits and dashes as they are (they have no case
    # to ignore); without them the pattern cannot match, so skip compiling it: a new ticket's number
    # is new to the regex cache every time, and compiling costs ~90 µs.
    tail = number[len(number.rstrip("0123456789-")):]
    if tail and tail not in subject:
        return " ".join(subject.split())
    own_tag = re.compile(r"[\[【]\s*" + re.escape(number) + r"\s*[\]】]", re.IGNORECASE)
    return " ".join(own_tag.sub(" ", subject).split())


def tag_subject(subject: str, number: str) -> str:
    """Put ``[number]`` once at the front of a subject, after one normalised Re:/Fw: prefix.

    ``回复: RE: 打印机卡纸 [TS-20261122-0007]`` becomes ``Re: [TS-20261122-0007] 打印机卡纸``.
    Tags of other tickets stay where they are.
    """
    rest, kind = _strip_prefixes(" ".join(subject.split()))
    # A prefix hiding behind the tag ("[TS-…] Re: …") is a duplicate too.
    _, inner_kind = _strip_prefixes(_without_tag(rest, number))
    tagged = f"[{number}] {strip_subject(rest, number)}".rstrip()
    kind = kind or inner_kind
    return f"{kind}: {tagged}" if kind else tagged

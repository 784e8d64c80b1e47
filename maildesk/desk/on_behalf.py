"""A problem staff record for a reporter who did not write: by phone, instant message, an internal system, at the desk.

Support staff open such a ticket by mail (a proven mail to the support address that starts with
``#reporter zhang.wei@example.com`` and optionally ``#channel phone``, the rest being the problem) or
with ``maildesk tickets new``. Either way the ticket then takes the way of any new ticket (rules,
assignment, the reporter's acknowledgement), with the reporter as its reporter, the channel on the
ticket, and the staff member on record as the one who recorded it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

from maildesk.people.directory import Directory
from maildesk.words import parse_channel

DEFAULT_CHANNEL = "phone"  # a problem staff record without saying how it came mostly came by phone

_FORM_WORDS = {"reporter": "reporter", "反馈人": "reporter", "上报人": "reporter", "报告人": "reporter",
               "channel": "channel", "渠道": "channel", "来源": "channel"}
# Chinese needs no space between the word and its argument: "#反馈人张伟"
_FORM_LINE = re.compile(r"^\s*[#＃](?P<word>" + "|".join(sorted(_FORM_WORDS, key=len, reverse=True))
                        + r")(?:(?<=[a-z])(?![a-z])|(?<![a-z]))\s*[:：]?\s*(?P<arg>.*?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class OnBehalf:
    """Whom a recorded ticket is for, how the problem came, and who recorded it (and how that was proven)."""

    reporter: str  # the reporter's address, lower-cased
    name: str  # the reporter's name as staff wrote it (the directory's wins), or ""
    channel: str  # one of words.CHANNELS
    recorded_by: str  # the staff member's address, or the operator's name on the command line
    how: str = ""  # how the staff member was proven (mail), or "command line"


@dataclass(frozen=True)
class Form:
    """The lines at the top of a staff mail that open a ticket for someone: what they said, and the rest."""

    reporter: str  # as written
    channel: str  # as written, "" when absent
    reporter_line: str  # the lines as written, to quote in an error mail
    channel_line: str
    rest: str  # the problem, in the staff member's words


def read_form(text: str) -> Form | None:
    """The ``#reporter`` / ``#channel`` lines at the top of ``text``, or None when it has no ``#reporter``."""
    reporter = channel = None
    lines = {"reporter": "", "channel": ""}
    body = text.replace("\r\n", "\n").split("\n")
    start = len(body)
    for index, line in enumerate(body):
        if not line.strip():
            continue
        match = _FORM_LINE.match(line)
        if match is None:
            start = index
            break
        word = _FORM_WORDS[match.group("word").lower()]
        if word == "reporter":
            reporter = match.group("arg")
        else:
            channel = match.group("arg")
        lines[word] = line.strip()
    if reporter is None:
        return None
    return Form(reporter, channel or "", lines["reporter"], lines["channel"], "\n".join(body[start:]).strip())


def resolve_reporter(written: str, directory: Directory) -> tuple[str, str] | None:
    """(address, name) of the reporter staff named: "张伟 <zhang.wei@…>", an address, or a name the directory
    knows for exactly one person; None when it names nobody."""
    name, address = parseaddr(written)
    address = address.strip().lower()
    if "@" in address and not address.startswith("@") and not address.endswith("@") and " " not in address:
        return address, name.strip()
    wanted = written.strip()
    found = [p for p in directory.all() if p.name == wanted]
    return (found[0].address.lower(), found[0].name) if len(found) == 1 else None


def channel_of(written: str) -> str | None:
    """The channel staff named, the default when they named none, None when it is no channel."""
    return parse_channel(written) if written.strip() else DEFAULT_CHANNEL

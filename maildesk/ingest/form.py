"""The intake form (登记表) a reporter may fill in their mail: 涉及系统, 发生时间, 影响范围.

Many reporters copy the form the support team hands out, so a mail carries lines like
"涉及系统：ERP" or "Impact: 30 people in sales". These are read here, pure and without the
store: the first line of each field counts, full-width and ASCII colons alike. The time of
occurrence keeps the reporter's words; ``parse_occurred`` turns them into a moment only where
they name one clearly (a date with a time, or 今天/昨天 with a time), never by guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

SYSTEM_CHARS = 200  # the column's width
TEXT_CHARS = 500  # of impact and occurred: a line of a form, not a story

# the field a label fills; longest labels first so "涉及系统" wins over "系统"
_LABELS: dict[str, str] = {
    "涉及系统": "system", "相关系统": "system", "系统名称": "system", "系统": "system", "涉及设备": "system",
    "system": "system", "affected system": "system",
    "发生时间": "occurred", "出现时间": "occurred", "开始时间": "occurred",
    "occurred": "occurred", "started": "occurred", "occurred at": "occurred", "started at": "occurred",
    "影响范围": "impact", "impact": "impact", "affected": "impact",
}  # fmt: skip
_LINE = re.compile(
    r"^\s*(?:[-*•·]\s*|\d+[.、)]\s*)?[【\[]?(?P<label>"
    + "|".join(re.escape(label) for label in sorted(_LABELS, key=len, reverse=True))
    + r")[】\]]?\s*[:：]\s*(?P<value>\S.*?)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class IntakeForm:
    """What the mail's form lines say; "" where a field was not given."""

    system: str = ""
    impact: str = ""
    occurred: str = ""


def read_form(text: str) -> IntakeForm:
    """The form fields of a mail's text (the words the reporter wrote, without the quoted conversation)."""
    found: dict[str, str] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        match = _LINE.match(line)
        if match is None:
            continue
        name = _LABELS[match.group("label").lower()]
        found.setdefault(name, match.group("value"))
    return IntakeForm(system=found.get("system", "")[:SYSTEM_CHARS], impact=found.get("impact", "")[:TEXT_CHARS],
                      occurred=found.get("occurred", "")[:TEXT_CHARS])


_DAYS = {"今天": 0, "今日": 0, "today": 0, "昨天": 1, "昨日": 1, "yesterday": 1, "前天": 2}
_HALF = r"(?P<half>上午|早上|凌晨|中午|下午|晚上|傍晚|am|pm)?"
_TIME = _HALF + r"\s*(?P<h>\d{1,2})(?:\s*[:：点时]\s*(?P<m>\d{1,2})?\s*分?|\s*(?P<half2>am|pm))"
_FULL = re.compile(
    r"^(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?\s*[T ]?\s*" + _TIME + r"\s*$",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"^(?P<day>" + "|".join(_DAYS) + r")\s*" + _TIME + r"\s*$|^" + _TIME.replace("?P<", "?P<t") + r"\s*(?P<tday>"
    + "|".join(_DAYS) + r")\s*$",
    re.IGNORECASE,
)


def _hour(hour: int, half: str | None) -> int:
    half = (half or "").lower()
    if half in ("下午", "晚上", "傍晚", "pm") and hour < 12:
        return hour + 12
    if half in ("凌晨", "am") and hour == 12:
        return 0
    if half == "中午" and hour < 6:
        return hour + 12
    return hour


def parse_occurred(text: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The moment ``text`` names in the desk's zone ``tz``, seen at ``now``; None unless it is clear.

    Clear: ISO-8601 ("2026-11-23 09:30", with or without an offset), a date with a time
    ("2026年11月23日 9点30分", "11/23 14:00": the latest such day up to today), or 今天/昨天/前天 (today,
    yesterday) with a time. A date alone, a time alone or a moment ahead of ``now`` is not.
    """
    value = text.strip()
    if not value:
        return None
    local_now = now.astimezone(tz)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is not None:
        if "T" not in value.upper() and " " not in value.strip():
            return None  # a date alone
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)
    else:
        moment = _full(value, tz, local_now) or _relative(value, tz, local_now)
    if moment is None or moment > now + timedelta(minutes=5):
        return None
    return moment.astimezone(tz)


def _full(value: str, tz: ZoneInfo, local_now: datetime) -> datetime | None:
    match = _FULL.match(value)
    if match is None:
        return None
    fields = (int(match.group("mo")), int(match.group("d")), match.group("h"), match.group("m"),
              match.group("half") or match.group("half2"), tz)
    if match.group("y"):
        return _at(int(match.group("y")), *fields)
    moment = _at(local_now.year, *fields)
    # a month and day without a year are the last such day: 12/31 written on January 2nd is last year's
    return _at(local_now.year - 1, *fields) if moment is not None and moment.date() > local_now.date() else moment


def _relative(value: str, tz: ZoneInfo, local_now: datetime) -> datetime | None:
    match = _RELATIVE.match(value)
    if match is None:
        return None
    g = match.groupdict()
    day_word = g["day"] or g["tday"]
    hour, minute = (g["h"], g["m"]) if g["day"] else (g["th"], g["tm"])
    half = (g["half"] or g["half2"]) if g["day"] else (g["thalf"] or g["thalf2"])
    day = local_now.date() - timedelta(days=_DAYS[day_word.lower()])
    return _at(day.year, day.month, day.day, hour, minute, half, tz)


def _at(year: int, month: int, day: int, hour: str, minute: str | None, half: str | None,
        tz: ZoneInfo) -> datetime | None:
    try:
        return datetime(year, month, day, _hour(int(hour), half), int(minute or 0), tzinfo=tz)
    except ValueError:  # 2月30日, 25点: not a moment
        return None

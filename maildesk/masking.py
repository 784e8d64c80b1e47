"""Masking personal details (脱敏) in everything read outside a ticket's conversation.

The people in the conversation (the reporter, the watchers, the assignee or lead) get the real
data; supervisors' escalations and digests, review requests, reports in every format, recurring
alerts and knowledge-base articles get it through this module. What is masked, and how:

- names: the surname stays, every other character becomes ``*``: 张伟 → 张*, 张小伟 → 张**,
  欧阳娜娜 → 欧阳** (the common compound surnames are kept whole). Latin names keep the last
  word and the initials of the others: Wei Zhang → W* Zhang, a single word its initial (Zhang →
  Z*). In free text only known names are found: the ticket's reporter and the people directory.
- mobile phones, in every writing (+86, 0086, spaces, dots, dashes, full-width digits):
  138****5678.
- landlines with an area code ((010)12345678, 010-1234-5678, 0755 8888 6666, +86 10 …,
  02162345678): area code and last four digits, 010-****5678; an extension stays as written.
- 身份证: 18 digits whose GB 11643 check digit is right (the last may be X), or 15 digits (the
  old form) with a valid birth date: the first six and last four stay, 110105********002X.
- bank cards: 16–19 digits, contiguous or in groups, that pass the Luhn check: the first six
  and last four stay, 622202******7890.
- mail addresses (also with ＠, [at] or (at)): the start of the local part, zhang*@qq.com; a
  numeric one (a QQ number) keeps three digits.
- WeChat and QQ ids after their label (微信：zhangwei_88, QQ 12345678): the first half stays.

Ticket numbers, dates, times, IP addresses and numbers that fail the checks above (order numbers)
are left alone, and so is all text around a masked value, exactly as written: full-width digits
and punctuation are only read as their ASCII forms.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable

__all__ = ["Masker", "luhn_valid", "mask_email", "mask_name", "mask_phone", "mask_text", "resident_id_valid"]

# Full-width ASCII (０-９, ＋, －, （）, ＠ …), the ideographic space and dash-like characters read as
# their ASCII forms; one character for one, so a match in the folded text has the same span in the original.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xA0: 0x20, 0x2212: 0x2D} | {
    cp: 0x2D for cp in range(0x2010, 0x2016)}
# Only what the patterns look at is folded (digits, letters, + - . ( ) : @, spaces): re.sub over a
# few characters costs a fraction of str.translate over a whole Chinese text.
_FOLDABLE = re.compile(
    r"[\uff08\uff09\uff0b\uff0d\uff0e\uff10-\uff1a\uff20-\uff3a\uff41-\uff5a\u3000\u00a0\u2010-\u2015\u2212]")
_FOLDED = {chr(k): chr(v) for k, v in _FOLD.items()}
_DIGIT = re.compile(r"[0-9\uff10-\uff19]")
# Cheap tests that let a pass be skipped: ten digits close together (the shortest value, a landline
# with a three-digit area code), an @ or its spelled-out forms, a WeChat or QQ label.
_NUMBER_RUN = re.compile(r"[0-9](?:[\s.\-()+]{0,3}[0-9]){9}")
_AT = re.compile(r"@|[\[(]at[\])]", re.IGNORECASE)
_LABEL = re.compile(r"微信|wechat|weixin|wx|vx|qq", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LOCAL_SPLIT = re.compile(r"[._+\-]")
_AREA = r"0(?:10|2[0-9]|[3-9][0-9]{2})"  # China's area codes: 010, 02X, then 0XXX; none is a prefix of another

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])(?P<local>[A-Za-z0-9][A-Za-z0-9._%+\-]*)(?:@|\s?[\[(]at[\])]\s?)"
    r"(?P<domain>[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})", re.IGNORECASE)
_RESIDENT_ID = re.compile(
    r"(?<![0-9])(?P<area>[1-9][0-9]{5})[ -]?(?P<birth>(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]))"
    r"[ -]?(?P<rest>[0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
_OLD_RESIDENT_ID = re.compile(
    r"(?<![0-9])(?P<area>[1-9][0-9]{5})(?P<birth>[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]))"
    r"(?P<rest>[0-9]{3})(?![0-9A-Za-z])")
_CARD = re.compile(
    r"(?<![0-9])(?:(?P<plain>[0-9]{16,19})"
    r"|(?P<grouped>[0-9]{4}(?P<sep>[ -])[0-9]{4}(?:(?P=sep)[0-9]{4}){2})(?:(?P=sep)(?P<tail>[0-9]{1,3}))?"
    r"|(?P<six>[0-9]{6}[ -][0-9]{10,13}))(?![0-9])")
_MOBILE = re.compile(
    r"(?<![0-9])(?:(?:\+|00)?\s?86[\s-]?|\(\s?\+?86\s?\)\s?)?"
    r"(?P<head>1[3-9][0-9])[ .-]?(?P<mid>[0-9]{4})[ .-]?(?P<last>[0-9]{4})(?![0-9])")
_LANDLINE = re.compile(
    r"(?<![0-9])(?:(?:\+|00)\s?86[\s-]?(?:\(0\))?\s?(?P<intl>10|2[0-9]|[3-9][0-9]{2})[\s-]?"
    rf"|\(\s?(?P<paren>{_AREA})\s?\)[\s-]?|(?P<spaced>{_AREA})[\s-]|(?P<joined>{_AREA}))"
    r"(?P<head>[1-9][0-9]{2,3})[ -]?(?P<last>[0-9]{4})(?![0-9])")
_HANDLE = re.compile(
    r"(?<![A-Za-z])(?P<label>微信号?|wechat(?:\s?id)?|weixin|vx|wx|qq号?码?)(?P<sep>\s*:\s*|\s+|(?<=[\u4e00-\u9fff]))"
    r"(?P<id>[A-Za-z][-_A-Za-z0-9]{5,19}|[0-9]{5,12})(?![-_A-Za-z0-9])"
    r"|(?<![A-Za-z0-9])(?P<wxid>wxid_[a-z0-9]{6,})", re.IGNORECASE)

COMPOUND_SURNAMES = frozenset((
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "长孙", "慕容", "司徒", "司空", "夏侯", "令狐",
    "宇文", "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "澹台", "赫连", "万俟", "闻人", "申屠", "钟离",
    "濮阳", "太史", "淳于", "单于", "左丘", "东郭", "拓跋"))
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_valid(digits: str) -> bool:
    """The Luhn check of a card number (digits only)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def resident_id_valid(number: str) -> bool:
    """The GB 11643 check digit of an 18-character resident ID number."""
    total = sum((ord(c) - 48) * w for c, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _keep_ends(digits: str) -> str:
    return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}"


def mask_email(address: str) -> str:
    """zhang*@qq.com from zhang.wei@qq.com: the local part's first word, at most 5 characters (3 digits)."""
    local, at, domain = address.strip().translate(_FOLD).rpartition("@")
    if not at:
        return mask_phone(address) if _DIGIT.search(address) else address
    if local.isdigit():
        head = local[:3] if len(local) > 4 else local[:1]
    else:
        head = _LOCAL_SPLIT.split(local, maxsplit=1)[0][:5]
        if len(head) >= len(local):  # nothing would be hidden: keep at most half
            head = local[: max(1, len(local) // 2)]
    return f"{head}*@{domain}"


def mask_phone(phone: str) -> str:
    """138****5678 from any writing of a mobile number; area code and last four digits of a landline."""
    masked = mask_text(phone)
    if masked != phone:
        return masked
    digits = re.sub(r"[^0-9]", "", phone.translate(_FOLD))
    return "*" * len(digits) if len(digits) <= 4 else "*" * (len(digits) - 4) + digits[-4:]


def mask_name(name: str) -> str:
    """张*, 欧阳**, W* Zhang: see the module's docstring (an address in a name field is masked as one)."""
    name = " ".join(name.split())
    if not name:
        return ""
    if "@" in name or "＠" in name:
        return mask_email(name)
    if _CJK.search(name):
        if len(name) == 1:
            return "*"
        keep = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
        return name[:keep] + "".join("*" if ch.isalnum() else ch for ch in name[keep:])
    words = name.split(" ")
    if len(words) == 1:
        return words[0][:1] + "*"
    return " ".join([*(w[:1] + "*" for w in words[:-1]), words[-1]])


# Each pass: a pattern over the folded text and what a match becomes (None: not personal, left as written).
Replace = Callable[[re.Match[str], str], str | None]


def _email(m: re.Match[str], _text: str) -> str:
    return mask_email(f"{m['local']}@{m['domain']}")


def _resident_id(m: re.Match[str], _text: str) -> str | None:
    number = m["area"] + m["birth"] + m["rest"]
    return _keep_ends(number) if resident_id_valid(number) else None


def _old_resident_id(m: re.Match[str], _text: str) -> str:
    return _keep_ends(m["area"] + m["birth"] + m["rest"])


def _card(m: re.Match[str], text: str) -> str | None:
    digits = re.sub(r"[ -]", "", m.group(0))
    if len(digits) <= 19 and luhn_valid(digits):
        return _keep_ends(digits)
    if m["tail"]:  # "6222 0212 3456 7890 1 次": a valid card followed by an unrelated number
        core = re.sub(r"[ -]", "", m["grouped"])
        if luhn_valid(core):
            return _keep_ends(core) + text[m.end("grouped"):m.end()]
    return None


def _mobile(m: re.Match[str], _text: str) -> str:
    return f"{m['head']}****{m['last']}"


def _landline(m: re.Match[str], _text: str) -> str | None:
    area = m["paren"] or m["spaced"] or m["joined"] or "0" + m["intl"]
    if len(area) == 3 and len(m["head"]) != 4:  # 010 and 02X numbers have eight digits: "INC-0101234567" is none
        return None
    return f"{area}-****{m['last']}"


def _handle(m: re.Match[str], text: str) -> str:
    if m["wxid"]:
        return "wxid_*"
    handle = m["id"]
    start = m.start("label")
    return text[start:m.start("id")] + handle[: max(1, min(8, len(handle) // 2))] + "*"


_PASSES: tuple[tuple[re.Pattern[str], Replace, re.Pattern[str]], ...] = (  # (pattern, replace, precondition)
    (_EMAIL, _email, _AT),
    (_RESIDENT_ID, _resident_id, _NUMBER_RUN),
    (_OLD_RESIDENT_ID, _old_resident_id, _NUMBER_RUN),
    (_CARD, _card, _NUMBER_RUN),
    (_MOBILE, _mobile, _NUMBER_RUN),
    (_LANDLINE, _landline, _NUMBER_RUN),
    (_HANDLE, _handle, _LABEL),
)


def _fold(text: str) -> str:
    """``text`` with full-width digits, letters and punctuation as ASCII, one character for one."""
    return _FOLDABLE.sub(lambda m: _FOLDED[m.group(0)], text)


def _apply(text: str, folded: str, pattern: re.Pattern[str], replace: Replace) -> str:
    pieces: list[str] = []
    last = 0
    for m in pattern.finditer(folded):
        new = replace(m, text)
        if new is not None:
            pieces += [text[last:m.start()], new]
            last = m.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _name_patterns(names: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """Patterns for many names, grouped by first character, the longest first (王伟明 before 王伟).

    Chinese names and Latin ones (whole words, any case) are apart: without IGNORECASE the
    regular-expression engine skips to the possible first characters instead of trying each position.
    """
    cjk: set[str] = set()
    latin: set[str] = set()
    for raw in names:
        name = " ".join((raw or "").split())
        if not name or "@" in name:
            continue
        if _CJK.search(name):
            if len(name) >= 2:
                cjk.add(name)
        elif len(name) >= 3 and any(c.isalpha() for c in name):
            latin.add(name.casefold())
    patterns = []
    if cjk:
        patterns.append(re.compile(_alternatives(cjk)))
    if latin:
        patterns.append(re.compile(rf"(?<![A-Za-z])(?:{_alternatives(latin)})(?![A-Za-z])", re.IGNORECASE))
    return tuple(patterns)


def _alternatives(names: set[str]) -> str:
    def escape(s: str) -> str:
        return re.escape(s).replace(r"\ ", r"\s+")

    by_first: dict[str, list[str]] = defaultdict(list)
    for name in sorted(names, key=lambda n: (-len(n), n)):
        by_first[name[0]].append(escape(name[1:]))
    return "|".join(f"{escape(first)}(?:{'|'.join(rests)})" for first, rests in by_first.items())


def _names(m: re.Match[str]) -> str:
    return mask_name(m.group(0))


class Masker:
    """``mask_text`` with known names compiled once (the people directory); immutable, safe to share."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names = _name_patterns(names)

    def text(self, text: str, names: Iterable[str] = ()) -> str:
        """``text`` with every contact detail, ID and card number and every known name (and ``names``) masked."""
        if not text:
            return text
        folded = _fold(text)
        for pattern, replace, precondition in _PASSES:
            if precondition.search(folded):
                masked = _apply(text, folded, pattern, replace)
                if masked is not text:
                    text, folded = masked, _fold(masked)
        for pattern in (*_name_patterns(names), *self._names):
            text = pattern.sub(_names, text)
        return text


_NO_NAMES = Masker()


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """``text`` with contact details, ID and card numbers masked, and the given ``names``."""
    return _NO_NAMES.text(text, names)

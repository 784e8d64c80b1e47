"""Strip the quoted conversation from a reply, keeping only what the person wrote this time.

Mail clients mark the start of the quoted mail in a handful of ways: Gmail and Thunderbird
write "On … wrote:" (Chinese: "在 … 写道：", "… 于 2026年11月22日 … 写道："), Outlook and
Foxmail a header block ("From:/Sent:/To:/Subject:", "发件人：/发送时间：/收件人：/主题："),
QQ Mail and Outlook Express a "----- 原始邮件 -----" / "-----Original Message-----" rule,
and everyone prefixes quoted lines with ">". Everything from the first such marker on is
dropped, as are ">" lines and a signature after a "-- " line.
"""

from __future__ import annotations

import re

# A rule line that starts the quoted previous mail (Outlook, Outlook Express, QQ Mail, 163).
_ORIGINAL_RULE = re.compile(
    r"^\s*-{2,}\s*(?:original\s+message|original|replied\s+message|原始邮件|原始郵件|邮件原件|原邮件"
    r"|原始信息|回复的原邮件)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# "On … wrote:" / "在 … 写道：" attribution lines, counted only with a date or an address in them,
# so that "他在日志里写道：" in the person's own text is not taken for one.
_WROTE_END = re.compile(r"(?:\bwrote|写道)\s*[:：]?\s*$", re.IGNORECASE)
_WROTE_START = re.compile(r"^\s*(?:on\s|在\s*\d)", re.IGNORECASE)
_DATE_OR_ADDRESS = re.compile(r"\d{4}|\d{1,2}:\d{2}|@")
# Outlook, Foxmail, QQ Mail and 163 header blocks: "From:" followed closely by two more fields.
_BLOCK_FROM = re.compile(r"^\s*\**\s*(?:from|发件人|寄件者|寄件人)\s*\**\s*[:：]", re.IGNORECASE)
_BLOCK_FIELD = re.compile(
    r"^\s*\**\s*(?:sent|date|to|cc|subject|发送时间|发件时间|日期|时间|收件人|抄送|主题|寄件日期|收件者|副本|主旨)\s*\**\s*[:：]",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^\s*(?:_{8,}|-{8,}|={8,}|—{4,})\s*$")
_SIGNATURE = re.compile(r"^--\s?$")
_QUOTED = re.compile(r"^\s*>")


def _is_header_block(lines: list[str], start: int) -> bool:
    """Whether ``lines[start]`` is the "From:" of a quoted header block (two more fields follow)."""
    if not _BLOCK_FROM.match(lines[start]):
        return False
    fields = sum(1 for line in lines[start + 1 : start + 7] if _BLOCK_FIELD.match(line))
    return fields >= 2


def _is_attribution(line: str, following: str) -> bool:
    """Whether ``line`` (with the next one, as Gmail wraps long ones) is an "On … wrote:" line."""
    if len(line) > 300:
        return False
    if _WROTE_END.search(line):
        return bool(_DATE_OR_ADDRESS.search(line) or _WROTE_START.match(line))
    wrapped = f"{line} {following}"
    return bool(_WROTE_START.match(line) and _WROTE_END.search(following) and _DATE_OR_ADDRESS.search(wrapped))


def _quote_start(lines: list[str]) -> int | None:
    """The index of the first line of the quoted previous mail, or None."""
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _ORIGINAL_RULE.match(line) or _is_header_block(lines, index) or _is_attribution(line, following):
            return index
    return None


def strip_quoted(text: str) -> str:
    """What the person wrote in ``text``, without the quoted mail and signature below it.

    Never empty when the input was not: if everything was quoted, the input comes back stripped.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _quote_start(lines)
    if cut is not None:
        while cut > 0 and (not lines[cut - 1].strip() or _SEPARATOR.match(lines[cut - 1])):
            cut -= 1
        lines = lines[:cut]
    for index, line in enumerate(lines):
        if _SIGNATURE.match(line):
            lines = lines[:index]
            break
    kept = "\n".join(line.rstrip() for line in lines if not _QUOTED.match(line))
    kept = re.sub(r"\n{3,}", "\n\n", kept).strip()
    return kept or text.strip()

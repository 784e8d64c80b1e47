"""Finding the command lines in a staff reply: ``#status resolved`` / ``#状态 已解决``, one per line.

Commands stand at the top of the reply. A line there that starts with ``#`` (or the
full-width ``＃`` Chinese input methods type) and a word is a command; an unknown
word is an error, not text, because the engineer meant a command and must hear that
it failed. Further down, only lines naming a known command are taken (and removed):
a ``#note`` typed below a greeting must still never reach the reporter, while
"#1 先重启" in the text stays text. ``# 标题`` (a space after the mark) is text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# what people type → the command's canonical name
ALIASES: dict[str, str] = {
    "status": "status", "state": "status", "状态": "status",
    "priority": "priority", "prio": "priority", "优先级": "priority",
    "assign": "assign", "assignee": "assign", "指派": "assign", "分配": "assign", "转派": "assign",
    "type": "type", "类型": "type",
    "note": "note", "备注": "note", "内部备注": "note",
    "kb": "kb", "知识库": "kb",
    "link": "link", "关联": "link",
    "merge": "merge", "合并": "merge",
    "escalate": "escalate", "升级": "escalate",
    "close": "close", "关闭": "close",
    "waiting": "waiting", "wait": "waiting", "等待": "waiting",
    "split": "split", "拆分": "split",
    "reviewed": "reviewed", "review-done": "reviewed", "复盘": "reviewed", "复盘完成": "reviewed",
    "system": "system", "系统": "system", "涉及系统": "system",
    "impact": "impact", "影响范围": "impact", "影响": "impact",
    "occurred": "occurred", "started": "occurred", "发生时间": "occurred",
    "ok": "ok", "复核": "ok", "复核通过": "ok",
    "evaluate": "evaluate", "evaluation": "evaluate", "评估": "evaluate", "需求评估": "evaluate",
}  # fmt: skip

_LINE = re.compile(r"^\s*[#＃](?P<word>[^\W\d_][\w\-]*)(?P<rest>.*)$")
# Chinese needs no space between the command and its argument: "#状态已解决"
_BY_LENGTH = sorted(ALIASES, key=len, reverse=True)


@dataclass(frozen=True)
class Command:
    """One command line: canonical name, argument, and the line as written (for audit and errors)."""

    name: str
    arg: str
    line: str


@dataclass(frozen=True)
class ParsedReply:
    """The commands of a reply, the lines that looked like commands but are not, and the remaining text."""

    commands: tuple[Command, ...]
    unknown: tuple[str, ...]
    body: str

    @property
    def has_commands(self) -> bool:
        return bool(self.commands or self.unknown)


def _split_word(word: str) -> tuple[str, str] | None:
    """(alias, glued argument) when ``word`` is a known command, possibly with its argument glued on."""
    lower = word.lower()
    if lower in ALIASES:
        return lower, ""
    for alias in _BY_LENGTH:
        if lower.startswith(alias) and not alias.isascii():
            return alias, word[len(alias):]
    return None


def command_of(line: str) -> Command | str | None:
    """The command on ``line``; the line itself when it looks like one but is unknown; None for text."""
    match = _LINE.match(line)
    if match is None:
        return None
    split = _split_word(match.group("word"))
    if split is None:
        return line.strip()
    alias, glued = split
    arg = (glued + match.group("rest")).strip().lstrip(":：").strip()
    return Command(ALIASES[alias], arg, line.strip())


def parse_commands(text: str) -> ParsedReply:
    """Separate the command lines of a staff reply from the words meant for the reporter."""
    commands: list[Command] = []
    unknown: list[str] = []
    kept: list[str] = []
    at_top = True
    for line in text.replace("\r\n", "\n").split("\n"):
        if at_top and not line.strip():
            continue
        found = command_of(line)
        if isinstance(found, Command):
            commands.append(found)
            continue
        if found is not None and at_top:
            unknown.append(found)
            continue
        at_top = False
        kept.append(line.rstrip())
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return ParsedReply(tuple(commands), tuple(unknown), body)


def split_request(text: str) -> tuple[str, str] | None:
    """(argument, the rest of the text) when a reply starts with ``#split`` / ``#拆分``, else None."""
    lines = text.replace("\r\n", "\n").strip().split("\n")
    found = command_of(lines[0]) if lines and lines[0].strip() else None
    if not isinstance(found, Command) or found.name != "split":
        return None
    return found.arg, "\n".join(lines[1:]).strip()

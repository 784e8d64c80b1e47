"""What a reporter means by their answer to "please confirm the solution".

The confirm mail teaches 已解决 / 仍有问题 / 需进一步优化 (Solved / Still a problem /
Needs improvement) on the first line; people also write 解决了, 好了, 没解决, 还是不行,
yes, ok, no. Only the first line counts. Negative and "improve" words are checked
before positive ones, because 没解决 and "not solved" contain 解决 and "solved"; a
positive answer with a "but" (已解决，但是打印很慢) is unclear, not solved. Unclear
answers change nothing: a person reads them.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Confirmation(StrEnum):
    SOLVED = "solved"
    STILL = "still_a_problem"
    IMPROVE = "needs_improvement"
    UNCLEAR = "unclear"


_STILL = re.compile(
    r"仍有问题|仍然有问题|还有问题|没解决|未解决|没有解决|没能解决|不能解决|还是不行|还不行|仍然不行|依然不行|依旧|问题依然"
    r"|还是有问题|没好|不好使|又出现|still\s+(?:a\s+)?problem|still\s+(?:broken|not|failing|happening)"
    r"|not\s+(?:solved|fixed|resolved|working)|doesn'?t\s+work|^\s*no\b(?!\s+(?:problem|issue|worries|more))",
    re.IGNORECASE,
)
_IMPROVE = re.compile(r"进一步优化|需要优化|需优化|有待优化|需要改进|需改进|待改进|needs?\s+(?:further\s+)?improvement",
                      re.IGNORECASE)
_SOLVED = re.compile(
    r"^(?:问题)?(?:已经?解决|解决了|已经好了|好了|可以了|没问题了|正常了|已恢复|恢复正常|确认(?:已)?解决|已确认"
    r"|solved|resolved|fixed|no\s+(?:more\s+)?problems?|yes|ok(?:ay)?|works(?:\s+now)?|confirmed)(?![a-z])",
    re.IGNORECASE,
)
_BUT = re.compile(r"但|不过|可是|然而|\bbut\b|\bhowever\b", re.IGNORECASE)
_LEAD = re.compile(r"^[\s\W_]+")


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def parse_confirmation(text: str) -> Confirmation:
    """The reporter's verdict from the first line of their reply."""
    line = first_line(text)
    if not line:
        return Confirmation.UNCLEAR
    if _STILL.search(line):
        return Confirmation.STILL
    if _IMPROVE.search(line):
        return Confirmation.IMPROVE
    if _SOLVED.search(_LEAD.sub("", line)) and not _BUT.search(line):
        return Confirmation.SOLVED
    return Confirmation.UNCLEAR

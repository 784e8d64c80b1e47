"""Reading a satisfaction survey answer from a plain reply.

The survey mail asks for three scores 1–5 (response speed, problem solving,
attitude) on the first line, then any comment: "5 5 4 很及时". People also write
the scores with labels ("速度5 能力4 态度5", "speed 5, solving 4"), as stars
("★★★★☆") or as one mark ("4/5", "4分"): those are an overall score. A number
outside 1–5 makes the answer unreadable rather than guessed. Complaint words
(投诉, 不满意, ...) anywhere in the answer count whatever the scores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LABELS: dict[str, str] = {
    "响应速度": "speed", "速度": "speed", "响应": "speed", "及时性": "speed", "speed": "speed", "response": "speed",
    "问题解决": "solving", "解决能力": "solving", "能力": "solving", "解决": "solving", "效果": "solving",
    "solving": "solving", "solution": "solving", "ability": "solving",
    "服务态度": "attitude", "态度": "attitude", "attitude": "attitude", "service": "attitude",
}  # fmt: skip
_LABEL = "|".join(sorted(map(re.escape, _LABELS), key=len, reverse=True))
_LABELED = re.compile(r"(?P<label>" + _LABEL + r")\s*[:：=]?\s*(?P<score>\d+)\s*(?:分|/\s*5)?", re.IGNORECASE)
_SEP = r"\s*(?:分)?\s*[,，、/／\s]\s*"
_TRIPLE = re.compile(r"^\s*([1-5])" + _SEP + r"([1-5])" + _SEP + r"([1-5])(?:\s*分)?(?![\d./])")
_SINGLE = re.compile(r"^\s*([1-5])\s*(?:(?:/|／)\s*5|分|星)(?![\d.])|^\s*([1-5])\s*$")
_STARS = re.compile(r"^\s*(?P<stars>[★⭐🌟☆\s]+)")
_COMPLAINT = re.compile(
    r"投诉|不满意|不太满意|很不满|太慢|很慢|很差|太差|差劲|差评|态度差|态度不好|敷衍|推诿|没人管|没人理|没人处理"
    r"|complain|unacceptable|terrible|awful|rude|unhappy|dissatisfied",
    re.IGNORECASE,
)
_TRIM = re.compile(r"^[\s,，。.;；:：、\-—]+|[\s,，;；:：、\-—]+$")


@dataclass(frozen=True)
class SurveyScores:
    """Scores 1–5 (None where not given), the overall mark, the comment, and whether it is a complaint."""

    speed: int | None = None
    solving: int | None = None
    attitude: int | None = None
    overall: float | None = None  # the mean of the scores given, or the single mark
    comment: str = ""
    complaint: bool = False

    @property
    def lowest(self) -> float | None:
        """The worst mark given: what "a score below 4" is about."""
        given = [s for s in (self.speed, self.solving, self.attitude) if s is not None]
        return float(min(given)) if given else self.overall


def _comment(*parts: str) -> str:
    return "\n".join(p for p in (_TRIM.sub("", part) for part in parts) if p)


def _labeled(line: str) -> tuple[dict[str, int], str] | None:
    scores: dict[str, int] = {}
    for match in _LABELED.finditer(line):
        score = int(match.group("score"))
        if not 1 <= score <= 5:
            return None
        scores.setdefault(_LABELS[match.group("label").lower()], score)
    return (scores, _LABELED.sub(" ", line)) if scores else None


def _scores(line: str) -> tuple[dict[str, int], float | None, str] | None:
    """(scores by name, overall mark, what is left of the line), or None when the line gives no scores."""
    if match := _TRIPLE.match(line):
        a, b, c = (int(g) for g in match.groups())
        return {"speed": a, "solving": b, "attitude": c}, None, line[match.end():]
    if (stars := _STARS.match(line)) and ("★" in stars.group("stars") or "⭐" in stars.group("stars")
                                          or "🌟" in stars.group("stars")):
        filled = sum(stars.group("stars").count(s) for s in "★⭐🌟")
        return ({}, float(filled), line[stars.end():]) if 1 <= filled <= 5 else None
    if match := _SINGLE.match(line):
        return {}, float(match.group(1) or match.group(2)), line[match.end():]
    if labeled := _labeled(line):
        return labeled[0], None, labeled[1]
    return None


def parse_survey(text: str) -> SurveyScores | None:
    """The scores and comment in a survey reply; None when it has neither scores nor a complaint."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return None
    first, rest = lines[0], "\n".join(lines[1:]).strip()
    complaint = bool(_COMPLAINT.search(text))
    found = _scores(first)
    if found is None:
        return SurveyScores(comment=_comment(first, rest), complaint=True) if complaint else None
    scores, overall, left = found
    if scores:
        overall = round(sum(scores.values()) / len(scores), 2)
    return SurveyScores(speed=scores.get("speed"), solving=scores.get("solving"), attitude=scores.get("attitude"),
                        overall=overall, comment=_comment(left, rest), complaint=complaint)

"""Recurring problems: tickets of one type whose subjects and opening lines say the same thing.

Each ticket becomes a vector of its terms (maildesk/kb/text.py; the subject,
then the start of the first mail, before any signature), weighted by
rarity among the period's tickets so greetings and "无法" weigh little. Two
tickets of the same type whose cosine similarity reaches SIMILARITY are the
same problem; groups are the connected sets. Only tickets sharing a word or a
character pair are ever compared, so a month of tickets is grouped in well
under a second.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from maildesk.kb.text import UNIGRAM_WEIGHT, is_unigram, terms
from maildesk.masking import Masker
from maildesk.outbound.compose import strip_subject

__all__ = ["SIMILARITY", "Group", "Item", "find_groups"]

# Measured on the samples of tests/test_report_recurring.py and tests/test_report.py: any threshold
# from 0.26 to 0.37 groups them right (different problems of one type reach 0.26, some paraphrase
# pairs only 0.2 but join through a third ticket); the middle leaves room both ways.
SIMILARITY = 0.31
BODY_CHARS = 150  # the opening of the first mail says what is wrong; signatures come later
SUBJECT_REPEAT = 1
# Rarity is judged as if among at least this many tickets: in a quiet week of seven, a word three
# of them share would otherwise weigh little next to words only one has, and no group would form.
MIN_CORPUS = 100
_NOT_TOPIC = re.compile(r"\S+@\S+|[0-9][0-9 -]{5,}[0-9]")


@dataclass(frozen=True)
class Item:
    """What grouping needs of a ticket."""

    number: str
    type: str
    subject: str
    text: str
    created_at: datetime
    reporter_name: str = ""  # masked in the group's title, like the directory's names


@dataclass(frozen=True)
class Group:
    """Tickets of one type about one problem, oldest first."""

    type: str
    title: str
    tickets: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.tickets)

    def as_json(self) -> dict[str, object]:
        return {"title": self.title, "type": self.type, "count": self.count, "tickets": list(self.tickets)}


def _words(item: Item, repeat: int) -> str:
    """The subject ``repeat`` times and the opening of the mail, without addresses and long numbers.

    Phone numbers, order numbers and mail addresses are about who or which, not what went wrong.
    """
    text = " ".join([strip_subject(item.subject, item.number)] * repeat + [item.text[:BODY_CHARS]])
    return _NOT_TOPIC.sub(" ", text)


def _vector(item: Item, idf: dict[str, float]) -> dict[str, float]:
    counts = terms(_words(item, SUBJECT_REPEAT))
    vec = {t: (UNIGRAM_WEIGHT if is_unigram(t) else 1.0) * (1 + math.log(c)) * idf[t] for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items()}


def _bags(items: Sequence[Item]) -> list[set[str]]:
    return [set(terms(_words(i, 1))) for i in items]


def find_groups(items: Sequence[Item], *, similarity: float = SIMILARITY, min_count: int = 2,
                masker: Masker | None = None) -> list[Group]:
    """Groups of at least ``min_count`` similar tickets, largest first (ties: the earliest first).

    A group is named after its first ticket's subject, masked by ``masker`` (supervisors read it).
    """
    masker = masker or Masker()
    items = sorted(items, key=lambda i: (i.created_at, i.number))
    holding: dict[str, int] = defaultdict(int)
    for bag in _bags(items):
        for t in bag:
            holding[t] += 1
    idf = {t: math.log(1 + max(len(items), MIN_CORPUS) / n) for t, n in holding.items()}
    vectors = [_vector(i, idf) for i in items]
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_term: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, (item, vec) in enumerate(zip(items, vectors, strict=True)):
        seen: set[int] = set()
        for t in vec:
            if is_unigram(t):
                continue  # a shared single character is no reason to compare
            for other in by_term[(item.type, t)]:
                if other in seen or root(other) == root(index):
                    continue  # compared already, or joined already through a third ticket
                seen.add(other)
                cosine = sum(w * vectors[other].get(u, 0.0) for u, w in vec.items())
                if cosine >= similarity:
                    parent[root(index)] = root(other)
            by_term[(item.type, t)].append(index)
    members: dict[int, list[int]] = defaultdict(list)
    for index in range(len(items)):
        members[root(index)].append(index)
    groups = [
        Group(type=items[m[0]].type, title=_title(items[m[0]], masker), tickets=tuple(items[i].number for i in m))
        for m in members.values() if len(m) >= min_count
    ]
    first_seen = {g.tickets[0]: n for n, g in enumerate(groups)}
    return sorted(groups, key=lambda g: (-g.count, first_seen[g.tickets[0]]))


def _title(item: Item, masker: Masker) -> str:
    names = (item.reporter_name,) if item.reporter_name else ()
    return masker.text(strip_subject(item.subject, item.number), names)

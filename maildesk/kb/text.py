"""Terms of a text for search and similarity: Latin words, and Chinese characters and character pairs.

Chinese has no spaces, and a word segmenter would be a large dependency with a
dictionary to maintain. Single characters plus adjacent pairs need neither and
match paraphrases that share words: 账号被锁 and 账号锁定 share 账号, 账, 号
and 锁. Function characters (的, 了, 被, …) are dropped before pairing, so
账号被锁 yields the pair 号锁 as well, the same pair 账号锁定 has. Pairs are
strong evidence, single characters weak (UNIGRAM_WEIGHT).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise

from maildesk.store.models_kb import TERM_MAX

__all__ = ["UNIGRAM_WEIGHT", "is_unigram", "terms", "weighted_terms"]

_CJK_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK_CLASS}]+|[0-9a-z]+")
_CJK = re.compile(rf"[{_CJK_CLASS}]")
# Particles and pronouns that carry no topic; dropping them joins the characters around them.
# Characters that start common topic words stay (地 in 地址, 过 in 过期, 请 in 请假, 有 in 没有).
_SKIP_CHARS = frozenset("的了被把吗呢吧啊呀嘛哦我你您他她它们也很都就又")
_STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "i", "in", "is", "it", "its",
    "me", "my", "of", "on", "or", "our", "so", "that", "the", "this", "to", "was", "we", "were", "with", "you",
    "your", "re", "fw", "fwd",
})
UNIGRAM_WEIGHT = 0.4


def _normalise(text: str) -> str:
    # NFKC folds full-width ＯＡ and ５ to OA and 5, which Chinese input methods produce
    return unicodedata.normalize("NFKC", text).lower()


def _split(text: str) -> Iterator[tuple[list[str], list[str]]]:
    """Each token of ``text`` as its weak terms (single Chinese characters) and its strong ones (character
    pairs, words), in the order they stand."""
    for token in _TOKEN.findall(_normalise(text)):
        if not token.isascii():  # a run of Chinese characters (the other kind of token is an ASCII word)
            chars = [c for c in token if c not in _SKIP_CHARS]
            yield chars, [a + b for a, b in pairwise(chars)]
        elif token not in _STOP_WORDS:
            yield [], [token[:TERM_MAX]]


def terms(text: str) -> Counter[str]:
    """How often each term occurs in ``text``."""
    found: Counter[str] = Counter()
    for weak, strong in _split(text):
        found.update(weak)
        found.update(strong)
    return found


def is_unigram(term: str) -> bool:
    """A single Chinese character: weak evidence on its own."""
    return len(term) == 1 and _CJK.match(term) is not None


def weighted_terms(text: str) -> dict[str, float]:
    """Each distinct term of ``text`` with its evidence weight (pairs and words 1, single characters less),
    in the order of ``terms(text)``: every acknowledgement asks this twice, so the weight comes with the
    split rather than from asking ``is_unigram`` of each term again."""
    found: dict[str, float] = {}
    for weak, strong in _split(text):
        for term in weak:
            found[term] = UNIGRAM_WEIGHT
        for term in strong:
            found[term] = 1.0
    return found

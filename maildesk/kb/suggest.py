"""The articles an acknowledgement suggests: only ones about the reporter's problem, each with a summary.

A suggestion must clear two bars. Its search score (``kb/search``: the share of the mail's evidence
the article holds) must reach ``SUGGEST_THRESHOLD``. And when the subject names a system in Latin
letters (OA, CRM, ERP, VPN, Outlook), the article's title or tags must name it too: "OA系统打不开"
and "CRM系统无法登录" share 系统 and nothing that matters, and an outage of OA is no reason to read
about logging in to CRM. The evidence is the subject, and the words of the mail's opening that some
article holds, at a little less weight (a subject is often two words; the mail says more, and more
loosely; a greeting or a name that no article holds says nothing either way).

The bar, the weight and the check were chosen on the labelled set of ``tests/kb_labelled.py``:
``bench/kb_relevance.py`` prints precision and recall for each way of asking and a range of bars
(figures in ``bench/README.md``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.kb.search import read_terms_ahead, scores
from maildesk.kb.text import terms
from maildesk.store.models_kb import KbArticle

__all__ = ["BODY_WEIGHT", "SUGGEST_THRESHOLD", "Candidate", "candidates", "read_suggestions_ahead", "suggest_articles",
           "summary_of"]

# Chosen on tests/kb_labelled.py (bench/kb_relevance.py, figures in bench/README.md): every suggestion is right
# from 0.33 to 0.50, recall falling from 0.84 to 0.48 across that plateau; below it wrong ones come in.
SUGGEST_THRESHOLD = 0.35
BODY_CHARS = 120  # of the mail's opening: what is wrong comes first, greetings and signatures later
BODY_WEIGHT = 0.7  # a word only the opening has counts this much of one the subject has
SUMMARY_CHARS = 120
CANDIDATES = 20  # articles ranked before the system check: more than any mail's few suggestions
_LATIN = re.compile(r"[a-z][0-9a-z]*")
_SENTENCE_END = re.compile(r"(?<=[。！？；.!?;])\s*")


@dataclass(frozen=True)
class Candidate:
    """An article the search found for a mail: its score, and whether it is about a system the mail names."""

    id: int
    title: str
    score: float
    same_system: bool
    summary: str


def names(text: str) -> set[str]:
    """The Latin words of ``text`` (system names: OA, CRM, VPN, Outlook), without numbers and stop words."""
    return {t for t in terms(text) if _LATIN.fullmatch(t)}


def summary_of(article: KbArticle) -> str:
    """The article in a line: the opening sentences of its solution (else its problem), cut at a sentence end."""
    text = " ".join(unicodedata.normalize("NFC", article.solution or article.problem or "").split())
    if len(text) <= SUMMARY_CHARS:
        return text
    cut = ""
    for sentence in _SENTENCE_END.split(text):
        if len(cut) + len(sentence) > SUMMARY_CHARS:
            break
        cut += sentence
    return cut or text[:SUMMARY_CHARS - 1] + "…"


def candidates(session: Session, subject: str, body: str = "", *, body_weight: float = BODY_WEIGHT,
               min_score: float = 0.0) -> list[Candidate]:
    """The best-scoring articles for a mail (best first; from ``min_score``), each with the system check's
    verdict."""
    found = scores(session, subject, body.strip()[:BODY_CHARS], body_weight)
    ranked = sorted(((s, a) for a, s in found.items() if s >= min_score), key=lambda x: (-x[0], -x[1]))[:CANDIDATES]
    if not ranked:
        return []
    articles = {a.id: a for a in session.scalars(select(KbArticle).where(KbArticle.id.in_([a for _s, a in ranked])))}
    wanted = names(subject)
    out = []
    for score, article_id in ranked:
        article = articles[article_id]
        theirs = names(" ".join([article.title, *(article.tags or [])]))
        out.append(Candidate(article_id, article.title, score, not wanted or bool(wanted & theirs),
                             summary_of(article)))
    return out


def read_suggestions_ahead(session: Session, mails: Iterable[tuple[str, str]]) -> None:
    """For the suggestions to come in this transaction for ``mails`` (subject, body): the counts of the articles
    holding their terms, read in one statement (``search.read_terms_ahead``) instead of one a mail."""
    read_terms_ahead(session, [(subject, body.strip()[:BODY_CHARS]) for subject, body in mails], BODY_WEIGHT)


def suggest_articles(
    session: Session, subject: str, body: str = "", limit: int = 3, *, threshold: float = SUGGEST_THRESHOLD,
) -> list[dict[str, object]]:
    """Up to ``limit`` articles worth suggesting for a mail: {id, title, summary}, best first."""
    chosen = [c for c in candidates(session, subject, body, min_score=threshold) if c.same_system]
    return [{"id": c.id, "title": c.title, "summary": c.summary} for c in chosen[:limit]]

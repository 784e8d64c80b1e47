"""Ranked search of the knowledge base (the acknowledgement's suggestions build on it: ``kb/suggest``).

The score of an article is the share of the query's evidence it contains:
each query term weighs its evidence weight (pairs 1, single characters 0.4)
times its rarity among articles (idf), and counts in proportion to how strongly
the article holds it (saturating, title and tags three times the body). A score
is between 0 and 1 whatever the size of the knowledge base, so one threshold
can decide which articles are worth suggesting to a reporter.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ARRAY, Connection, Select, String, any_, bindparam, column, func, select
from sqlalchemy.orm import Session

from maildesk.kb.articles import TERM_COUNTS_MEMO, ticket_numbers
from maildesk.kb.text import weighted_terms
from maildesk.store.as_loaded import flushed_connection
from maildesk.store.models_kb import KbArticle, KbTerm
from maildesk.store.transaction_memo import recall, remember

__all__ = ["Hit", "read_terms_ahead", "scores", "search"]

SATURATION = 0.5  # a term held with weight w counts w / (w + SATURATION): once in the body 0.67, in a title 0.86
MAX_QUERY_TERMS = 200  # a pasted log as a query: enough terms to rank, not enough to slow the database
# A context word held by more than this share of the articles (and more than COMMON_FLOOR of them) is left
# out: it tells little, and reading its postings is most of a search's time in a large knowledge base.
COMMON_SHARE = 0.05
COMMON_FLOOR = 20


@dataclass(frozen=True)
class Hit:
    id: int
    title: str
    score: float
    tickets: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "score": round(self.score, 4), "tickets": list(self.tickets)}


# built once (every new ticket's acknowledgement searches): building costs more than SQLite takes to run them
_POSTINGS = select(KbTerm.term, KbTerm.article_id, KbTerm.weight).where(
    KbTerm.term.in_(bindparam("terms", expanding=True)))
_ARTICLE_COUNT = select(func.count()).select_from(KbArticle)
_HOLDING = select(KbTerm.term, func.count()).where(KbTerm.term.in_(bindparam("terms", expanding=True))) \
    .group_by(KbTerm.term)
# The same count with the terms as one parameter, for the databases that take a list so: expanding
# fifty-odd terms into as many parameters costs SQLAlchemy three times what SQLite takes to run the
# query, and most mails' terms are counted here only to find that no article holds them. (Only where
# the order of the rows does not matter: the postings' order is the order their scores are summed in.)
_HOLDING_ONE_PARAMETER: dict[str, Select[str, int]] = {
    "sqlite": select(KbTerm.term, func.count()).where(KbTerm.term.in_(
        select(column("value", String)).select_from(func.json_each(bindparam("terms", type_=String))))
    ).group_by(KbTerm.term),
    "postgresql": select(KbTerm.term, func.count()).where(
        KbTerm.term == any_(bindparam("terms", type_=ARRAY(String)))).group_by(KbTerm.term),
}


def _holding(conn: Connection, terms: list[str]) -> dict[str, int]:
    """How many articles hold each of ``terms`` (the terms no article holds are left out)."""
    dialect = conn.dialect.name
    statement = _HOLDING_ONE_PARAMETER.get(dialect)
    if statement is None:
        return {t: int(n) for t, n in conn.execute(_HOLDING, {"terms": terms})}
    # SQLite reads the list as a JSON array; ensure_ascii=False keeps the text as it would be bound
    value: object = json.dumps(terms, ensure_ascii=False) if dialect == "sqlite" else terms
    return {t: int(n) for t, n in conn.execute(statement, {"terms": value})}


@dataclass
class _TermCounts:
    """What searches read ahead for a transaction: each query's terms, how many articles hold each term asked (none
    left out), and how many articles there are, once read."""

    terms: dict[tuple[str, str, float], tuple[dict[str, float], dict[str, float]]]
    holding: dict[str, int]
    articles: int | None = None


def read_terms_ahead(session: Session, queries: Iterable[tuple[str, str]], context_weight: float) -> None:
    """For the searches of ``queries`` (query, context) to come in this transaction (a group of mails'
    acknowledgements): how many articles hold each of their terms, in one statement instead of one a search."""
    terms: dict[tuple[str, str, float], tuple[dict[str, float], dict[str, float]]] = {}
    asked: dict[str, None] = {}
    for query, context in queries:
        wanted, extra = terms[(query, context, context_weight)] = _query_terms(query, context, context_weight)
        if extra:  # only a search with a context counts its terms before reading postings
            asked.update(dict.fromkeys([*wanted, *extra]))
    counts = _holding(session.connection(), list(asked)) if asked else {}
    remember(session, TERM_COUNTS_MEMO, _TermCounts(terms, {t: counts.get(t, 0) for t in asked}))


# Kept for the last few queries: a group of mails whose transaction ends early (to let the sender in) reads ahead
# again for the mails left, whose terms are the same. The dicts are shared: never changed by a caller.
@functools.lru_cache(maxsize=64)
def _query_terms(query: str, context: str, context_weight: float) -> tuple[dict[str, float], dict[str, float]]:
    """The weighted terms of ``query``, and those of ``context`` that ``query`` lacks at ``context_weight``."""
    wanted = dict(list(weighted_terms(query).items())[:MAX_QUERY_TERMS])
    extra: dict[str, float] = {}
    if context and context_weight > 0:
        extra = {t: w * context_weight for t, w in weighted_terms(context).items() if t not in wanted}
        extra = dict(list(extra.items())[:max(0, MAX_QUERY_TERMS - len(wanted))])
    return wanted, extra


def _holding_known(conn: Connection, read: _TermCounts | None, terms: list[str]) -> dict[str, int]:
    """``_holding``, from what was read ahead where it has every term; the others are read and kept with it."""
    if read is None:
        return _holding(conn, terms)
    missing = [t for t in terms if t not in read.holding]
    if missing:
        counts = _holding(conn, missing)
        read.holding.update({t: counts.get(t, 0) for t in missing})
    return {t: read.holding[t] for t in terms if read.holding[t]}


def _article_count(conn: Connection, read: _TermCounts | None) -> int:
    if read is not None and read.articles is not None:
        return read.articles
    articles = conn.scalar(_ARTICLE_COUNT) or 0
    if read is not None:
        read.articles = articles
    return articles


def _idf(articles: int, holding: int) -> float:
    # smoothed: a term no article holds weighs like the rarest one, not infinitely more
    return math.log(1.0 + articles / (holding + 1.0))


def scores(session: Session, query: str, context: str = "", context_weight: float = 0.0) -> dict[int, float]:
    """The score of every article that holds at least one term of ``query``.

    The terms of ``context`` that ``query`` lacks count too, at ``context_weight`` (a mail's opening
    beside its subject), when some article holds them and most do not: a name or a greeting no article
    holds says nothing about which one fits, and a word most hold says little and costs a long read.
    """
    read: _TermCounts | None = recall(session, TERM_COUNTS_MEMO)
    known = read.terms.get((query, context, context_weight)) if read is not None else None
    shared, extra = known if known is not None else _query_terms(query, context, context_weight)
    wanted = dict(shared)  # added to below
    if not wanted and not extra:
        return {}
    # past the ORM's execute path: most of a query's CPU when, as for most mails, no article holds its terms
    conn = flushed_connection(session)
    holding: dict[str, int] = {}
    if extra:  # how many articles hold each term, before reading any article's postings
        holding = _holding_known(conn, read, [*wanted, *extra])
        if not holding:
            return {}
        articles = _article_count(conn, read)
        common = max(COMMON_FLOOR, articles * COMMON_SHARE)
        wanted.update({t: w for t, w in extra.items() if 0 < holding.get(t, 0) <= common})
        postings = conn.execute(_POSTINGS, {"terms": [t for t in wanted if holding.get(t)]}).all()
    else:
        postings = conn.execute(_POSTINGS, {"terms": list(wanted)}).all()
        if not postings:  # no article holds a term: nothing to score, and no need to count the articles
            return {}
        articles = _article_count(conn, read)
        for term, _article, _weight in postings:
            holding[term] = holding.get(term, 0) + 1
    importance = {t: w * _idf(articles, holding.get(t, 0)) for t, w in wanted.items()}
    total = sum(importance.values())
    found: dict[int, float] = {}
    for term, article_id, weight in postings:
        found[article_id] = found.get(article_id, 0.0) + importance[term] * weight / (weight + SATURATION)
    return {article_id: value / total for article_id, value in found.items()}


def search(session: Session, query: str, *, limit: int = 10, min_score: float = 0.0) -> list[Hit]:
    """The best articles for ``query``, best first (ties: newest first)."""
    ranked = sorted(((s, a) for a, s in scores(session, query).items() if s > min_score),
                    key=lambda item: (-item[0], -item[1]))[:limit]
    if not ranked:
        return []
    ids = [a for _s, a in ranked]
    titles = {i: t for i, t in session.execute(select(KbArticle.id, KbArticle.title).where(KbArticle.id.in_(ids)))}
    numbers = ticket_numbers(session, ids)
    return [Hit(id=a, title=titles[a], score=s, tickets=tuple(numbers[a])) for s, a in ranked]

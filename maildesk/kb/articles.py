"""Knowledge-base articles: create (by hand or from a solved ticket), edit, link to tickets, show.

Every function works in the caller's session and never commits; the search
index of an article is rewritten whenever its text changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from maildesk.errors import MaildeskError, NotFoundError
from maildesk.kb.text import terms
from maildesk.masking import Masker
from maildesk.outbound.compose import strip_subject
from maildesk.store.models import Event, Message, Ticket
from maildesk.store.models_kb import KbArticle, KbArticleTicket, KbTerm
from maildesk.store.transaction_memo import forget
from maildesk.times import iso

# How much a term counts by where it occurs: a title or tag names the problem, the body describes it.
FIELD_WEIGHTS = (("title", 3.0), ("tags", 3.0), ("problem", 1.0), ("solution", 1.0))
PROBLEM_EXCERPT = 2000  # characters of the reporter's first mail kept as the article's problem


class KbError(MaildeskError):
    """An article cannot be saved as asked (e.g. an empty title)."""


def _clean_tags(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in tags if t.strip()))


# the counts of articles holding each term that searches read ahead for a transaction (``search.read_terms_ahead``):
# indexing an article changes them
TERM_COUNTS_MEMO = "maildesk.kb.term_counts"


def reindex(session: Session, article: KbArticle) -> None:
    """Rewrite the article's postings in the search index."""
    forget(session, TERM_COUNTS_MEMO)
    session.flush()
    session.execute(delete(KbTerm).where(KbTerm.article_id == article.id))
    weights: dict[str, float] = {}
    for field_name, factor in FIELD_WEIGHTS:
        value = getattr(article, field_name)
        text = " ".join(value) if isinstance(value, list) else str(value or "")
        for term, count in terms(text).items():
            weights[term] = weights.get(term, 0.0) + factor * count
    if weights:
        session.execute(insert(KbTerm), [
            {"term": term, "article_id": article.id, "weight": weight} for term, weight in weights.items()
        ])


def create_article(
    session: Session, *, title: str, problem: str = "", solution: str = "", tags: Iterable[str] = (),
    author: str = "", now: datetime, tickets: Sequence[Ticket] = (),
) -> KbArticle:
    """A new article, indexed and linked to ``tickets``."""
    title = " ".join(title.split())
    if not title:
        raise KbError("an article needs a title")
    article = KbArticle(title=title, problem=problem.strip(), solution=solution.strip(), tags=_clean_tags(tags),
                        author=author, created_at=now, updated_at=now)
    session.add(article)
    session.flush()
    reindex(session, article)
    for ticket in tickets:
        link_ticket(session, article, ticket, actor=author or "system", now=now)
    return article


def first_problem_text(session: Session, ticket: Ticket) -> str:
    """The reporter's first mail on the ticket, as the problem statement."""
    text = session.scalar(
        select(Message.text).where(Message.ticket_id == ticket.id, Message.direction == "in")
        .order_by(Message.id).limit(1)
    )
    return (text or "").strip()[:PROBLEM_EXCERPT]


def create_article_from_ticket(
    session: Session, ticket: Ticket, solution_text: str, author: str, now: datetime, *,
    masker: Masker | None = None,
) -> KbArticle:
    """An article from a solved ticket (``#kb new`` in a staff reply): its subject, first mail and the solution.

    Articles are suggested to other reporters, so the title, the reporter's words (the problem)
    and the engineer's (the solution, which often names whom they called) are masked: contact
    details, ID and card numbers, the reporter's name and, with the desk's ``masker``, every
    name in the people directory.
    """
    if not solution_text.strip():
        raise KbError(f"{ticket.number}: an article needs the solution text")
    masker = masker or Masker()
    names = (ticket.reporter_name,) if ticket.reporter_name else ()
    title = strip_subject(ticket.subject, ticket.number) or ticket.number
    tags = [*(ticket.tags or []), ticket.type]
    return create_article(
        session, title=masker.text(title, names), problem=masker.text(first_problem_text(session, ticket), names),
        solution=masker.text(solution_text, names), tags=tags, author=author, now=now, tickets=[ticket],
    )


def get_article(session: Session, article_id: int) -> KbArticle:
    article = session.get(KbArticle, article_id)
    if article is None:
        raise NotFoundError(f"no knowledge-base article {article_id}")
    return article


def edit_article(
    session: Session, article_id: int, *, now: datetime, title: str | None = None, problem: str | None = None,
    solution: str | None = None, tags: Iterable[str] | None = None, add_tickets: Sequence[Ticket] = (),
    actor: str = "operator",
) -> KbArticle:
    """Change the given fields (None leaves one as it is) and link more tickets."""
    article = get_article(session, article_id)
    if title is not None:
        title = " ".join(title.split())
        if not title:
            raise KbError("an article needs a title")
        article.title = title
    if problem is not None:
        article.problem = problem.strip()
    if solution is not None:
        article.solution = solution.strip()
    if tags is not None:
        article.tags = _clean_tags(tags)
    article.updated_at = now
    reindex(session, article)
    for ticket in add_tickets:
        link_ticket(session, article, ticket, actor=actor, now=now)
    return article


def link_ticket(session: Session, article: KbArticle, ticket: Ticket, *, actor: str, now: datetime) -> bool:
    """Link the article to the ticket (recorded in the ticket's history); False when already linked."""
    exists = session.scalar(select(KbArticleTicket.id).where(
        KbArticleTicket.article_id == article.id, KbArticleTicket.ticket_id == ticket.id))
    if exists:
        return False
    session.add(KbArticleTicket(article_id=article.id, ticket_id=ticket.id))
    # the ticket's audit trail says so (written here: the knowledge base lies below the desk)
    session.add(Event(ticket_id=ticket.id, at=now, actor=actor, action="kb", from_value=None, to_value=str(article.id),
                      note=article.title))
    ticket.updated_at = now
    return True


def ticket_numbers(session: Session, article_ids: Iterable[int]) -> dict[int, list[str]]:
    """The numbers of the tickets linked to each article, oldest first."""
    ids = list(article_ids)
    found: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.execute(
        select(KbArticleTicket.article_id, Ticket.number).join(Ticket, Ticket.id == KbArticleTicket.ticket_id)
        .where(KbArticleTicket.article_id.in_(ids)).order_by(Ticket.created_at, Ticket.id)
    )
    for article_id, number in rows:
        found[article_id].append(number)
    return found


def article_view(session: Session, article: KbArticle, tz: ZoneInfo) -> dict[str, Any]:
    """The JSON shape of ``kb show ID --json``."""
    return {
        "id": article.id,
        "title": article.title,
        "problem": article.problem,
        "solution": article.solution,
        "tags": list(article.tags or []),
        "tickets": ticket_numbers(session, [article.id])[article.id],
        "author": article.author,
        "created_at": iso(article.created_at, tz),
        "updated_at": iso(article.updated_at, tz),
    }

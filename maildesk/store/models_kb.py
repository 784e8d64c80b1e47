"""Models of the knowledge-base area: articles, the tickets they came from, and their search index.

The index is a plain table of (term, article, weight) rows, where a term is a
Latin word or one or two Chinese characters (see maildesk/kb/text.py). A plain
table works the same on SQLite and PostgreSQL, needs no extension or virtual
table (which Alembic cannot autogenerate), and finds 账号锁定 from 账号被锁,
which a trigram index cannot: the two share no three-character run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from maildesk.store.base import Base, UTCDateTime

__all__ = ["Base", "KbArticle", "KbArticleTicket", "KbTerm"]

TERM_MAX = 64  # longer Latin "words" (hashes, base64) are cut; they still match their own prefix


class KbArticle(Base):
    """One piece of knowledge: a problem and how it was solved."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    problem: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    author: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KbArticleTicket(Base):
    """A ticket the article solved (or was written from)."""

    __tablename__ = "kb_article_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))

    __table_args__ = (
        UniqueConstraint("article_id", "ticket_id"),
        Index("ix_kb_article_tickets_ticket_id", "ticket_id"),
    )


class KbTerm(Base):
    """A posting of the search index: how much ``term`` weighs in an article (title counts more)."""

    __tablename__ = "kb_terms"

    term: Mapped[str] = mapped_column(String(TERM_MAX), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_kb_terms_article_id", "article_id"),)

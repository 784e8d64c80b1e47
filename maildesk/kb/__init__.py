"""The knowledge base (知识库): articles made from solved tickets, found again by Chinese or English keywords."""

from maildesk.kb.articles import (
    KbError,
    article_view,
    create_article,
    create_article_from_ticket,
    edit_article,
    get_article,
    link_ticket,
    reindex,
    ticket_numbers,
)
from maildesk.kb.search import Hit, search
from maildesk.kb.suggest import SUGGEST_THRESHOLD, suggest_articles

__all__ = [
    "SUGGEST_THRESHOLD",
    "Hit",
    "KbError",
    "article_view",
    "create_article",
    "create_article_from_ticket",
    "edit_article",
    "get_article",
    "link_ticket",
    "reindex",
    "search",
    "suggest_articles",
    "ticket_numbers",
]

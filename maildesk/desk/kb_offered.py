"""Which knowledge-base articles a ticket's people may ask for whole: those offered to them on that ticket.

The acknowledgement suggests a few (recorded as a ``kb_suggested`` event), and an engineer may link
one (``#kb 12``, a ``kb`` event). A reporter's ``#kb N`` gets only those: the knowledge base holds
what the team wrote for itself, and a number typed at random must not read it out.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from maildesk.desk.context import Context
from maildesk.store.models import Event, Ticket
from maildesk.store.models_kb import KbArticleTicket

KB_SUGGESTED = "kb_suggested"  # the event of an acknowledgement's suggestions: to_value "12 15"
# "#kb 12", "#KB12", "＃知识库 12", "#知识库：第12篇"
_REQUEST = re.compile(r"^\s*[#＃]\s*(?:kb|知识库)\s*[:：]?\s*(?:kb|第)?\s*[-#＃]?\s*(?P<id>\d{1,9})\s*篇?\s*$",
                      re.IGNORECASE)


def requested_articles(text: str) -> tuple[list[int], str]:
    """The article numbers asked for on the first lines of ``text`` (``#kb 12`` / ``#知识库 12``), and the rest."""
    lines = text.replace("\r\n", "\n").split("\n")
    wanted: list[int] = []
    start = 0
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        match = _REQUEST.match(line)
        if match is None:
            start = index
            break
        wanted.append(int(match.group("id")))
    else:
        start = len(lines)
    return list(dict.fromkeys(wanted)), "\n".join(lines[start:]).strip() if wanted else text


def offered(ctx: Context, ticket: Ticket) -> set[int]:
    """The articles suggested to the ticket's reporter or linked to the ticket."""
    found = {int(part) for value in ctx.session.scalars(
        select(Event.to_value).where(Event.ticket_id == ticket.id, Event.action == KB_SUGGESTED))
        for part in (value or "").split() if part.isdigit()}
    found.update(ctx.session.scalars(select(KbArticleTicket.article_id).where(KbArticleTicket.ticket_id == ticket.id)))
    return found

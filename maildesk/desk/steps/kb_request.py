"""Step: ``#kb 12`` / ``#知识库 12`` from the reporter's side: the whole article, mailed back.

Applies to a mail that joins a ticket from its reporter or a watcher and starts with such lines.
Each article offered on that ticket (suggested in its acknowledgement, or linked by an engineer:
``desk/kb_offered``) is mailed back to the sender alone; any other number gets a mail saying it
is not among them, and reads nothing out. A mail with nothing else in it ends here; words below
the lines go on as an ordinary reply.
"""

from __future__ import annotations

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling, done
from maildesk.desk.kb_offered import offered, requested_articles
from maildesk.desk.messages import store_inbound
from maildesk.desk.notices import queue_kb_article
from maildesk.desk.tickets import record
from maildesk.ingest.outcome import Handled, Result
from maildesk.store.models_kb import KbArticle


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket = mail.ticket
    if ticket is None:
        return None
    wanted, rest = requested_articles(mail.text)
    if not wanted:
        return None
    allowed = offered(ctx, ticket)
    message = mail.mail
    for number in wanted:
        article = ctx.session.get(KbArticle, number) if number in allowed else None
        shown = None if article is None else {"id": article.id, "title": article.title, "problem": article.problem,
                                              "solution": article.solution}
        queue_kb_article(ctx, ticket, mail.sender, requested=number, article=shown, message_id=message.message_id,
                         references=message.references)
        record(ctx, ticket, actor=mail.sender, action="kb_sent" if shown else "kb_refused", new=str(number))
    if rest:
        mail.text = rest  # the rest is a reply like any other
        return None
    store_inbound(ctx, message, ticket=ticket, kind="kb_request", text=mail.text)
    return done(ctx, Result.REPLY, ticket, "knowledge-base article(s) " + ", ".join(map(str, wanted)))

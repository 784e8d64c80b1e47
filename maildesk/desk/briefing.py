"""The briefing of whoever takes a ticket: the reporter's attachments, and the ticket's history so far.

The assignment mail (``desk/notices.queue_assignment``) attaches the files the reporter sent on the
ticket, oldest first, while they fit in ``intake.brief_attachment_bytes``; the rest are listed by
name and size, to be fetched from the earlier mails. On a reassignment or a tier hand-off it also
carries the history in order: the reporter's mails, internal notes, progress entries and commands,
so the next engineer does not start from the first description alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from maildesk.desk.attachment_bytes import AttachmentBytes
from maildesk.desk.context import Context
from maildesk.desk.mailing import Files
from maildesk.mail import InboundMail
from maildesk.store.models import Attachment, Event, Message, Ticket
from maildesk.words import file_size, tier_name

HISTORY_ACTIONS = ("note", "progress", "command", "tier")
ENTRY_CHARS = 600  # of each entry's text: a briefing, not the archive
HISTORY_ENTRIES = 40  # the latest ones, when there are more


@dataclass
class Briefing:
    """Files to attach, files only named (over the size budget), the history's entries (oldest first)."""

    attached: Files = ()
    listed: list[dict[str, str]] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)

    def context(self) -> dict[str, Any]:
        return {"attached": [name for name, _, _ in self.attached], "listed": self.listed, "history": self.history}


# a file as the briefing weighs it: name, content type, size, and how to read its bytes (None: gone)
Part = tuple[str, str, int, Callable[[], "bytes | None"]]


def _budgeted(ctx: Context, parts: Iterable[Part]) -> tuple[Files, list[dict[str, str]]]:
    """Those of ``parts`` within the budget as files, in order, the others by name and size."""
    budget = ctx.settings.intake.brief_attachment_bytes
    attached: list[tuple[str, str, bytes]] = []
    listed: list[dict[str, str]] = []
    for name, ctype, size, read in parts:
        if size <= budget:
            data = read()
            if data is not None:
                attached.append((name, ctype, data))
                budget -= size
                continue
        listed.append({"name": name, "size": file_size(size)})
    return tuple(attached), listed


def reporter_files(ctx: Context, ticket: Ticket) -> tuple[Files, list[dict[str, str]]]:
    """The reporter's attachments on the ticket: those within the budget as files, the others by name and size."""
    rows = ctx.session.execute(
        select(Attachment.filename, Attachment.content_type, Attachment.size, Attachment.message_id,
               Attachment.sha256)
        .join(Message, Message.id == Attachment.message_id)
        .where(Message.ticket_id == ticket.id, Message.direction == "in", Message.from_addr == ticket.reporter)
        .order_by(Message.id, Attachment.id)
    ).all()
    contents = AttachmentBytes(ctx.session)

    def content(message_id: int, digest: str) -> Callable[[], bytes | None]:
        return lambda: contents.read(message_id, digest)

    return _budgeted(ctx, ((name, ctype, size, content(message_id, digest))
                           for name, ctype, size, message_id, digest in rows))


def files_of_first_mail(ctx: Context, mail: InboundMail) -> tuple[Files, list[dict[str, str]]]:
    """What ``reporter_files`` reads for a ticket whose only mail is ``mail``, from the mail in hand: intake
    spares a query (and the flush before it) for every new ticket."""
    return _budgeted(ctx, ((a.filename or "attachment", a.content_type, a.size, lambda a=a: a.data)  # type: ignore[misc]
                           for a in mail.attachments))


def _cut(text: str) -> str:
    # one line an entry: the history reads as a list, in text and HTML alike
    text = " / ".join(line.strip() for line in (text or "").splitlines() if line.strip())
    return text if len(text) <= ENTRY_CHARS else text[:ENTRY_CHARS].rstrip() + " …"


def history(ctx: Context, ticket: Ticket) -> list[dict[str, str]]:
    """The reporter's mails, internal notes, progress and commands on the ticket, in the order they happened."""
    tz, lang = ctx.settings.tz, ctx.lang
    entries: list[tuple[Any, int, int, dict[str, str]]] = []
    mails = ctx.session.execute(
        select(Message.id, Message.created_at, Message.text)
        .where(Message.ticket_id == ticket.id, Message.direction == "in", Message.from_addr == ticket.reporter)
    ).all()
    reporter = ticket.reporter_name or ticket.reporter
    for mid, at, text in mails:
        entries.append((at, 0, mid, {"at": f"{at.astimezone(tz):%m-%d %H:%M}", "what": ctx.say("briefing.mail", lang),
                                "who": reporter, "text": _cut(text)}))
    events = ctx.session.execute(
        select(Event.id, Event.at, Event.action, Event.actor, Event.note, Event.from_value, Event.to_value)
        .where(Event.ticket_id == ticket.id, Event.action.in_(HISTORY_ACTIONS))
    ).all()
    notes = {(at, actor, (note or "").strip()) for _, at, action, actor, note, _, _ in events if action == "note"}
    for eid, at, action, actor, note, old, new in events:
        line = (note or "").strip()
        if action == "command" and any((at, actor) == (a, b) and text and line.endswith(text) for a, b, text in notes):
            continue  # the "#note …" line: the note itself is in the history already
        text = note or ""
        if action == "tier":
            text = ctx.say("briefing.tier_text", lang, old=tier_name(int(old or 1), lang),
                           new=tier_name(int(new or 1), lang), why=note or "")
        entries.append((at, 1, eid, {"at": f"{at.astimezone(tz):%m-%d %H:%M}",
                                     "what": ctx.say(f"briefing.{action}", lang),
                                     "who": ctx.person_name(actor) or actor, "text": _cut(text)}))
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    return [entry for _, _, _, entry in entries][-HISTORY_ENTRIES:]


def briefing(ctx: Context, ticket: Ticket, *, with_history: bool, first_mail: InboundMail | None = None) -> Briefing:
    """``first_mail``: the ticket's only mail, from its reporter, when intake has it in hand."""
    attached, listed = files_of_first_mail(ctx, first_mail) if first_mail else reporter_files(ctx, ticket)
    return Briefing(attached, listed, history(ctx, ticket) if with_history else [])

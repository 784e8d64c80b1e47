"""The intake pipeline: source messages → stored tickets and outbox rows, exactly once.

A batch of mails is one database transaction (one fsync), each mail inside its
own savepoint, so a mail that fails rolls back alone and is quarantined while
the rest commit. Only after the commit are the mails moved out of the intake
folder; a crash in between leaves them there, and the processed-source key
makes the next pass move them without storing them twice. This module is the
one place where a failure of one incoming mail is handled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError
from sqlalchemy.orm import Session

from maildesk.app import App
from maildesk.conversation import on_reply, starts_new_ticket
from maildesk.errors import MaildeskError
from maildesk.ingest.loops import MailKind, classify
from maildesk.ingest.mail import InboundMail
from maildesk.ingest.newticket import start_ticket
from maildesk.ingest.parse import UNPARSABLE, parse_mail
from maildesk.ingest.quotes import strip_quoted
from maildesk.ingest.source import MailSource, SourceMessage
from maildesk.ingest.storing import store_inbound, take_stored
from maildesk.ingest.threading import FOREIGN_FLAG, find_thread
from maildesk.store.bigbytes import write_big, written_later
from maildesk.store.models import Message, ProcessedSource

log = logging.getLogger(__name__)

# built once: building a statement costs more than SQLite takes to run it
_MESSAGE_PK = select(Message.id).where(Message.message_id == bindparam("message_id"))
_CLAIMED = select(ProcessedSource.source_id).where(ProcessedSource.source_id == bindparam("source_id"))
_SOURCES = ProcessedSource.metadata.tables[ProcessedSource.__tablename__]
_CLAIM = insert(_SOURCES).values(outcome="processing", message_pk=None, reason="", raw=None)
_SETTLE = (
    update(_SOURCES).where(_SOURCES.c.source_id == bindparam("source"))
    .values(outcome=bindparam("outcome_"), message_pk=bindparam("message_pk_"))
)
# a reason is read by a person in a log line and `run --json`: an exception may quote a whole mail
MAX_REASON_CHARS = 500


class QuarantineMail(MaildeskError):
    """This mail cannot become or join a ticket; it is set aside with the reason."""


@dataclass(frozen=True)
class Outcome:
    source_id: str
    result: str  # created, reply, noise, duplicate, already, rejected, quarantined
    ticket: str | None = None
    reason: str = ""

    @property
    def done(self) -> bool:
        """The source may move the mail to the processed folder."""
        return self.result != "quarantined"


class _Step:
    """What the pipeline is doing with a mail, so that a failure says where it happened."""

    def __init__(self) -> None:
        self.doing = "checking the source id"


class Pipeline:
    """Turns source messages into tickets; ``clock`` gives the time of each batch."""

    def __init__(self, app: App, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock

    def drain(self, source: MailSource, *, limit: int | None = None) -> list[Outcome]:
        """Process everything the source has now, batch by batch; move each mail once it is committed."""
        outcomes: list[Outcome] = []
        intake = self.app.settings.intake
        batch_size = intake.batch_size
        while limit is None or len(outcomes) < limit:
            # bounded by bytes too: a batch is in memory whole, and mail can be huge
            count = batch_size if limit is None else min(batch_size, limit - len(outcomes))
            batch = source.fetch_batch(count, intake.batch_bytes)
            if not batch:
                break
            results = self.process(batch)
            source.mark_done([o.source_id for o in results if o.done])
            for o in results:
                if not o.done:
                    source.quarantine(o.source_id, o.reason)
            outcomes.extend(results)
        return outcomes

    def process(self, messages: Sequence[SourceMessage]) -> list[Outcome]:
        """Store a batch in one transaction; returns what became of each mail."""
        now = self.clock()
        outcomes: list[Outcome] = []
        with self.app.store.session() as session:
            for sm in messages:
                outcomes.append(self._guarded(session, sm, now))
        for o in outcomes:
            log.info("%s: %s%s%s", o.source_id, o.result, f" {o.ticket}" if o.ticket else "",
                     f" ({o.reason})" if o.reason else "")
        return outcomes

    def _guarded(self, session: Session, sm: SourceMessage, now: datetime) -> Outcome:
        step = _Step()
        try:
            with session.begin_nested():
                return self._one(session, sm, now, step)
        except IntegrityError:
            # another daemon stored the same source or Message-ID first
            return Outcome(sm.source_id, "duplicate", reason="stored concurrently by another process")
        except (OperationalError, InternalError):
            # the database itself failed (gone, full, read-only): nothing of the batch is committed or moved
            raise
        except Exception as exc:
            if isinstance(exc, QuarantineMail):
                reason = str(exc)
            else:
                reason = f"{step.doing} failed: {type(exc).__name__}: {exc}"
                log.exception("mail %s could not be processed; quarantined", sm.source_id)
            reason = reason[:MAX_REASON_CHARS]
            with session.begin_nested():
                raw_later = written_later(session, sm.raw)
                session.add(ProcessedSource(source_id=sm.source_id, outcome="quarantined", reason=reason,
                                            raw=None if raw_later else sm.raw, at=now))
                if raw_later:
                    session.flush()
                    write_big(session, _SOURCES, "raw", _SOURCES.c.source_id == sm.source_id, sm.raw)
            return Outcome(sm.source_id, "quarantined", reason=reason)

    def _one(self, session: Session, sm: SourceMessage, now: datetime, step: _Step) -> Outcome:
        if session.scalar(_CLAIMED, {"source_id": sm.source_id}) is not None:
            return Outcome(sm.source_id, "already")
        # claim the source first: a second daemon with the same mail waits here, then backs off
        # (plain INSERT and UPDATE statements: the row is never needed as an ORM object)
        step.doing = "claiming the source id"
        session.execute(_CLAIM, {"source_id": sm.source_id, "at": now})
        step.doing = "parsing the mail"
        mail = parse_mail(sm.raw)
        step.doing = "looking up its Message-ID"
        existing = session.scalar(_MESSAGE_PK, {"message_id": mail.message_id})
        if existing is not None:
            self._settle(session, sm.source_id, "duplicate", existing)
            return Outcome(sm.source_id, "duplicate", reason=f"Message-ID {mail.message_id} seen before")
        if not mail.sender:
            raise QuarantineMail(_no_sender(mail))
        take_stored(session, mail.message_id)  # nothing left over from a mail rolled back earlier
        step.doing = "routing the mail (loop check, threading, ticket, answers)"
        outcome = self._route(session, sm.source_id, mail, now)
        step.doing = "recording the outcome"
        stored = take_stored(session, mail.message_id)  # the stored mail's id, without selecting it again
        self._settle(session, sm.source_id, outcome.result, stored.id if stored is not None else session.scalar(
            _MESSAGE_PK, {"message_id": mail.message_id}))
        return outcome

    @staticmethod
    def _settle(session: Session, source_id: str, outcome: str, message_pk: int | None) -> None:
        session.execute(_SETTLE, {"source": source_id, "outcome_": outcome, "message_pk_": message_pk})

    def _route(self, session: Session, source_id: str, mail: InboundMail, now: datetime) -> Outcome:
        app = self.app
        settings = app.settings
        loop = classify(mail, settings.own_addresses)
        text = strip_quoted(mail.text)
        thread = find_thread(session, mail, prefix=settings.ticket_prefix, directory=app.directory,
                             addresses=app.addresses, now=now)
        ticket = thread.ticket
        number = ticket.number if ticket else None
        if loop.kind != MailKind.NORMAL:
            # kept where it belongs, but never answered: this is how mail loops are made impossible
            store_inbound(session, mail, ticket=ticket, kind=loop.kind.value, text=text, now=now)
            return Outcome(source_id, "noise", number, f"{loop.kind.value}: {loop.reason}")
        if ticket is not None and not starts_new_ticket(app, session, ticket, mail, text, now):
            reply = on_reply(app, session, ticket, mail, text, now)
            return Outcome(source_id, reply.result, reply.ticket or number, reply.note)
        if ticket is not None:
            made = start_ticket(app, session, mail, text, now, related=ticket, link_kind="follow_up")
        elif thread.foreign is not None:
            # a stranger naming someone else's ticket: a ticket of their own, linked, for a person to look at
            made = start_ticket(app, session, mail, text, now, flags=(FOREIGN_FLAG,), related=thread.foreign)
        else:
            made = start_ticket(app, session, mail, text, now)
        if made.result == "quarantine":
            raise QuarantineMail(made.reason)
        return Outcome(source_id, made.result, made.ticket.number if made.ticket else None, made.reason)


def _no_sender(mail: InboundMail) -> str:
    """Why a mail has no sender to make a ticket for, in the words of what failed."""
    unreadable = next((d for d in mail.defects if d.startswith(UNPARSABLE)), None)
    if unreadable is not None:
        return f"no sender: the mail could not be read ({unreadable})"
    values = mail.headers.get("from", ())
    if not values:
        return "no sender: the mail has no From header"
    return f"no sender: the From header holds no usable mail address: {values[0][:100]!r}"

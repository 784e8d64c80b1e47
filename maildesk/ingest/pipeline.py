"""The intake pipeline: source messages → the desk, exactly once.

A batch of mails is stored TRANSACTION_MAILS mails to a database transaction, or
fewer when the outbox's sender alongside waits for SQLite's one write lock. A
mail that fails rolls back alone and is quarantined while the rest commit: a mail
foreseen to fail is stored in a savepoint of its own, and should another fail, its
group is stored again with a savepoint for each mail. The mails are parsed before
their transaction begins, the next group in a process of its own while this one
is stored (``parsing_alongside``). Only after the batch's last commit are its mails
moved out of the intake folder; a crash before leaves them there, and the
processed-source key makes the next pass move the stored ones without storing them
twice. This module is the one place where a failure of one incoming mail is handled.

Several daemons may read one mailbox (on PostgreSQL). A mail one of them stored is that one's to
move: were the other to move it too, the processed folder would hold it twice (an IMAP server
still copies a mail another session has just moved away, until that session hears of it). So a
mail another process stored moments ago is left in the intake; should that process have stopped
before moving it, whoever finds the mail once its row is older than ``LEFT_FOR_ITS_STORER`` moves it.

Reading ends here: each mail is parsed, its kind decided (``loops``), its new
words separated from the quoted conversation (``quotes``) and the ticket it names
found (``threading``); then the ``handler`` (the desk) decides what it does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError
from sqlalchemy.orm import Session

from maildesk.config import Settings
from maildesk.ingest.known_ids import KnownIds
from maildesk.ingest.loops import classify
from maildesk.ingest.outcome import Handler, Inbound, Outcome, QuarantineMail, Result
from maildesk.ingest.parse import UNPARSABLE
from maildesk.ingest.parsing_alongside import ParseGroups, parse_in_process
from maildesk.ingest.quotes import strip_quoted
from maildesk.ingest.source import MailSource, SourceMessage
from maildesk.ingest.threading import named_ticket
from maildesk.mail import InboundMail
from maildesk.store.bigbytes import write_big, written_later
from maildesk.store.db import Store
from maildesk.store.models import ProcessedSource
from maildesk.tokens import ReplyAddresses

log = logging.getLogger(__name__)

# built once: building a statement costs more than SQLite takes to run it
_SOURCES = ProcessedSource.metadata.tables[ProcessedSource.__tablename__]
_HANDLED_BEFORE = (select(_SOURCES.c.source_id, _SOURCES.c.at)
                   .where(_SOURCES.c.source_id.in_(bindparam("source_ids", expanding=True))))
_HANDLED = insert(_SOURCES).values(reason="", raw=None)
# how long a mail another process stored is left for it to move (module docstring): it moves a batch's mail right
# after the batch's last commit, and a row carries the moment its batch began
LEFT_FOR_ITS_STORER = timedelta(minutes=5)
_LEFT_REASON = "stored by another process moments ago: left for it to move"
# mails to a transaction: SQLite has one write lock, and the outbox's sender needs it between two of these
# to claim the mails just queued and write what it sent (a hundred mails held it for half a second)
TRANSACTION_MAILS = 25
# a reason is read by a person in a log line and `run --json`: an exception may quote a whole mail
MAX_REASON_CHARS = 500
# the database itself failed (gone, full, read-only): no mail is to blame, nothing of the batch is moved
_DATABASE_FAILED = (OperationalError, InternalError)


class _Step:
    """What the pipeline is doing with a mail, so that a failure says where it happened."""

    def __init__(self) -> None:
        self.doing = "parsing the mail"


class Pipeline:
    """Reads source messages and hands each to ``handler`` in its transaction; ``clock`` gives the time of
    each batch."""

    def __init__(self, store: Store, settings: Settings, addresses: ReplyAddresses, handler: Handler,
                 clock: Callable[[], datetime]) -> None:
        self.store, self.settings, self.addresses = store, settings, addresses
        self.handler = handler
        self.clock = clock
        # a row stored after this moment, and at none of this process's batches' moments, is another process's
        self.started = clock()
        # this process's batches' moments within LEFT_FOR_ITS_STORER, oldest first (a dict: a batch a mail under a
        # steady stream, so thousands of them, each looked up and dropped in constant time)
        self._moments: dict[datetime, None] = {}

    def drain(self, source: MailSource, *, limit: int | None = None,
              after_batch: Callable[[], object] | None = None,
              parse: ParseGroups = parse_in_process) -> list[Outcome]:
        """Process everything the source has now, batch by batch; move each mail once it is committed.
        ``after_batch`` is called once each batch is committed (the outbox may send its mail); ``parse`` parses
        a batch's groups (``ParsingAlongside.groups``: the next group in a process of its own)."""
        outcomes: list[Outcome] = []
        intake = self.settings.intake
        batch_size = intake.batch_size
        while limit is None or len(outcomes) < limit:
            # bounded by bytes too: a batch is in memory whole, and mail can be huge
            count = batch_size if limit is None else min(batch_size, limit - len(outcomes))
            batch = source.fetch_batch(count, intake.batch_bytes)
            if not batch:
                break
            results = self.process(batch, parse)
            if after_batch is not None:
                after_batch()
            source.mark_done([o.source_id for o in results if o.done])
            for o in results:
                if o.result == Result.QUARANTINED:
                    source.quarantine(o.source_id, o.reason)
            outcomes.extend(results)
        return outcomes

    def process(self, messages: Sequence[SourceMessage], parse: ParseGroups = parse_in_process) -> list[Outcome]:
        """Store a batch, TRANSACTION_MAILS mails to a transaction; returns what became of each mail."""
        now = self.clock()
        while self._moments and (oldest := next(iter(self._moments))) <= now - LEFT_FOR_ITS_STORER:
            del self._moments[oldest]
        self._moments[now] = None
        outcomes: list[Outcome] = []
        groups = [messages[start:start + TRANSACTION_MAILS] for start in range(0, len(messages), TRANSACTION_MAILS)]
        # each group parsed before its transaction (parsing needs no database): with ParsingAlongside, the next
        # group while this one is stored
        parsed_groups = parse([[sm.raw for sm in group] for group in groups])
        for group, parsed in zip(groups, parsed_groups, strict=True):
            for stored in self._store(group, parsed, now):
                # said once committed: should a later transaction of the batch fail, these mails are stored all the same
                for o in stored:
                    for note in o.notes:
                        log.info("%s: %s", o.source_id, note)
                    log.info("%s: %s%s%s", o.source_id, o.result, f" {o.ticket}" if o.ticket else "",
                             f" ({o.reason})" if o.reason else "")
                outcomes.extend(stored)
        return outcomes

    def _store(self, messages: Sequence[SourceMessage], parsed: Sequence[InboundMail | Exception],
               now: datetime) -> Iterator[list[Outcome]]:
        """Store a group; yields what became of its mails, each transaction's once it is committed."""
        done = 0
        while done < len(messages):
            try:
                stored = self._store_group(messages[done:], parsed[done:], now, guard_all=False)
            except _DATABASE_FAILED:
                raise  # the next pass takes the group again
            except Exception:
                # a mail failed that nothing foresaw (a fault, or another daemon storing it first): the whole
                # group is rolled back and stored again, now each mail in its own savepoint, so that only the
                # one that fails again is quarantined (and logged, once)
                stored = self._store_group(messages[done:], parsed[done:], now, guard_all=True)
            done += len(stored)
            yield stored

    def _store_group(self, messages: Sequence[SourceMessage], parsed: Sequence[InboundMail | Exception],
                     now: datetime, *, guard_all: bool) -> list[Outcome]:
        """One transaction for the first of ``messages``: all of them, unless the outbox's sender alongside waits
        for SQLite's write lock, when the transaction ends after the mail in hand (at least one is stored) and
        the caller stores the rest in the next. A savepoint a mail costs two statements and a good part of a
        mail's ORM work, so only a mail that is foreseen to fail (unreadable, no sender) gets one unless
        ``guard_all``; any other failure raises out of the transaction."""
        outcomes: list[Outcome] = []
        with self.store.session() as session:
            # one query for these mails: which of them an earlier pass has stored already
            conn = session.connection()
            handled_before = {row.source_id: row.at for row in
                              conn.execute(_HANDLED_BEFORE, {"source_ids": [sm.source_id for sm in messages]})}
            # and one for their Message-IDs: which of them are stored already, from this mail or another copy
            known = KnownIds(conn, [sm.raw for sm in messages if sm.source_id not in handled_before])
            # and what the desk will ask of the database for each of them, read for all at once
            self.handler.read_ahead(session, [mail for sm, mail in zip(messages, parsed, strict=True)
                                              if sm.source_id not in handled_before
                                              and not isinstance(mail, Exception) and mail.sender], now)
            sources: list[dict[str, object]] = []
            for sm, mail in zip(messages, parsed, strict=True):
                if sm.source_id in handled_before:
                    outcomes.append(self._handled_before(sm.source_id, handled_before[sm.source_id], now))
                elif guard_all or isinstance(mail, Exception) or not mail.sender:
                    outcomes.append(self._guarded(session, sm, mail, now, known))
                else:
                    outcomes.append(self._one(session, sm, mail, now, _Step(), known, sources))
                if self.store.writer_waiting():
                    # Held for the whole group, the lock would let the sender in once a group; it needs it once
                    # for every 25 mails it sends, and a new ticket makes two, so it would send half the mail
                    # during intake and the rest after it. The sender goes first (``begin_immediate``).
                    break
            if sources:
                # The sources' rows with what became of each mail, written last and together (one executemany). A
                # second daemon storing one of these mails meanwhile meets a row's key here (or the message's
                # before), and the group is stored again, where it finds the mail handled.
                conn.execute(_HANDLED, sources)
        return outcomes

    def _handled_before(self, source_id: str, at: datetime, now: datetime) -> Outcome:
        """A mail whose source was handled at ``at``: moved, unless another process handled it moments ago."""
        if at > self.started and at > now - LEFT_FOR_ITS_STORER and at not in self._moments:
            return Outcome(source_id, Result.ALREADY, reason=_LEFT_REASON, left=True)
        return Outcome(source_id, Result.ALREADY)

    def _guarded(self, session: Session, sm: SourceMessage, mail: InboundMail | Exception, now: datetime,
                 known: KnownIds) -> Outcome:
        step = _Step()
        try:
            with session.begin_nested():
                sources: list[dict[str, object]] = []
                outcome = self._one(session, sm, mail, now, step, known, sources)
                step.doing = "recording the outcome"
                session.connection().execute(_HANDLED, sources)
                return outcome
        except IntegrityError:
            # another daemon stored the same source or Message-ID first
            handled = session.connection().execute(_HANDLED_BEFORE, {"source_ids": [sm.source_id]}).first()
            if handled is not None:
                return self._handled_before(sm.source_id, handled.at, now)
            return Outcome(sm.source_id, Result.DUPLICATE, reason="stored concurrently by another process")
        except _DATABASE_FAILED:
            raise  # nothing of the batch is committed or moved
        except Exception as exc:
            if isinstance(exc, QuarantineMail):
                reason = str(exc)
            else:
                reason = f"{step.doing} failed: {type(exc).__name__}: {exc}"
                log.exception("mail %s could not be processed; quarantined", sm.source_id)
            reason = reason[:MAX_REASON_CHARS]
            with session.begin_nested():
                raw_later = written_later(session, sm.raw)
                session.add(ProcessedSource(source_id=sm.source_id, outcome=Result.QUARANTINED, reason=reason,
                                            raw=None if raw_later else sm.raw, at=now))
                if raw_later:
                    session.flush()
                    write_big(session, _SOURCES, "raw", _SOURCES.c.source_id == sm.source_id, sm.raw)
            return Outcome(sm.source_id, Result.QUARANTINED, reason=reason)

    def _one(self, session: Session, sm: SourceMessage, parsed: InboundMail | Exception, now: datetime, step: _Step,
             known: KnownIds, sources: list[dict[str, object]]) -> Outcome:
        """What becomes of one mail; its source's row is added to ``sources``, for the caller to write."""
        # The pipeline's own statements go to the connection, past the ORM's execute path (a third of
        # their cost): what they read and write is never pending in the session.
        conn = session.connection()
        if isinstance(parsed, Exception):
            raise parsed
        mail = parsed
        step.doing = "looking up its Message-ID"
        existing = known.stored(conn, mail.message_id)
        if existing is not None:
            sources.append(_source_row(sm.source_id, Result.DUPLICATE, existing, now))
            return Outcome(sm.source_id, Result.DUPLICATE, reason=f"Message-ID {mail.message_id} seen before")
        if not mail.sender:
            raise QuarantineMail(_no_sender(mail))
        step.doing = "reading the mail (loop check, threading)"
        inbound = self.read(session, mail, now)
        step.doing = "handling the mail (ticket, answers)"
        handled = self.handler(session, inbound, now)
        sources.append(_source_row(sm.source_id, handled.result, handled.message_pk, now))
        return Outcome(sm.source_id, handled.result, handled.ticket, handled.reason, handled.notes)

    def read(self, session: Session, mail: InboundMail, now: datetime) -> Inbound:
        """What intake knows of a mail: its kind, its new words, and the ticket it names."""
        loop = classify(mail, self.settings.own_addresses)
        named = named_ticket(session, mail, prefix=self.settings.ticket_prefix, addresses=self.addresses, now=now)
        ticket, via = named if named is not None else (None, "")
        return Inbound(mail, loop.kind, loop.reason, strip_quoted(mail.text), ticket, via)


def _source_row(source_id: str, outcome: Result, message_pk: int | None, now: datetime) -> dict[str, object]:
    """The values of a source's row (``_HANDLED``): written once the mail is handled, with what became of it and
    the stored message (whose row is written by then)."""
    return {"source_id": source_id, "outcome": outcome, "message_pk": message_pk, "at": now}


def _no_sender(mail: InboundMail) -> str:
    """Why a mail has no sender to make a ticket for, in the words of what failed."""
    unreadable = next((d for d in mail.defects if d.startswith(UNPARSABLE)), None)
    if unreadable is not None:
        return f"no sender: the mail could not be read ({unreadable})"
    values = mail.headers.get("from", ())
    if not values:
        return "no sender: the mail has no From header"
    return f"no sender: the From header holds no usable mail address: {values[0][:100]!r}"

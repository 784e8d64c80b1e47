"""Mails without a dedup key are written as their transaction commits (``outbound/pending_mail``): nothing may
notice the wait. What reads the outbox or a ticket's messages in the transaction sees them; a savepoint rolled
back takes back its own mails and no other; a transaction rolled back sends nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from maildesk.app import App
from maildesk.desk.mailing import send_on_ticket
from maildesk.outbound.outbox import QueuedMail, thread_ids
from maildesk.store.models import Message, OutboxMail, Ticket
from tests.desk import context, new_ticket

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _relay(app: App, session: Session, ticket: Ticket, words: str, *, answering: str | None = None) -> QueuedMail:
    """A relay to the reporter, threaded on the ticket's messages (read first) unless ``answering`` names a mail."""
    queued = send_on_ticket(context(app, session, NOW), ticket, "relay", [ticket.reporter],
                            {"engineer_name": "李工", "body": words, "notice": ""}, in_reply_to=answering)
    assert queued is not None
    return queued


def _ticket(session: Session, number: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.number == number)).one()


def _written(app: App) -> tuple[list[str], list[str], int]:
    """The outbox's Message-IDs, the ticket's outgoing copies, and its message count, as committed."""
    with app.store.session() as s:
        outbox = list(s.scalars(select(OutboxMail.message_id).order_by(OutboxMail.id)))
        copies = list(s.scalars(select(Message.message_id).where(Message.direction == "out").order_by(Message.id)))
        count = s.scalars(select(Ticket)).one().message_count
    return outbox, copies, count


def test_what_reads_the_ticket_before_commit_sees_the_mails_queued_on_it(app: App) -> None:
    """The next mail on the ticket is threaded under the one queued just before it, and a count of the outbox in
    plain SQL finds both: each read writes what is pending first."""
    number = new_ticket(app, NOW, "P3")
    with app.store.session() as s:
        ticket = _ticket(s, number)
        first = _relay(app, s, ticket, "请重启一下路由器。")
        assert thread_ids(s, ticket)[0] == first.message_id
        second = _relay(app, s, ticket, "还有问题请告诉我。")
        assert s.scalar(text("SELECT count(*) FROM outbox")) == 2
    outbox, copies, count = _written(app)
    assert outbox == copies == [first.message_id, second.message_id]
    assert count == 2  # the two relays (new_ticket adds the reporter's mail uncounted)


def test_a_savepoint_rolled_back_takes_back_its_own_mails_and_no_earlier_one(app: App) -> None:
    """A mail queued before the savepoint and written inside it (by a read there) is written again at commit; the
    one queued inside is gone, with its copy and its count."""
    number = new_ticket(app, NOW, "P3")
    with app.store.session() as s:
        ticket = _ticket(s, number)
        kept = _relay(app, s, ticket, "先记录下来。")
        with pytest.raises(RuntimeError), s.begin_nested():
            _relay(app, s, ticket, "这封不会发出。")
            assert len(s.scalars(select(OutboxMail)).all()) == 2  # both written, inside the savepoint
            raise RuntimeError("the mail being handled failed")
        last = _relay(app, s, ticket, "处理完毕。")
    outbox, copies, count = _written(app)
    assert outbox == copies == [kept.message_id, last.message_id]
    assert count == 2


def test_a_transaction_rolled_back_sends_none_of_its_mails(app: App) -> None:
    """Queued and then rolled back: nothing is written, now or with the session's next transaction."""
    number = new_ticket(app, NOW, "P3")
    with pytest.raises(RuntimeError), app.store.session() as s:
        _relay(app, s, _ticket(s, number), "这封不会发出。")
        raise RuntimeError("the group failed")
    with app.store.session() as s:
        sent = _relay(app, s, _ticket(s, number), "这封会发出。")
    outbox, copies, count = _written(app)
    assert outbox == copies == [sent.message_id]
    assert count == 1


# A database refusing one outbox row, for real: a trigger (the fault a full disk or a constraint would make).
_REFUSE = {
    "sqlite": ["CREATE TRIGGER refuse_mail BEFORE INSERT ON outbox WHEN NEW.text LIKE '%拒收%' "
               "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"],
    "postgresql": [
        "CREATE FUNCTION refuse_mail() RETURNS trigger AS $$ BEGIN IF NEW.text LIKE '%拒收%' THEN "
        "RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_mail BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_mail()",
    ],
}


def test_a_write_failing_in_a_savepoint_loses_none_of_the_mails_queued_before_it(app: App) -> None:
    """The mails pending are written together; when the database refuses the statement inside a savepoint (the
    savepoint's own mail), the mails queued before the savepoint are written at commit all the same."""
    number = new_ticket(app, NOW, "P3")
    with app.store.session() as s:
        for ddl in _REFUSE[app.store.dialect]:
            s.execute(text(ddl))
    with app.store.session() as s:
        ticket = _ticket(s, number)
        kept = _relay(app, s, ticket, "先记录下来。")
        with pytest.raises(DBAPIError), s.begin_nested():
            _relay(app, s, ticket, "这封会被拒收。", answering="asked@example.com")  # threaded without a read
            s.scalars(select(OutboxMail)).all()  # the read writes both: the database refuses the statement
        last = _relay(app, s, ticket, "处理完毕。")
    outbox, copies, count = _written(app)
    assert outbox == copies == [kept.message_id, last.message_id]
    assert count == 2

"""A desk for the conversation tests: feed mails through the real pipeline, read tickets, events and the outbox."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from maildesk.app import App
from maildesk.ingest.pipeline import Outcome, Pipeline
from maildesk.ingest.source import SourceMessage
from maildesk.store.models import Event, OutboxMail, Ticket
from tests.desk import desk_settings, mail, make_app

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
REPORTER = "zhang.wei@example.com"  # 张伟, 财务部
ENGINEER = "liu.yang@example.com"  # 刘洋, hardware: printer tickets go to him
MANAGER = "zheng.li@example.com"  # 郑丽, role manager


class Desk:
    """One test's maildesk: mails in through ``Pipeline.process``, the state out of the database."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.now = NOW
        self._fed = 0

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def feed(self, raw: bytes) -> Outcome:
        self._fed += 1
        [outcome] = Pipeline(self.app, lambda: self.now).process([SourceMessage(f"test:{self._fed}", raw)])
        assert outcome.result != "quarantined", outcome.reason
        return outcome

    def ticket(self, number: str) -> Ticket:
        with self.app.store.session() as s:
            return s.scalars(select(Ticket).where(Ticket.number == number)).one()

    def outbox(self, kind: str | None = None) -> list[OutboxMail]:
        with self.app.store.session() as s:
            stmt = select(OutboxMail).order_by(OutboxMail.id)
            if kind is not None:
                stmt = stmt.where(OutboxMail.kind == kind)
            return list(s.scalars(stmt))

    def events(self, number: str, action: str | None = None) -> list[Event]:
        ticket = self.ticket(number)
        with self.app.store.session() as s:
            stmt = select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id)
            if action is not None:
                stmt = stmt.where(Event.action == action)
            return list(s.scalars(stmt))

    def open_ticket(self, subject: str = "财务部打印机卡纸", body: str = "三楼打印机一直卡纸，无法打印报表。",
                    sender: str = REPORTER, **kw: Any) -> Ticket:
        outcome = self.feed(mail(sender, subject, body, **kw))
        assert outcome.result == "created" and outcome.ticket
        return self.ticket(outcome.ticket)

    def staff(self, ticket: Ticket, body: str, *, sender: str = ENGINEER, proven: bool = True,
              **kw: Any) -> Outcome:
        """A reply of a staff member; ``proven`` sends it to the ticket's staff reply address."""
        to = self.app.addresses.staff(ticket.number) if proven else self.app.settings.support_address
        return self.feed(mail(sender, f"回复: [{ticket.number}] {ticket.subject}", body, to=to, **kw))

    def reporter(self, ticket: Ticket, body: str, *, sender: str = REPORTER, **kw: Any) -> Outcome:
        """A reply of the reporter to the ticket's reply address (the Reply-To of our mails)."""
        return self.feed(mail(sender, f"回复: [{ticket.number}] {ticket.subject}", body,
                              to=self.app.addresses.reporter(ticket.number), **kw))


def parsed(row: OutboxMail) -> EmailMessage:
    return email.message_from_bytes(row.raw, policy=policy.default)


def body_of(row: OutboxMail) -> str:
    """Every text part of an outgoing mail (text and HTML), decoded."""
    message = parsed(row)
    return "\n".join(str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text")


# named in the decorator, so test modules import it as desk_fixture and keep ruff's F811 quiet
@pytest.fixture(name="desk")
def desk_fixture(tmp_path: Path, db_url: str) -> Iterator[Desk]:
    """A desk on each test database, with the sample people and rules, writing mail to the outbox only."""
    app = make_app(tmp_path, desk_settings(db_url, intake={"trusted_authserv_ids": ["mx.example.com"]}))
    yield Desk(app)
    app.close()

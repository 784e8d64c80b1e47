"""The one test desk: a maildesk installation for a test, mails to feed it, people acting, the sweep, the outbox.

- ``make_app`` / ``desk_settings`` / ``write_config``: an installation on disk (config, the sample people
  and rules) on the test's database.
- ``mail`` / ``stamped``: mails as a mail client writes them, and as the receiving MTA hands them on.
- ``Helpdesk`` (fixture ``desk``): mails in through the real intake pipeline at an explicit ``now``, the
  tickets, events and outbox out of the database.
- ``new_ticket``, ``staff_reply``, ``reporter_reply``, ``set_status``, ``raise_priority``: people acting
  through the ticket operations, written out so the SLA tests pin the sweep, not the reply parser;
  ``sweep`` / ``sweep_through`` run the SLA sweep at explicit moments.
"""

from __future__ import annotations

import email
import shutil
import tomllib
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.app import App
from maildesk.config import parse_settings
from maildesk.daemon import intake_pipeline
from maildesk.desk.context import Context
from maildesk.desk.setup import Desk
from maildesk.desk.tickets import NewTicket, change_status, create_ticket, get_ticket, respond, set_field
from maildesk.ingest.outcome import Outcome, Result
from maildesk.ingest.source import SourceMessage
from maildesk.people.directory import default_people_path
from maildesk.rules.loader import default_rules_path
from maildesk.statuses import Status
from maildesk.store.models import Event, Message, OutboxMail, Ticket
from maildesk.sweep import Queued, run_sweep

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
REPORTER = "zhang.wei@example.com"  # 张伟, 财务部
ENGINEER = "liu.yang@example.com"  # 刘洋, hardware: printer tickets go to him
LEAD = "wu.qiang@example.com"  # 吴强, lead of the software team
MANAGER = "zheng.li@example.com"  # 郑丽, role manager
DIRECTOR = "huang.gang@example.com"  # 黄刚, role director

IMAP_PASSWORD_ENV = "MAILDESK_TEST_IMAP_PASSWORD"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_table(name: str, values: Mapping[str, Any], header: str = "[{}]") -> list[str]:
    """``[name]`` with its keys, then its sub-tables (``[name.sub]``) and arrays of tables (``[[name.sub]]``)."""
    lines = [f"\n{header.format(name)}"]
    nested: list[str] = []
    for k, v in values.items():
        if isinstance(v, dict):
            nested.extend(_toml_table(f"{name}.{k}", v))
        elif isinstance(v, list) and v and all(isinstance(item, dict) for item in v):
            for item in v:
                nested.extend(_toml_table(f"{name}.{k}", item, "[[{}]]"))
        elif v is not None:
            lines.append(f"{k} = {_toml_value(v)}")
    return lines + nested


def write_config(folder: Path, settings: Mapping[str, Any]) -> Path:
    """Write ``settings`` (top-level keys and one level of tables) as maildesk.toml, with sample people and rules."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(default_people_path(), folder / "people.csv")
    shutil.copyfile(default_rules_path(), folder / "rules.toml")
    lines = [f"{k} = {_toml_value(v)}" for k, v in settings.items() if not isinstance(v, dict)]
    for table, values in settings.items():
        if isinstance(values, dict):
            lines.extend(_toml_table(table, values))
    path = folder / "maildesk.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tomllib.loads(path.read_text(encoding="utf-8"))
    return path


def desk_settings(
    db_url: str, *, imap: tuple[str, int, str] | None = None, smtp: tuple[str, int] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Settings for a test desk: the database, the Dovecot user (host, port, user) and the SMTP sink."""
    data: dict[str, Any] = {"database": db_url, "support_address": "support@example.com"}
    if imap is not None:
        host, port, user = imap
        data["mailbox"] = {"kind": "imap"}
        data["imap"] = {"host": host, "port": port, "security": "plain", "username": user,
                        "password_env": IMAP_PASSWORD_ENV, "idle": True, "poll_seconds": 1.0, "timeout": 10.0}
    if smtp is not None:
        data["smtp"] = {"transport": "smtp", "host": smtp[0], "port": smtp[1], "security": "plain",
                        "timeout": 5.0, "retry_base_seconds": 1.0}
    else:
        data["smtp"] = {"transport": "file", "directory": "sent"}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def priorities_on(**clocks: str) -> dict[str, Any]:
    """The default priorities with the clocks given (``P1="business"``): for tests that pin one clock."""
    defaults = parse_settings({}, Path(".")).priorities
    return {code: {**p.model_dump(exclude_none=True), **({"clock": clocks[code]} if code in clocks else {})}
            for code, p in defaults.items()}


def make_app(folder: Path, settings: Mapping[str, Any]) -> App:
    """An App on a config written into ``folder`` (so people.csv and rules.toml resolve there)."""
    write_config(folder, settings)
    return App(parse_settings(dict(settings), folder))


@pytest.fixture(name="app")
def app_fixture(db_url: str, tmp_path: Path) -> Iterator[App]:
    """A desk with the tests' settings on the run's database (SQLite, then PostgreSQL), its schema made."""
    desk = make_app(tmp_path, desk_settings(db_url))
    desk.upgrade()
    yield desk
    desk.close()


def fail_new_tickets(monkeypatch: pytest.MonkeyPatch, marker: str, message: str) -> None:
    """A fault injected into intake (a mock: a real one would be a bug): a new ticket whose subject holds
    ``marker`` fails as it is written, after its assignee was chosen, with RuntimeError(``message``)."""
    from maildesk.desk.steps import open_ticket

    def create_or_fail(ctx: Context, data: NewTicket, *, actor: str, first: Message | None = None) -> Ticket:
        if marker in data.subject:
            raise RuntimeError(message)
        return create_ticket(ctx, data, actor=actor, first=first)

    monkeypatch.setattr(open_ticket, "create_ticket", create_or_fail)


def context(app: App, session: Session, now: datetime) -> Context:
    """The desk's context for work done in ``session`` at ``now``."""
    return Context(app.desk, session, now)


_DEFAULT_DESK = Desk(parse_settings({}, Path(".")))  # the default settings: P1-P4 targets, China's calendar


def bare_context(session: Session, now: datetime) -> Context:
    """A context on the default settings, for tests that work on a store alone."""
    return Context(_DEFAULT_DESK, session, now)


def mail(
    sender: str, subject: str, body: str, *, name: str = "", to: str = "support@example.com",
    charset: str = "utf-8", message_id: str | None = None, headers: Mapping[str, str] | None = None,
    in_reply_to: str | None = None, cc: str | None = None, date: datetime | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
) -> bytes:
    """A realistic mail as a mail client would send it."""
    m = EmailMessage()
    m["From"] = f"{name} <{sender}>" if name else sender
    m["To"] = to
    if cc:
        m["Cc"] = cc
    m["Subject"] = subject
    m["Date"] = format_datetime(date or datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    m["Message-ID"] = message_id or make_msgid(domain="client.example.com")
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    for key, value in (headers or {}).items():
        m[key] = value
    m.set_content(body, charset=charset)
    for filename, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return m.as_bytes()


def message_id_of(raw: bytes) -> str:
    """The Message-ID of a mail as it went out or lies in a folder: one mail sent or moved twice shows by it."""
    return str(BytesHeaderParser().parsebytes(raw)["Message-ID"])


def stamped(raw: bytes, *fields: tuple[str, str]) -> bytes:
    """``raw`` as the receiving mail server hands it on: its trace fields prepended, above the sender's own."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in fields)
    return lines.encode("utf-8") + raw


class Helpdesk:
    """One test's maildesk: mails in through the intake pipeline at ``now``, the state out of the database."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.now = NOW
        self._fed = 0

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def feed(self, raw: bytes) -> Outcome:
        self._fed += 1
        [outcome] = intake_pipeline(self.app, lambda: self.now).process([SourceMessage(f"test:{self._fed}", raw)])
        assert outcome.result != Result.QUARANTINED, outcome.reason
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
        assert outcome.result == Result.CREATED and outcome.ticket
        return self.ticket(outcome.ticket)

    def staff(self, ticket: Ticket, body: str, *, sender: str = ENGINEER, proven: bool = True, re: str = "回复: ",
              **kw: Any) -> Outcome:
        """A reply of a staff member; ``proven`` sends it to the ticket's staff reply address."""
        to = self.app.desk.addresses.staff(ticket.number) if proven else self.app.settings.support_address
        return self.feed(mail(sender, f"{re}[{ticket.number}] {ticket.subject}", body, to=to, **kw))

    def reporter(self, ticket: Ticket, body: str, *, sender: str = REPORTER, re: str = "回复: ", **kw: Any) -> Outcome:
        """A reply of the reporter to the ticket's reply address (the Reply-To of our mails)."""
        return self.feed(mail(sender, f"{re}[{ticket.number}] {ticket.subject}", body,
                              to=self.app.desk.addresses.reporter(ticket.number), **kw))


def parsed(row: OutboxMail) -> EmailMessage:
    return email.message_from_bytes(row.raw, policy=policy.default)


def body_of(row: OutboxMail) -> str:
    """Every text part of an outgoing mail (text and HTML), decoded."""
    message = parsed(row)
    return "\n".join(str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text")


# named in the decorator, so test modules import it as desk_fixture and keep ruff's F811 quiet
@pytest.fixture(name="desk")
def desk_fixture(tmp_path: Path, db_url: str) -> Iterator[Helpdesk]:
    """A desk on each test database, with the sample people and rules, writing mail to the outbox only."""
    app = make_app(tmp_path, desk_settings(db_url, intake={"trusted_authserv_ids": ["mx.example.com"]}))
    yield Helpdesk(app)
    app.close()


# --- people acting, the sweep, the outbox: for the SLA tests -------------------------------------------


def at(day: date | str, hh: int, mm: int = 0) -> datetime:
    """A moment in Shanghai."""
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(d, time(hh, mm), tzinfo=TZ)


def make_desk(tmp_path: Path, db_url: str, **overrides: Any) -> App:
    """An App on ``db_url`` with the sample directory (engineers, a lead, a manager, a director)."""
    app = make_app(tmp_path, desk_settings(db_url, **overrides))
    app.upgrade()
    return app


def desks(tmp_path: Path, db_url: str) -> Iterator[Callable[..., App]]:
    """For a test file's fixture: open Apps on the test's database (a second one is a restarted or a
    second daemon), all closed afterwards."""
    apps: list[App] = []

    def opener(**overrides: Any) -> App:
        apps.append(make_desk(tmp_path, db_url, **overrides))
        return apps[-1]

    yield opener
    for app in apps:
        app.close()


def new_ticket(app: App, now: datetime, priority: str, *, subject: str = "服务器无法访问",
               reporter: str = REPORTER, assignee: str | None = ENGINEER, language: str = "zh") -> str:
    """A ticket as intake makes it: the reporter's first mail stored, deadlines set."""
    with app.store.session() as s:
        t = create_ticket(context(app, s, now), NewTicket(
            subject=subject, reporter=reporter, priority=priority, type="hardware", team="hardware",
            assignee=assignee, reporter_name="张伟", language=language))
        _message(s, t, "in", reporter, now)
        return t.number


def _message(session: Any, ticket: Ticket, direction: str, sender: str, now: datetime, kind: str = "normal",
             to: tuple[str, ...] = ()) -> None:
    session.add(Message(ticket_id=ticket.id, direction=direction, kind=kind, message_id=f"{uuid.uuid4().hex}@t",
                        from_addr=sender, to_addrs=list(to), cc_addrs=[], subject=ticket.subject, text="",
                        defects=[], rule_hits=[], created_at=now))


def staff_reply(app: App, number: str, now: datetime, sender: str = ENGINEER,
                status: Status | None = Status.IN_PROGRESS, note: str = "") -> None:
    """An engineer answers in the thread (and may move the ticket on)."""
    with app.store.session() as s:
        ctx = context(app, s, now)
        t = get_ticket(s, number)
        _message(s, t, "in", sender, now)
        _message(s, t, "out", app.settings.support_address, now, kind="relay", to=(t.reporter,))
        respond(ctx, t, actor=sender)
        if status is not None:
            change_status(ctx, t, status, actor=sender, note=note)


def reporter_reply(app: App, number: str, now: datetime, resume: bool = True) -> None:
    """The reporter writes back; a ticket waiting on them goes back to work."""
    with app.store.session() as s:
        t = get_ticket(s, number)
        _message(s, t, "in", t.reporter, now)
        if resume and t.status == Status.WAITING_USER:
            change_status(context(app, s, now), t, Status.IN_PROGRESS, actor=t.reporter)


def set_status(app: App, number: str, now: datetime, status: Status, note: str = "") -> None:
    """A status change by the engineer without a mail (a command, the CLI)."""
    with app.store.session() as s:
        change_status(context(app, s, now), get_ticket(s, number), status, actor=ENGINEER, note=note)


def raise_priority(app: App, number: str, now: datetime, priority: str) -> None:
    """A supervisor's review (复核) changes the priority, as `tickets set --priority` does."""
    with app.store.session() as s:
        set_field(context(app, s, now), get_ticket(s, number), "priority", priority, actor=MANAGER)


def ticket(app: App, number: str) -> Ticket:
    with app.store.session() as s:
        return get_ticket(s, number)


@dataclass(frozen=True)
class Sent:
    """One outbox row as the tests look at it."""

    ticket: str | None
    kind: str
    to: tuple[str, ...]
    key: str | None
    at: datetime
    subject: str
    text: str


def outbox(app: App, kind: str | None = None) -> list[Sent]:
    with app.store.session() as s:
        stmt = select(OutboxMail, Ticket.number).outerjoin(Ticket, Ticket.id == OutboxMail.ticket_id) \
            .order_by(OutboxMail.id)
        if kind:
            stmt = stmt.where(OutboxMail.kind == kind)
        return [Sent(n, m.kind, tuple(m.to_addrs), m.dedup_key, m.created_at.astimezone(TZ), m.subject, m.text)
                for m, n in s.execute(stmt)]


def sweep(app: App, now: datetime) -> list[Queued]:
    return run_sweep(app.desk, app.store, now).queued


def moments(start: datetime, end: datetime, step: timedelta = timedelta(minutes=15)) -> Iterator[datetime]:
    now = start
    while now <= end:
        yield now
        now += step


def sweep_through(app: App, start: datetime, end: datetime, step: timedelta = timedelta(minutes=15)) -> list[Queued]:
    """Sweep every ``step`` from ``start`` to ``end`` (both included), as the daemon would."""
    out: list[Queued] = []
    for now in moments(start, end, step):
        out.extend(sweep(app, now))
    return out


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)

"""The read path of ``tickets list`` and ``tickets show``: plain SQL over the database driver.

These two commands are typed and scripted all day, and importing SQLAlchemy alone takes longer
than the whole command may (bench/cli_startup.py). They only read, so they talk to the driver
(sqlite3, or psycopg for PostgreSQL) directly and build exactly the dictionaries of
``maildesk.views`` (tests/test_cli_tables.py holds the two to the same output). ``open_reader``
returns None when the database is missing or not at this maildesk's schema: the caller then
takes the ordinary path, which creates or upgrades it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote
from zoneinfo import ZoneInfo

from maildesk.errors import NotFoundError
from maildesk.store.dberrors import DatabaseUnavailable, connect_problem, sqlite_file
from maildesk.store.revision import Schema, schema_state

SUMMARY_COLUMNS = (
    "number", "subject", "status", "priority", "type", "team", "assignee", "lead", "reporter", "reporter_name",
    "reporter_department", "tags", "flags", "watchers", "created_at", "updated_at", "first_response_at",
    "resolved_at", "closed_at", "response_due", "resolve_due", "escalation_level", "reopen_count", "message_count",
    "channel",
)  # fmt: skip
DETAIL_COLUMNS = ("reporter_employee_id", "reporter_extension", "system", "impact", "occurred", "occurred_at")
_JSON = frozenset({"tags", "flags", "watchers", "to_addrs", "cc_addrs", "rule_hits", "defects"})
_TIMES = frozenset({"created_at", "updated_at", "first_response_at", "resolved_at", "closed_at", "response_due",
                    "resolve_due", "occurred_at", "at"})
FETCH_ROWS = 500  # rows a PostgreSQL server-side cursor hands over at a time


class _Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def fetchone(self) -> Any: ...
    def close(self) -> None: ...
    def __iter__(self) -> Iterator[Any]: ...


@dataclass(frozen=True)
class TicketFilter:
    """What ``tickets list`` was asked for: statuses, team, assignee ("" = unassigned), priority, paging."""

    statuses: tuple[str, ...] = ()
    team: str | None = None
    assignee: str | None = None
    priority: str | None = None
    after: str | None = None  # a ticket number: list the ones after it in the listing's order
    limit: int | None = None


class TicketReader:
    """A read-only connection and the two queries; times come back in ``tz``."""

    def __init__(self, connection: Any, *, postgres: bool, tz: ZoneInfo) -> None:
        self._conn = connection
        self._pg = postgres
        self.tz = tz

    def close(self) -> None:
        self._conn.close()

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self._pg else text

    def _cursor(self, name: str | None = None) -> _Cursor:
        if self._pg and name is not None:  # a server-side cursor: rows arrive as they are read
            cursor = self._conn.cursor(name=name)
            cursor.itersize = FETCH_ROWS
            return cursor  # type: ignore[no-any-return]
        return self._conn.cursor()  # type: ignore[no-any-return]

    def revision(self) -> str | None:
        cursor = self._cursor()
        try:
            cursor.execute("SELECT version_num FROM alembic_version")
        except Exception:  # no such table: a database no maildesk has set up yet
            self._conn.rollback()
            return None
        row = cursor.fetchone()
        return row[0] if row else None

    # --- tickets list ----------------------------------------------------------------------

    def tickets(self, wanted: TicketFilter) -> Iterator[dict[str, Any]]:
        """The tickets ``wanted`` names, newest first, one at a time (memory stays flat)."""
        where: list[str] = []
        params: list[Any] = []
        if wanted.statuses:
            where.append(f"status IN ({', '.join('?' for _ in wanted.statuses)})")
            params.extend(wanted.statuses)
        for column, value in (("team", wanted.team), ("priority", wanted.priority)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if wanted.assignee is not None:
            where.append("assignee IS NULL" if wanted.assignee == "" else "lower(assignee) = ?")
            params.extend([wanted.assignee.lower()] if wanted.assignee else [])
        if wanted.after is not None:
            created, ident = self._position(wanted.after)
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            params.extend([created, created, ident])
        sql = f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM tickets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC"
        if wanted.limit is not None:
            sql += f" LIMIT {int(wanted.limit)}"
        cursor = self._cursor("maildesk_tickets")
        try:
            cursor.execute(self._sql(sql), params)
            for row in cursor:
                yield self._record(SUMMARY_COLUMNS, row)
        finally:
            cursor.close()

    def _position(self, number: str) -> tuple[Any, int]:
        cursor = self._cursor()
        cursor.execute(self._sql("SELECT created_at, id FROM tickets WHERE number = ?"), [number.strip().upper()])
        row = cursor.fetchone()
        if row is None:
            raise NotFoundError(f"no ticket {number} (--after)")
        return row[0], row[1]

    # --- tickets show ----------------------------------------------------------------------

    def ticket(self, number: str) -> dict[str, Any]:
        """One ticket as ``views.ticket_detail`` shows it: the summary, details, links, messages, events."""
        columns = ("id", *SUMMARY_COLUMNS, *DETAIL_COLUMNS)
        cursor = self._cursor()
        cursor.execute(self._sql(f"SELECT {', '.join(columns)} FROM tickets WHERE number = ?"),
                       [number.strip().upper()])
        row = cursor.fetchone()
        if row is None:
            raise NotFoundError(f"no ticket {number}")
        record = self._record(columns, row)
        ident = record.pop("id")
        detail = {k: record[k] for k in SUMMARY_COLUMNS}
        detail.update({k: record[k] for k in DETAIL_COLUMNS})
        cursor.execute(self._sql("SELECT l.kind, t.number FROM ticket_links l JOIN tickets t ON t.id = l.other_id "
                                 "WHERE l.ticket_id = ? ORDER BY l.id"), [ident])
        detail["links"] = [{"kind": kind, "ticket": other} for kind, other in cursor]
        cursor.execute(self._sql("SELECT outcome, rd_number, evaluated_by, evaluated_at, note FROM requirements "
                                 "WHERE ticket_id = ?"), [ident])
        found = cursor.fetchone()
        detail["requirement"] = None if found is None else {
            "outcome": found[0], "rd_number": found[1], "evaluated_by": found[2], "evaluated_at": self._iso(found[3]),
            "note": found[4]}
        detail["messages"] = self._messages(ident)
        detail["events"] = self._events(ident)
        return detail

    def _messages(self, ticket_id: int) -> list[dict[str, Any]]:
        columns = ("id", "direction", "kind", "message_id", "from_addr", "to_addrs", "cc_addrs", "subject", "text",
                   "created_at", "rule_hits", "defects")
        cursor = self._cursor()
        cursor.execute(self._sql(f"SELECT {', '.join(columns)} FROM messages WHERE ticket_id = ? ORDER BY id"),
                       [ticket_id])
        messages = [self._record(columns, row) for row in cursor]
        attachments: dict[int, list[dict[str, Any]]] = {m["id"]: [] for m in messages}
        if messages:
            cursor.execute(self._sql(
                "SELECT a.message_id, a.filename, a.content_type, a.size FROM attachments a "
                "JOIN messages m ON m.id = a.message_id WHERE m.ticket_id = ? ORDER BY a.id"), [ticket_id])
            for message_pk, filename, content_type, size in cursor:
                attachments[message_pk].append({"filename": filename, "content_type": content_type, "size": size})
        return [{
            "direction": m["direction"], "kind": m["kind"], "message_id": m["message_id"], "from": m["from_addr"],
            "to": m["to_addrs"], "cc": m["cc_addrs"], "subject": m["subject"], "text": m["text"],
            "created_at": m["created_at"], "attachments": attachments[m["id"]], "rule_hits": m["rule_hits"],
            "defects": m["defects"],
        } for m in messages]

    def _events(self, ticket_id: int) -> list[dict[str, Any]]:
        columns = ("at", "actor", "action", "from_value", "to_value", "note")
        cursor = self._cursor()
        cursor.execute(self._sql(f"SELECT {', '.join(columns)} FROM events WHERE ticket_id = ? ORDER BY id"),
                       [ticket_id])
        return [{"at": e["at"], "actor": e["actor"], "action": e["action"], "from": e["from_value"],
                 "to": e["to_value"], "note": e["note"]} for e in (self._record(columns, row) for row in cursor)]

    # --- values as the ORM gives them -------------------------------------------------------

    def _record(self, columns: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
        record = dict(zip(columns, row, strict=True))
        for key in _JSON.intersection(record):
            value = record[key]
            if isinstance(value, str):  # SQLite keeps JSON as text; psycopg decodes it already
                value = json.loads(value)
            record[key] = list(value or [])
        for key in _TIMES.intersection(record):
            record[key] = self._iso(record[key])
        return record

    def _iso(self, value: Any) -> str | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC).astimezone(self.tz).isoformat(timespec="seconds")


def open_reader(url: str, tz: ZoneInfo) -> TicketReader | None:
    """A reader on ``url`` when the database is there and at this maildesk's schema; else None."""
    file = sqlite_file(url)
    if file is not None:
        import sqlite3

        try:
            connection: Any = sqlite3.connect(f"file:{quote(str(file))}?mode=ro", uri=True, timeout=60)
            reader = TicketReader(connection, postgres=False, tz=tz)
            revision = reader.revision()
        except sqlite3.Error:  # missing, unreadable: the ordinary path says which, or creates it
            return None
    elif url.startswith(("postgresql", "postgres")):
        try:
            import psycopg

            connection = psycopg.connect(_libpq_url(url))
        except Exception as exc:
            raise DatabaseUnavailable(connect_problem(exc, url)) from None
        reader = TicketReader(connection, postgres=True, tz=tz)
        revision = reader.revision()
    else:
        return None
    if schema_state(revision) is not Schema.CURRENT:
        reader.close()
        return None
    return reader


def _libpq_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return "postgresql://" + rest if scheme.startswith("postgres") else url

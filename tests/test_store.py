"""The store: migrations match the models, SQLite runs in WAL mode, times round-trip with their zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from maildesk.store.base import Base
from maildesk.store.db import Store
from maildesk.store.models import Message, Ticket


def test_migrations_produce_exactly_the_models(store: Store) -> None:
    """After `db upgrade` the schema has nothing the models lack and lacks nothing they have."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_sqlite_uses_wal(store: Store) -> None:
    """SQLite databases run in WAL mode so readers never block the daemon."""
    if store.dialect != "sqlite":
        return
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_times_come_back_aware_and_equal(store: Store) -> None:
    """A time stored with +08:00 comes back as the same instant, aware, in UTC."""
    local = datetime(2026, 11, 23, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    with store.session() as s:
        s.add(Ticket(number="TS-20261123-0001", subject="x", priority="P3", type="other", reporter="a@b.c",
                     created_at=local, updated_at=local))
    with store.session() as s:
        t = s.query(Ticket).one()
        assert t.created_at == local and t.created_at.tzinfo == UTC


def test_postgresql_compresses_a_mails_bytes_with_lz4(store: Store) -> None:
    """On PostgreSQL 14 or newer built with lz4, a stored mail's bytes are compressed with lz4 (pglz took three
    quarters of a new ticket's statement) and read back as they came; SQLite has no such setting."""
    if store.dialect != "postgresql":
        return
    with store.engine.connect() as conn:
        choices = conn.execute(text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"))
        if "lz4" not in (choices.scalar() or []):
            pytest.skip("this PostgreSQL has no lz4")
    raw = b"Subject: =?utf-8?b?5omT5Y2w5py65Y2h57q4?=\r\n\r\n" + "三楼打印机卡纸，报错 E-1024。\r\n".encode() * 400
    with store.session() as s:
        s.add(Message(direction="in", kind="normal", message_id="lz4@example.com", from_addr="a@example.com",
                      to_addrs=[], cc_addrs=[], subject="打印机卡纸", text="", raw=raw, defects=[], rule_hits=[],
                      created_at=datetime(2026, 11, 23, 1, 30, tzinfo=UTC)))
    with store.session() as s:
        method, kept = s.execute(text("SELECT pg_column_compression(raw), raw FROM messages")).one()
    assert method == "lz4" and bytes(kept) == raw

"""The store: migrations match the models, SQLite runs in WAL mode, times round-trip with their zone."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from maildesk.store.base import Base
from maildesk.store.db import SQLITE_PAGE_BYTES, Store
from maildesk.store.migrate import upgrade
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


def test_a_new_sqlite_database_has_16_kb_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    """A new desk's SQLite file is made with 16 KB pages (a mail's bytes cross fewer pages); a desk made before,
    with SQLite's 4 KB, opens, migrates and stores mail as it did, its pages unchanged."""
    new = Store(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(new)
    with new.engine.connect() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar() == SQLITE_PAGE_BYTES == 16384
    new.close()
    old_path = tmp_path / "old.db"
    made = sqlite3.connect(old_path)
    made.execute("PRAGMA page_size=4096")
    made.execute("PRAGMA journal_mode=WAL")
    made.execute("CREATE TABLE made_before (x)")
    made.close()
    old = Store(f"sqlite:///{old_path}")
    upgrade(old)
    raw = "Subject: 打印机卡纸\r\n\r\n".encode() + bytes(range(256)) * 400
    with old.session() as s:
        s.add(Message(direction="in", kind="normal", message_id="old@example.com", from_addr="a@example.com",
                      to_addrs=[], cc_addrs=[], subject="打印机卡纸", text="", raw=raw, defects=[], rule_hits=[],
                      created_at=datetime(2026, 11, 23, 1, 30, tzinfo=UTC)))
    with old.session() as s:
        assert s.scalar(text("PRAGMA page_size")) == 4096
        assert s.query(Message).one().raw == raw
    old.close()


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

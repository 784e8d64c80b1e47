"""The store: migrations match the models, SQLite runs in WAL mode, times round-trip with their zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from maildesk.store.base import Base
from maildesk.store.db import Store
from maildesk.store.models import Ticket


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

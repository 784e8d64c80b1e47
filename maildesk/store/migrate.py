"""Schema migrations with Alembic, run from code (``db upgrade``, and on ``init``/``run``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from maildesk.store.db import Store

MIGRATIONS = Path(__file__).with_name("migrations")
# any 64-bit number that no other application on the server uses for its advisory lock
PG_MIGRATION_LOCK = 0x6D61696C6465736B


def alembic_config(store: Store) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", store.url.replace("%", "%%"))
    return cfg


def upgrade(store: Store) -> str:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    cfg = alembic_config(store)
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return current_revision(store) or ""


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()

"""Alembic environment: uses the connection maildesk hands in (see store/migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import maildesk.store.models  # noqa: F401  (every model module, so Base.metadata is the whole schema)
from maildesk.store.base import Base
from maildesk.store.db import make_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)

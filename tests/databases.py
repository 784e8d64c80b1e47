"""Databases for tests: a SQLite file per test, and PostgreSQL where a server answers.

PostgreSQL: ``MAILDESK_TEST_PG`` names a server URL (default
postgresql://postgres@127.0.0.1:5432/postgres); one database is created for the
test session and dropped after it; each test gets an empty schema in it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

import maildesk.store.models  # noqa: F401  (every model module, so Base.metadata is the whole schema)
from maildesk.store.base import Base
from maildesk.store.db import Store
from maildesk.store.migrate import upgrade

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_server_url() -> str | None:
    """The PostgreSQL server to test against, or None when none answers."""
    url = os.environ.get("MAILDESK_TEST_PG", DEFAULT_PG)
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1):
            return url
    except OSError:
        return None


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database made for this test session, dropped afterwards."""
    with new_pg_database(f"maildesk_test_{os.getpid()}") as url:
        yield url


@contextmanager
def new_pg_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own (``prefix`` and a random suffix), dropped at the end of the block; skips
    the test where no server answers."""
    server = pg_server_url()
    if server is None:
        pytest.skip("no PostgreSQL server answers (set MAILDESK_TEST_PG)")
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_store(url: str) -> Store:
    """A store on ``url`` whose schema was just dropped and migrated from scratch."""
    store = Store(url)
    with store.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(store)
    return store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with an up-to-date, empty schema: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'maildesk.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    empty_store(url).close()
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An empty, migrated store on each database."""
    s = Store(db_url)
    yield s
    s.close()

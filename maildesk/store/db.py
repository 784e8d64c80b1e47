"""Engines and sessions: SQLite in WAL mode with immediate write locks, or PostgreSQL.

SQLite's default deferred transactions fail with "database is locked" when two
processes read and then both try to write; beginning every transaction with
BEGIN IMMEDIATE makes the second writer wait instead, which is what several maildesk
processes sharing one file need (the daemon and its sender alongside intake, a command).

The wait for the write lock polls every LOCK_POLL_SECONDS rather than in SQLite's busy handler:
that one sleeps up to 100 ms at a time and so misses the short gap between two intake batches
of another process, which left the sender alongside intake waiting out whole batches.

Within one daemon (it and the sender it forked) a waiting writer says so in shared memory. A
writer beginning a transaction lets it go first, and intake, seeing it while storing a group of
mails, commits after the mail in hand (``Store.writer_waiting``): the sender needs the lock about
once for every 25 mails it sends, two a new ticket, and waiting out whole groups it sent half of
them while intake ran and the rest after.
"""

from __future__ import annotations

import ctypes
import mmap
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from maildesk.store.dberrors import DatabaseUnavailable, connect_problem

SQLITE_BUSY_TIMEOUT_MS = 60_000
# A new database's page: a mail's bytes and its attachments live in the database, and a value larger than a page
# is a chain of overflow pages, each a frame of the WAL with its checksum and copied again when checkpointed.
# With 16 KB pages instead of SQLite's 4 KB, writing mail-sized values takes 0.6 of the time and of the CPU
# (bench/sqlite_pages.py), and small rows are no slower; 64 KB pages copy more of each small change.
SQLITE_PAGE_BYTES = 16384
# A wait lasts until the holder commits and then half a poll more, on average: the sender's transactions hold
# the lock about a millisecond, and at 2 ms a poll intake waited as long again as the sender held it. A try
# costs a few microseconds.
LOCK_POLL_SECONDS = 0.0005
# When a process of this daemon (it, or the sender it forked) last found SQLite's write lock taken, by
# time.monotonic() (one clock for all processes of the machine); 0.0 once it has the lock. Anonymous shared
# memory made at import, before any fork, so that the daemon and its children share it (no file: nothing to
# clean up, nothing a locked-down service could be refused); another daemon or a command has its own.
_SHARED = mmap.mmap(-1, ctypes.sizeof(ctypes.c_double))
_LOCK_WANTED = ctypes.c_double.from_buffer(_SHARED)
# a waiter notes its want on each try, every LOCK_POLL_SECONDS and a statement: older than this (many tries, and
# room for a waiter the scheduler kept off the cores a moment), it has gone
_WANT_FRESH_SECONDS = 0.008
# how long a writer beginning a transaction lets a waiting one go first, at most: it takes the lock within a poll
GIVE_WAY_SECONDS = 0.05


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # take transaction control away from the driver so BEGIN is ours
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_BYTES}")  # a new database's; an existing one keeps its own
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a committed mail survives a power cut
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        begin_immediate(conn)


def begin_immediate(conn: Any) -> None:
    """BEGIN IMMEDIATE on the SQLAlchemy connection ``conn``, trying again every LOCK_POLL_SECONDS while
    another process writes, for up to SQLITE_BUSY_TIMEOUT_MS; then one last try whose "database is locked"
    SQLAlchemy reports as before. Only the BEGIN polls: with the lock held nothing else of a transaction
    waits in WAL mode, and every other statement keeps the busy timeout. A process of this daemon already
    waiting goes first (``_give_way``); while this one waits, it says so (``_LOCK_WANTED``)."""
    raw: sqlite3.Connection = conn.connection.dbapi_connection
    _give_way()
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    waited = False
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                if waited:
                    _LOCK_WANTED.value = 0.0
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    break
            waited = True
            _LOCK_WANTED.value = time.monotonic()
            time.sleep(LOCK_POLL_SECONDS)
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def lock_wanted() -> bool:
    """Whether another process of this daemon (its sender) is waiting for SQLite's write lock just now."""
    return time.monotonic() - _LOCK_WANTED.value < _WANT_FRESH_SECONDS


def _give_way() -> None:
    """Let a process of this daemon that is waiting for the write lock take it first: a writer beginning again the
    moment it committed would take it before a waiter polling every LOCK_POLL_SECONDS found the gap."""
    end = time.monotonic() + GIVE_WAY_SECONDS
    while lock_wanted() and time.monotonic() < end:
        time.sleep(LOCK_POLL_SECONDS / 4)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with maildesk's connection settings."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    """The database: an engine and a session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = make_engine(url)
        except (ImportError, SQLAlchemyError) as exc:  # no driver for the URL (psycopg not installed)
            raise DatabaseUnavailable(connect_problem(exc, url)) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time and every transaction takes the write lock (BEGIN IMMEDIATE).
        # Threads of this process (the main loop, the scheduler's jobs) queue here for it and take
        # over as soon as the other commits; other processes poll for it (``begin_immediate``).
        self._writer: AbstractContextManager[object] = (
            threading.RLock() if self.engine.dialect.name == "sqlite" else nullcontext()
        )

    def schema_revision(self) -> str | None:
        """Connect and read the schema revision (None: no schema yet); DatabaseUnavailable in one line
        when the database cannot be reached, opened or logged into."""
        try:
            with self.engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    return None
                return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except DBAPIError as exc:
            raise DatabaseUnavailable(connect_problem(exc, self.url)) from None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def writer_waiting(self) -> bool:
        """Whether another process of this daemon waits for the write lock this one holds (SQLite: one writer at a
        time); a long run of writes ends its transaction early to let it in."""
        return self.dialect == "sqlite" and lock_wanted()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self._writer, self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def before_fork(self) -> None:
        """Close this process's connections (they reopen when next needed) so that a process forked now
        starts with none. SQLite keeps its locks' state per process, not per connection: a child forked
        while its parent had the database open believes it holds the parent's locks, so once the parent
        lets go, the next process to open the database thinks itself alone and resets the write-ahead
        log under the child, whose commits are then lost. A connection in use cannot be closed here."""
        in_use = getattr(self.engine.pool, "checkedout", lambda: 0)()
        if in_use:
            raise RuntimeError(f"{in_use} database connection(s) in use while forking")
        self.engine.dispose()

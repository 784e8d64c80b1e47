"""A store whose every session is a savepoint in one transaction that is rolled back at the end.

``sla sweep --dry-run`` runs the real sweep on it: each phase sees what the phases before it
did, exactly as in a real sweep, and nothing of it is kept. On SQLite the one transaction
holds the write lock while the sweep runs (a second or two), as a real sweep's chunks do in turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import sessionmaker

from maildesk.store.db import Store


class RolledBackStore(Store):
    """``store``'s engine, one connection, one outer transaction; sessions join it as savepoints."""

    def __init__(self, store: Store) -> None:
        self.url = store.url
        self.engine = store.engine
        self._writer = store._writer  # the same database: this process's writers still queue together
        self._connection = store.engine.connect()
        self._outer = self._connection.begin()
        self._sessions = sessionmaker(bind=self._connection, expire_on_commit=False,
                                      join_transaction_mode="create_savepoint")

    def close(self) -> None:
        """Undo everything done through this store; the engine stays open for its owner."""
        self._outer.rollback()
        self._connection.close()


@contextmanager
def rolled_back(store: Store) -> Iterator[Store]:
    """A RolledBackStore on ``store`` for the duration of the block."""
    dry = RolledBackStore(store)
    try:
        yield dry
    finally:
        dry.close()

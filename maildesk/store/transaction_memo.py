"""What code remembers of the database for one transaction, to spare a query a mail: forgotten as soon as any part
of the transaction is rolled back, and when it ends.

A memo holds what the database held (or this transaction wrote) when it was made, and whoever keeps one brings it up
to date with the transaction's own writes. A savepoint rolled back may take back rows the memo counts, and forgetting
is always safe: the next reader asks the database again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

# session.info key: {memo key: value} for the session's current transaction
_MEMOS = "maildesk.transaction_memo"


def remember(session: Session, key: str, value: Any) -> None:
    """Keep ``value`` under ``key`` until the session's transaction ends or any part of it is rolled back."""
    session.info.setdefault(_MEMOS, {})[key] = value


def recall(session: Session, key: str) -> Any:
    """The value remembered under ``key`` in this transaction, or None."""
    memos: dict[str, Any] | None = session.info.get(_MEMOS)
    return None if memos is None else memos.get(key)


def forget(session: Session, key: str) -> None:
    """Forget ``key`` now: its keeper wrote what it does not bring the memo up to."""
    memos: dict[str, Any] | None = session.info.get(_MEMOS)
    if memos is not None:
        memos.pop(key, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous: SessionTransaction) -> None:
    session.info.pop(_MEMOS, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed or rolled back: the next transaction reads afresh
        session.info.pop(_MEMOS, None)

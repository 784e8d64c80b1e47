"""What a rollback in a session took back, for state kept beside the database for one transaction
(``as_loaded``'s objects written past the ORM, ``numbering``'s numbers counted in memory)."""

from __future__ import annotations

from sqlalchemy.orm import SessionTransaction


def rolled_back_to(previous: SessionTransaction) -> SessionTransaction:
    """The savepoint, or the whole transaction, that the rollback SQLAlchemy reports (``after_soft_rollback``'s
    ``previous``) took back: a flush's own subtransaction rolls back the savepoint or transaction around it."""
    boundary = previous
    while not boundary.nested and boundary.parent is not None:
        boundary = boundary.parent
    return boundary


def within(transaction: SessionTransaction | None, boundary: SessionTransaction) -> bool:
    """Whether ``transaction`` is ``boundary`` or a savepoint inside it."""
    while transaction is not None:
        if transaction is boundary:
            return True
        transaction = transaction.parent
    return False

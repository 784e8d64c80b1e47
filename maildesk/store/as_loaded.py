"""A new row written by one Core INSERT and kept in the session as if it had been loaded.

An ORM flush of one new object costs about three times a plain ``INSERT … RETURNING id`` and
writes everything else pending with it. Where intake makes a row it goes on using as an object
(a ticket, its first message, an outbox mail), it inserts the object's values itself and hands
the object to the session as persistent: its values count as loaded, later changes to it are
flushed as usual.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session, make_transient_to_detached

from maildesk.store.base import Base


def column_values(obj: Base, *, unset_as_null: bool = False) -> dict[str, Any]:
    """The values set on a new ``obj``, by column name; ``unset_as_null``: every other column (but the key)
    is set to None first, so that nothing is left to load once the object counts as loaded."""
    table: Table = obj.__table__  # type: ignore[assignment]
    if unset_as_null:
        for column in table.columns:
            if not column.primary_key and column.key not in obj.__dict__:
                setattr(obj, column.key, None)
    return {c.key: getattr(obj, c.key) for c in table.columns if c.key in obj.__dict__}


def keep_as_loaded(session: Session, obj: Base, row_id: int) -> None:
    """``obj``, inserted with the id ``row_id``, becomes the session's own as if it had been loaded."""
    obj.id = row_id  # type: ignore[attr-defined]
    make_transient_to_detached(obj)
    session.add(obj)

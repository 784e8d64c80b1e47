"""Writing big byte values (a mail's raw bytes, an attachment) without copies of them.

SQLite's driver copies a bound value when binding it and again into the row it builds,
and the binding stays with the driver's cached statement until that statement runs
again: a 57 MB mail cost about 170 MB more than its own size. On SQLite a big value is
therefore inserted as a zeroblob and written through the incremental blob interface, a
slice at a time. PostgreSQL's driver needs no such care, nor do small values anywhere.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, func, literal_column, select, update
from sqlalchemy.orm import Session

# Below this a value is bound as usual: the copies cost little, an extra statement more.
BIG_BYTES = 1 << 20
_SLICE = 1 << 20


def written_later(session: Session, data: bytes) -> bool:
    """Whether ``data`` goes in by ``write_big`` once its row exists (insert a placeholder meanwhile)."""
    return len(data) >= BIG_BYTES and session.get_bind().dialect.name == "sqlite"


def write_big(session: Session, table: Table, column: str, where: ColumnElement[bool], data: bytes) -> None:
    """Set ``column`` of the one row of ``table`` that ``where`` picks to ``data``, a slice at a time."""
    connection = session.connection()
    connection.execute(update(table).where(where).values({column: func.zeroblob(len(data))}))
    rowid: int = connection.execute(select(literal_column("rowid")).select_from(table).where(where)).scalar_one()
    driver: Any = connection.connection.driver_connection  # the sqlite3 connection, in this transaction
    view = memoryview(data)
    with driver.blobopen(table.name, column, rowid) as blob:
        for start in range(0, len(view), _SLICE):
            blob.write(view[start : start + _SLICE])

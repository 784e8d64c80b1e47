"""Who is away by their own word: staff whose out-of-office reply reached the desk, until they write again.

The directory's ``away`` column is the operator's say; this is the mailbox's. Both feed one rule
(``people/roles.py``): the desk reads the directory through ``Directory.with_away`` with these
addresses, so everything that passes over people away (who holds a role, who can take a ticket)
passes over both kinds alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from maildesk.store.models_people import StaffAway
from maildesk.store.transaction_memo import forget, recall, remember

# built once: every mail's context asks it
_AWAY_NOW = select(StaffAway.address).where(StaffAway.back_at.is_(None))
# Who is away is read once per transaction (an intake batch, a sweep chunk), not once per mail: it
# changes seldom, and here only. A rollback (of one mail's savepoint too) or the transaction's end
# forgets it (``store/transaction_memo``).
_MEMO = "maildesk.away_now"


def away_now(session: Session) -> frozenset[str]:
    """The addresses of staff away by their own out-of-office reply."""
    known: frozenset[str] | None = recall(session, _MEMO)
    if known is None:
        with session.no_autoflush:  # the mail in hand's pending rows do not change who is away
            known = frozenset(a.lower() for a in session.scalars(_AWAY_NOW))
        remember(session, _MEMO, known)
    return known


def is_away(session: Session, address: str) -> bool:
    return address.lower() in away_now(session)


def mark_away(session: Session, address: str, now: datetime, *, note: str = "",
              message_pk: int | None = None) -> bool:
    """Open a spell of absence for ``address``; False when one is open already."""
    if is_away(session, address):
        return False
    session.add(StaffAway(address=address.lower(), since=now, back_at=None, message_pk=message_pk, note=note))
    session.flush()
    forget(session, _MEMO)
    return True


def mark_back(session: Session, address: str, now: datetime) -> bool:
    """Close the open spell of ``address``; False when they were not away by their own word."""
    result = session.execute(
        update(StaffAway).where(StaffAway.address == address.lower(), StaffAway.back_at.is_(None))
        .values(back_at=now).execution_options(synchronize_session=False)
    )
    forget(session, _MEMO)
    return bool(getattr(result, "rowcount", 0))

"""Models of the people area: what the mailbox says about staff, on top of the operator's directory.

The directory (a file the operator keeps) says who is away for good reasons known in advance;
a staff member's own out-of-office reply says it too, until their next normal mail. That second
kind of absence is kept here, one row a spell, so the desk can say later who was away when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maildesk.store.base import Base, UTCDateTime

__all__ = ["Base", "StaffAway"]


class StaffAway(Base):
    """A spell of absence a staff member's out-of-office reply announced; open while ``back_at`` is None."""

    __tablename__ = "staff_away"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))  # the auto-reply that said so
    note: Mapped[str] = mapped_column(Text, default="")  # its subject, as the audit shows it

    __table_args__ = (Index("ix_staff_away_back_at", "back_at"), Index("ix_staff_away_address", "address"))

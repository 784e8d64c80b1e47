"""Models of requirements (需求): the evaluation of a requirement ticket and its own number.

A ticket of the requirement type is evaluated by the product role with ``#evaluate``; the latest
outcome is kept here, one row a ticket (every evaluation is in the ticket's history too). An
accepted requirement (可实施) gets a number of its own, RD-YYYYMMDD-NNNN, kept when it is
evaluated again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maildesk.store.base import Base, UTCDateTime

__all__ = ["Base", "Requirement"]


class Requirement(Base):
    """The evaluation of one requirement ticket: outcome (feasible, not_now, needs_change), by whom, when, why."""

    __tablename__ = "requirements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    evaluated_by: Mapped[str] = mapped_column(String(320))
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rd_number: Mapped[str | None] = mapped_column(String(40), unique=True)  # given when first found feasible

    __table_args__ = (Index("ix_requirements_evaluated_at", "evaluated_at"),)

"""Models of the conversation area: satisfaction survey answers and review (复盘) tasks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maildesk.store.base import Base, UTCDateTime

__all__ = ["Base", "ReviewTask", "SurveyAnswer"]


class SurveyAnswer(Base):
    """One reply to the satisfaction survey: scores 1–5 (None where not given) and the comment.

    "5 5 4 很及时" gives the three scores; "★★★★☆" or "4/5" only an overall score.
    ``overall`` is the mean of the scores given, None for a complaint without scores.
    """

    __tablename__ = "survey_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    respondent: Mapped[str] = mapped_column(String(320))
    speed: Mapped[int | None] = mapped_column(Integer)
    solving: Mapped[int | None] = mapped_column(Integer)
    attitude: Mapped[int | None] = mapped_column(Integer)
    overall: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_survey_answers_ticket_id", "ticket_id"), Index("ix_survey_answers_at", "at"))


class ReviewTask(Base):
    """A review (复盘) the supervisor owes a ticket after a low score or a complaint, due within a day."""

    __tablename__ = "review_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    reason: Mapped[str] = mapped_column(String(40))  # low_score, complaint
    detail: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(320), default="")  # the supervisor told
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_review_tasks_ticket_id", "ticket_id"),
        Index("ix_review_tasks_due", "done_at", "due_at"),
    )

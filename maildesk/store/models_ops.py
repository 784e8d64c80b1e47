"""What the daemons say about themselves, for ``maildesk status``: one heartbeat row per daemon run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maildesk.store.base import Base, UTCDateTime


class DaemonBeat(Base):
    """One run of ``maildesk run``: written at start, every heartbeat, and when it stops."""

    __tablename__ = "daemon_beats"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # host:pid:random, like a flusher's
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    mailbox: Mapped[str] = mapped_column(Text, default="")  # what it reads, as the start-up line says
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the end of the last mailbox pass that worked; the mails taken in since the start
    last_pass_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mails_in: Mapped[int] = mapped_column(Integer, default=0)
    # what keeps it from working now (mailbox unreachable, database failing); "" when all is well
    problem: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_daemon_beats_beat_at", "beat_at"),)

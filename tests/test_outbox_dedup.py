"""A notice with a dedup key is queued once, however often it is asked for, on SQLite and PostgreSQL,
and the row handed back is the one that goes out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from maildesk.config import parse_settings
from maildesk.outbound.outbox import Outgoing, queue_mail
from maildesk.outbound.sender import flush_outbox_sync
from maildesk.store.db import Store
from maildesk.store.models import OutboxMail
from tests.outbox_rows import smtp_config, transports
from tests.smtp_sink import SmtpSink

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SETTINGS = parse_settings({"support_address": "support@example.com"}, Path("."))


def notice(key: str, to: str = "li.na@example.com") -> Outgoing:
    return Outgoing(kind="progress", to=[to], subject=f"进展 {key}", text="处理中。", dedup_key=key)


def test_the_same_notice_asked_for_again_is_queued_and_sent_once(store: Store, smtp_sink: SmtpSink) -> None:
    """Asked twice in one transaction and once more in the next: one row, one mail at the SMTP server; a plain
    mail queued before it in the same transaction keeps the lower id (rows go out in the order written)."""
    with store.session() as session:
        plain = queue_mail(session, SETTINGS, Outgoing(kind="relay", to=["li.na@example.com"], subject="回复",
                                                       text="好的"), now=NOW)
        first = queue_mail(session, SETTINGS, notice("progress:TS-1:2026-11-23"), now=NOW)
        again = queue_mail(session, SETTINGS, notice("progress:TS-1:2026-11-23"), now=NOW)
        other = queue_mail(session, SETTINGS, notice("progress:TS-2:2026-11-23", "wang.fang@example.com"), now=NOW)
        assert first is not None and again is None and other is not None and plain is not None
        # read in the same transaction: the plain mail, written at commit or before such a read, comes first
        rows = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        assert [r.message_id for r in rows] == [plain.message_id, first.message_id, other.message_id]
        assert (rows[1].status, rows[1].attempts, rows[1].claimed_by, rows[1].sent_at) == ("pending", 0, None, None)
        first_id = first.message_id
    with store.session() as session:
        assert queue_mail(session, SETTINGS, notice("progress:TS-1:2026-11-23"), now=NOW) is None
    with store.session() as session:
        rows = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        assert [r.dedup_key for r in rows] == [None, "progress:TS-1:2026-11-23", "progress:TS-2:2026-11-23"]
    result = flush_outbox_sync(store, transports(smtp_sink), smtp_config(smtp_sink), lambda: NOW)
    assert result.sent == 3
    got = [m for m in smtp_sink.messages if first_id.encode() in m.content]
    assert len(got) == 1 and got[0].rcpt_tos == ("li.na@example.com",)

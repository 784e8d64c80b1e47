"""Filling an outbox and reading what reached the SMTP sink, for the outbox sender's tests and bench."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from email.parser import BytesHeaderParser

from sqlalchemy import select

from maildesk.config import Settings, SmtpConfig
from maildesk.outbound.outbox import Outgoing, queue_mail
from maildesk.outbound.transport import SmtpTransport, Transport
from maildesk.store.db import Store
from maildesk.store.models import OutboxMail
from tests.smtp_sink import SmtpSink


def utc_now() -> datetime:
    return datetime.now(UTC)


def queue(store: Store, count: int, now: datetime, *, to: str = "user{i}@example.com") -> list[str]:
    """Queue ``count`` notices due at ``now`` in one transaction; their Message-IDs, in order."""
    settings = Settings(database=store.url, support_address="support@example.com")
    with store.session() as session:
        rows = [queue_mail(session, settings, Outgoing(kind="notice", to=[to.format(i=i)], subject=f"服务通知 {i}",
                                                       text=f"第 {i} 号通知。"), now=now) for i in range(count)]
    return [r.message_id for r in rows if r is not None]


def smtp_config(sink: SmtpSink, **values: object) -> SmtpConfig:
    """The [smtp] section for ``sink``: plain SMTP, short timeout, ``values`` on top."""
    return SmtpConfig.model_validate({"host": sink.host, "port": sink.port, "security": "plain", "timeout": 5.0,
                                      **values})


def transports(sink: SmtpSink) -> Callable[[], Transport]:
    """A factory of SMTP transports to ``sink``, one per connection."""
    return lambda: SmtpTransport(sink.host, sink.port, security="plain", timeout=5.0)


def received_ids(sink: SmtpSink) -> Counter[str]:
    """How often the sink accepted each Message-ID (bare, as the outbox stores it)."""
    parser = BytesHeaderParser()
    return Counter(str(parser.parsebytes(m.content)["Message-ID"]).strip().strip("<>") for m in sink.messages)


def outbox_rows(store: Store) -> list[OutboxMail]:
    with store.session() as session:
        return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))

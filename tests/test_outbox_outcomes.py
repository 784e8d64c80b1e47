"""What the outbox sender records for each mail, against a real aiosmtpd server on SQLite and PostgreSQL:
retries and their back-off, permanent refusals, partial refusals, results written a group at a time, and
claims a flusher no longer holds."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import event, insert, select

from maildesk.config import parse_settings
from maildesk.errors import ConfigError
from maildesk.outbound import claims
from maildesk.outbound.claims import Result
from maildesk.outbound.outbox import Outgoing, queue_mail
from maildesk.outbound.sender import flush_outbox_sync
from maildesk.store.base import Base
from maildesk.store.db import Store
from maildesk.store.migrate import alembic_config, upgrade
from maildesk.store.models import OutboxMail
from tests.outbox_rows import outbox_rows, queue, received_ids, smtp_config, transports
from tests.smtp_sink import SmtpSink

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the desk's zone by default


def test_a_temporary_failure_waits_with_the_retry_time_logged_in_the_desks_zone(
    db_url: str, smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture,
) -> None:
    """A 451 leaves the mail pending for retry_base_seconds, and the log names the retry time with +08:00."""
    store = Store(db_url)
    queue(store, 1, NOW)
    smtp_sink.fail_next(1, "451 4.3.0 try later")
    with caplog.at_level(logging.WARNING, logger="maildesk.outbound.sender"):
        result = flush_outbox_sync(store, transports(smtp_sink), smtp_config(smtp_sink), lambda: NOW, tz=SHANGHAI)
    [row] = outbox_rows(store)
    store.close()
    assert (result.sent, result.retrying, result.failed) == (0, 1, 0)
    assert row.status == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at == NOW + timedelta(seconds=60) and row.claimed_by is None
    assert "retry at 2026-11-23T10:01:00+08:00" in caplog.text


def test_retries_double_their_wait_and_stop_at_max_attempts(db_url: str, smtp_sink: SmtpSink) -> None:
    """With max_attempts = 3 a mail the server keeps refusing with 451 is tried after 60 s, then 120 s more,
    and then marked failed; a flush before it is due sends nothing."""
    store = Store(db_url)
    queue(store, 1, NOW)
    smtp_sink.fail_next(3, "451 4.3.0 try later")
    smtp = smtp_config(smtp_sink, max_attempts=3)

    def flush(at: datetime) -> tuple[int, int, int]:
        r = flush_outbox_sync(store, transports(smtp_sink), smtp, lambda: at)
        return r.sent, r.retrying, r.failed

    assert flush(NOW) == (0, 1, 0)
    assert flush(NOW + timedelta(seconds=59)) == (0, 0, 0)
    assert flush(NOW + timedelta(seconds=60)) == (0, 1, 0)
    assert outbox_rows(store)[0].next_attempt_at == NOW + timedelta(seconds=180)
    assert flush(NOW + timedelta(seconds=180)) == (0, 0, 1)
    [row] = outbox_rows(store)
    store.close()
    assert row.status == "failed" and row.attempts == 3 and "451" in row.last_error
    assert smtp_sink.messages == []


def test_a_permanent_refusal_fails_at_once_and_is_not_tried_again(db_url: str, smtp_sink: SmtpSink) -> None:
    """A 550 for the only recipient marks the mail failed with the server's words; the next flush leaves it."""
    store = Store(db_url)
    queue(store, 1, NOW, to="gone@example.com")
    smtp_sink.refuse("gone@example.com", "550 5.1.1 no such user")
    smtp = smtp_config(smtp_sink)
    first = flush_outbox_sync(store, transports(smtp_sink), smtp, lambda: NOW)
    again = flush_outbox_sync(store, transports(smtp_sink), smtp, lambda: NOW + timedelta(days=1))
    [row] = outbox_rows(store)
    store.close()
    assert (first.failed, again.failed, again.sent) == (1, 0, 0)
    assert row.status == "failed" and row.attempts == 1 and "550 5.1.1 no such user" in row.last_error


def test_a_partial_refusal_is_sent_with_the_refused_recipient_noted(db_url: str, smtp_sink: SmtpSink) -> None:
    """A mail one of whose two recipients the server refuses reaches the other, is sent, and keeps the refusal."""
    store = Store(db_url)
    settings = parse_settings({"database": db_url}, Path("."))
    with store.session() as session:
        queue_mail(session, settings, Outgoing(kind="notice", to=["li@example.com"], cc=["gone@example.com"],
                                               subject="通知", text="内容"), now=NOW)
    smtp_sink.refuse("gone@example.com", "550 5.1.1 no such user")
    result = flush_outbox_sync(store, transports(smtp_sink), smtp_config(smtp_sink), lambda: NOW)
    [row] = outbox_rows(store)
    store.close()
    assert result.sent == 1 and row.status == "sent" and row.sent_at == NOW
    assert row.last_error == "gone@example.com: 550 5.1.1 no such user"
    [received] = smtp_sink.messages
    assert received.rcpt_tos == ("li@example.com",)


def test_results_are_written_a_group_at_a_time(db_url: str, smtp_sink: SmtpSink) -> None:
    """Flushing 60 mails commits a handful of transactions (claims and results of groups of 25), not one per mail."""
    store = Store(db_url)
    ids = queue(store, 60, NOW)
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    result = flush_outbox_sync(store, transports(smtp_sink), smtp_config(smtp_sink), lambda: NOW)
    rows = outbox_rows(store)
    store.close()
    assert result.sent == 60 and received_ids(smtp_sink) == dict.fromkeys(ids, 1)
    assert {r.status for r in rows} == {"sent"} and {r.sent_at for r in rows} == {NOW}
    assert len(commits) <= 8  # 3 claims + 3 result groups, and the empty claim and give-back at the end


def test_a_flusher_whose_mails_were_taken_over_writes_no_result_on_them(db_url: str, smtp_sink: SmtpSink) -> None:
    """A flusher that lost its claim (its lease ran out and another sent the mails) cannot overwrite what the
    other recorded, nor count attempts on them."""
    store = Store(db_url)
    queue(store, 3, NOW)
    lease = timedelta(minutes=2)
    slow = claims.claim(store, "slow.example.com:1:aaaa", NOW, lease, 25)
    later = NOW + lease + timedelta(seconds=1)
    assert flush_outbox_sync(store, transports(smtp_sink), smtp_config(smtp_sink), lambda: later).sent == 3
    written = claims.record(store, "slow.example.com:1:aaaa", [
        Result(r.id, {"attempts": 1, "next_attempt_at": later, "last_error": "451 late"}) for r in slow])
    rows = outbox_rows(store)
    store.close()
    assert written == set()
    assert all(r.status == "sent" and r.attempts == 1 and r.last_error == "" for r in rows)


def test_a_database_of_the_released_schema_upgrades_and_its_outbox_is_sent(db_url: str, smtp_sink: SmtpSink) -> None:
    """An outbox row written under the released schema (revision 0001) is sent after `db upgrade`."""
    store = Store(db_url)
    with store.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    with store.engine.begin() as conn:
        cfg = alembic_config(store)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(insert(OutboxMail.metadata.tables["outbox"]).values(  # only columns 0001 has
            kind="notice", sender="support@example.com", to_addrs=["li@example.com"], subject="通知", text="",
            message_id="maildesk.notice.old@example.com", raw=b"Message-ID: <maildesk.notice.old@example.com>\r\n"
            b"Subject: x\r\n\r\nbody\r\n", status="pending", attempts=0, next_attempt_at=NOW, last_error="",
            created_at=NOW))
    upgrade(store)
    result = flush_outbox_sync(store, transports(smtp_sink), smtp_config(smtp_sink), lambda: NOW)
    with store.session() as session:
        status = session.scalar(select(OutboxMail.status))
    store.close()
    assert result.sent == 1 and status == "sent"
    assert received_ids(smtp_sink) == {"maildesk.notice.old@example.com": 1}


@pytest.mark.parametrize(("key", "value"), [("connections", 0), ("lease_seconds", 0.5)])
def test_connections_and_lease_out_of_range_name_the_key(key: str, value: float) -> None:
    """smtp.connections below 1 or smtp.lease_seconds below 1 is a config error naming the key."""
    with pytest.raises(ConfigError, match=rf"^smtp\.{key}: "):
        parse_settings({"smtp": {key: value}}, Path("."))

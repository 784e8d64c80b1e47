"""A batch looks its Message-IDs up in one query, and still finds every duplicate as the per-mail lookup did."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from maildesk.app import App
from maildesk.daemon import intake_pipeline
from maildesk.ingest.known_ids import message_id_hint
from maildesk.ingest.outcome import Result
from maildesk.ingest.parse import parse_mail
from maildesk.ingest.source import SourceMessage
from maildesk.store.models import Message, Ticket
from tests.desk import mail

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _results(app: App, *raws: bytes, batch: str = "b") -> list[str]:
    """What became of each mail; "seen" is a duplicate found by the lookup, not by the unique index."""
    outcomes = intake_pipeline(app, lambda: NOW).process([SourceMessage(f"{batch}:{i}", r) for i, r in enumerate(raws)])
    return ["seen" if o.result == Result.DUPLICATE and "seen before" in o.reason else str(o.result) for o in outcomes]


def _tickets(app: App) -> int:
    with app.store.session() as s:
        return s.scalar(select(func.count()).select_from(Ticket)) or 0


def test_a_message_id_twice_in_one_batch_and_again_later_is_stored_once(app: App) -> None:
    raw = mail("li.na@example.com", "ERP 登录报错", "Error 500", message_id="<twice@client.example.com>")
    resent = mail("li.na@example.com", "ERP 登录报错（重发）", "Error 500", message_id="<twice@client.example.com>")
    assert _results(app, raw, resent, raw) == ["created", "seen", "seen"]
    assert _results(app, resent, batch="later") == ["seen"]
    assert _tickets(app) == 1


def test_a_quarantined_copy_stores_nothing_so_the_next_copy_in_the_batch_is_new(app: App) -> None:
    no_sender = b"To: support@example.com\r\nMessage-ID: <q@client.example.com>\r\nSubject: x\r\n\r\ny\r\n"
    good = mail("li.na@example.com", "打印机卡纸", "卡纸了", message_id="<q@client.example.com>")
    assert _results(app, no_sender, good, good) == ["quarantined", "created", "seen"]
    assert _tickets(app) == 1


def test_an_id_written_unusually_is_still_found(app: App) -> None:
    """A folded Message-ID header is left to the parser: the mail is looked up on its own, as before."""
    folded = mail("li.na@example.com", "VPN 连不上", "连不上", message_id="<vpn@client.example.com>").replace(
        b"Message-ID: <vpn", b"Message-ID:\n <vpn")
    plain = mail("li.na@example.com", "VPN 连不上", "连不上", message_id="<vpn@client.example.com>")
    assert message_id_hint(folded) is None
    assert _results(app, folded, plain) == ["created", "seen"]
    assert _results(app, plain, folded, batch="later") == ["seen", "seen"]
    assert _results(app, folded, batch="alone") == ["seen"]
    with app.store.session() as s:
        assert s.scalars(select(Message.message_id).where(Message.direction == "in")).all() == \
            ["vpn@client.example.com"]


@pytest.mark.parametrize("header", [
    b"Message-ID: <a.b+c@client.example.com>", b"message-id:\t<A@B> ", b"Message-Id: <x@[127.0.0.1]>",
])
def test_the_hint_is_what_the_parser_reads(header: bytes) -> None:
    raw = b"From: li.na@example.com\r\n" + header + b"\r\nSubject: x\r\n\r\nMessage-ID: <body@example.com>\r\n"
    assert message_id_hint(raw) == parse_mail(raw).message_id

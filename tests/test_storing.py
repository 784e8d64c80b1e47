"""What intake stores of a big mail: its raw bytes and attachments exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import select

from maildesk.app import App
from maildesk.daemon import intake_pipeline
from maildesk.desk.attachment_bytes import AttachmentBytes
from maildesk.ingest.source import SourceMessage
from maildesk.store.bigbytes import BIG_BYTES
from maildesk.store.models import Attachment, Blob, Message, ProcessedSource
from tests.desk import mail

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_a_big_mail_and_its_attachment_are_stored_byte_for_byte(app: App) -> None:
    """A 4 MB mail with a 3 MB attachment, sent twice as two files, is kept whole, each time; the attachment's
    bytes are read back from each mail, and are not stored a second time beside it."""
    data = random.Random(1).randbytes(3 * BIG_BYTES)
    first = mail("li.na@example.com", "备份文件", "见附件", message_id="<big-1@client.example.com>",
                 attachments=(("backup.bin", "application/octet-stream", data),))
    again = mail("li.na@example.com", "备份文件（重发）", "见附件", message_id="<big-2@client.example.com>",
                 attachments=(("backup.bin", "application/octet-stream", data),))
    pipeline = intake_pipeline(app, lambda: NOW)
    outcomes = pipeline.process([SourceMessage("test:1", first), SourceMessage("test:2", again)])
    assert [o.result for o in outcomes] == ["created", "created"]
    with app.store.session() as s:
        assert s.scalars(select(Message.raw).where(Message.direction == "in").order_by(Message.id)).all() == \
            [first, again]
        assert s.scalars(select(Blob.data)).all() == []
        attachments = s.scalars(select(Attachment).order_by(Attachment.id)).all()
        assert [a.size for a in attachments] == [len(data), len(data)]
        contents = AttachmentBytes(s)
        assert [contents.read(a.message_id, a.sha256) for a in attachments] == [data, data]


def test_a_big_quarantined_mail_keeps_its_raw_bytes(app: App) -> None:
    """A 2 MB mail without a sender is quarantined with its bytes intact, for a person to look at."""
    raw = b"To: support@example.com\r\nSubject: x\r\n\r\n" + b"y" * (2 * BIG_BYTES) + b"\r\n"
    [outcome] = intake_pipeline(app, lambda: NOW).process([SourceMessage("test:q", raw)])
    assert outcome.result == "quarantined"
    with app.store.session() as s:
        assert s.scalars(select(ProcessedSource.raw)).one() == raw

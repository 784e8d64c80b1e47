"""A stored attachment's bytes: decoded from its mail, or read from blobs where intake stored them before migration
0009; the migration keeps those, and going back writes the blobs the older schema needs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy.exc import IntegrityError

from maildesk.desk.attachment_bytes import AttachmentBytes
from maildesk.ingest.parse import parse_mail
from maildesk.store.db import Store
from maildesk.store.migrate import alembic_config
from maildesk.store.models import Attachment, Blob, Message
from tests.desk import mail

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LOG = b"ERROR 500 at /submit\n" * 50


def _message(store: Store, raw: bytes) -> int:
    with store.session() as s:
        m = Message(direction="in", kind="normal", message_id=f"{len(raw)}-{hash(raw)}@example.com",
                    from_addr="li.na@example.com", to_addrs=[], cc_addrs=[], subject="日志", text="", raw=raw,
                    defects=[], rule_hits=[], created_at=AT)
        s.add(m)
        s.flush()
        return m.id


def _attachment(store: Store, message_id: int, name: str, digest: str, size: int) -> None:
    with store.session() as s:
        s.add(Attachment(message_id=message_id, filename=name, content_type="text/plain", size=size, sha256=digest))


def _migrate(store: Store, revision: str) -> None:
    cfg = alembic_config(store)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if revision == "head":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)


def test_an_attachment_is_read_from_its_mail_each_mail_decoded_once_in_order(store: Store) -> None:
    """Two files of one mail and one of another, read in their messages' order: each comes back as it was sent."""
    first = mail("li.na@example.com", "日志", "见附件", message_id="<a@example.com>",
                 attachments=(("app.log", "text/plain", LOG), ("截图.png", "image/png", b"\x89PNG" + bytes(300))))
    second = mail("li.na@example.com", "补充", "见附件", message_id="<b@example.com>",
                  attachments=(("more.log", "text/plain", b"again\n" * 10),))
    read = []
    for raw in (first, second):
        message_id = _message(store, raw)
        for part in parse_mail(raw).attachments:
            _attachment(store, message_id, part.filename, part.sha256, part.size)
            read.append((message_id, part.sha256, part.data))
    with store.session() as s:
        contents = AttachmentBytes(s)
        assert [contents.read(message_id, digest) for message_id, digest, _ in read] == [data for *_, data in read]
        assert contents.read(read[0][0], "0" * 64) is None  # not in that mail: its bytes are gone, not made up


def test_an_attachment_stored_before_0009_is_read_from_blobs_and_a_downgrade_writes_blobs_back(store: Store) -> None:
    """Before migration 0009 intake stored an attachment's content in blobs, which the attachment's row had to
    name; such a content is still read from there after the upgrade. Going back to 0008 writes a blob for each
    attachment stored since, decoded from its mail, and the key is back."""
    _migrate(store, "0008")
    plain = _message(store, mail("li.na@example.com", "旧邮件", "（附件已在 blobs 中）"))
    with store.session() as s:
        s.add(Blob(sha256="b" * 64, data=b"stored apart"))
    _attachment(store, plain, "old.txt", "b" * 64, 12)
    _migrate(store, "head")

    raw = mail("li.na@example.com", "日志", "见附件", attachments=(("app.log", "text/plain", LOG),))
    [part] = parse_mail(raw).attachments
    since = _message(store, raw)
    _attachment(store, since, "app.log", part.sha256, part.size)  # no blob: the key is gone
    with store.session() as s:
        contents = AttachmentBytes(s)
        assert contents.read(plain, "b" * 64) == b"stored apart"
        assert contents.read(since, part.sha256) == LOG

    _migrate(store, "0008")
    try:
        with store.session() as s:
            assert s.get(Blob, part.sha256).data == LOG  # type: ignore[union-attr]
            assert s.get(Blob, "b" * 64).data == b"stored apart"  # type: ignore[union-attr]
        with pytest.raises(IntegrityError):
            _attachment(store, since, "nowhere.txt", "c" * 64, 1)
    finally:
        _migrate(store, "head")

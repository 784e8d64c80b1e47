"""attachments read from their mail: an attachment's row no longer needs its content in blobs

Every incoming mail is kept whole (messages.raw), attachments included; intake stored each attachment's
decoded content once more in blobs, so a mail with attachments went into the database about twice. From
now on an attachment's content is decoded from its mail's bytes when it is wanted, and intake writes no
blob. The foreign key from attachments.sha256 to blobs goes; contents stored before stay in blobs and are
read from there. Downgrading writes the missing blobs back, decoded from their mails.

Revision ID: 0009
Revises: 0008
"""
import email
import hashlib
from collections.abc import Sequence
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's foreign key has no name: batch mode names it by this convention to drop it
_CONVENTION = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
_SQLITE_NAME = "fk_attachments_sha256_blobs"
_POSTGRESQL_NAME = "attachments_sha256_fkey"  # PostgreSQL's own name for the unnamed key of 0001


def _key_name(bind: sa.Connection) -> str:
    for key in sa.inspect(bind).get_foreign_keys("attachments"):
        if key["referred_table"] == "blobs" and key.get("name"):
            return str(key["name"])
    return _POSTGRESQL_NAME


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("attachments", naming_convention=_CONVENTION) as batch:
            batch.drop_constraint(_SQLITE_NAME, type_="foreignkey")
    else:
        op.drop_constraint(_key_name(bind), "attachments", type_="foreignkey")


def downgrade() -> None:
    bind = op.get_bind()
    _write_missing_blobs(bind)
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("attachments", naming_convention=_CONVENTION) as batch:
            batch.create_foreign_key(_SQLITE_NAME, "blobs", ["sha256"], ["sha256"])
    else:
        op.create_foreign_key(_POSTGRESQL_NAME, "attachments", "blobs", ["sha256"], ["sha256"])


def _write_missing_blobs(bind: sa.Connection) -> None:
    """A blob for every attachment that has none, decoded from its mail (empty where the mail no longer has it)."""
    missing = bind.execute(sa.text(
        "SELECT a.message_id, a.sha256 FROM attachments a LEFT JOIN blobs b ON b.sha256 = a.sha256 "
        "WHERE b.sha256 IS NULL ORDER BY a.message_id")).all()
    written: set[str] = set()
    for message_id, rows in groupby(missing, key=lambda row: row[0]):
        raw = bind.execute(sa.text("SELECT raw FROM messages WHERE id = :id"), {"id": message_id}).scalar()
        contents = _parts_by_digest(bytes(raw)) if raw else {}
        for _, digest in rows:
            if digest not in written:
                bind.execute(sa.text("INSERT INTO blobs (sha256, data) VALUES (:digest, :data)"),
                             {"digest": digest, "data": contents.get(digest, b"")})
                written.add(digest)


def _parts_by_digest(raw: bytes) -> dict[str, bytes]:
    """Every leaf part of the mail, decoded, by its SHA-256: an attachment's digest finds its part whichever parts
    intake took for attachments (the stdlib parser here: the store's history does not import intake's)."""
    found: dict[str, bytes] = {}
    for part in email.message_from_bytes(raw).walk():
        if not part.is_multipart():
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                found[hashlib.sha256(data).hexdigest()] = data
    return found

"""staff_away: spells of absence that staff announced with an out-of-office reply

A staff member's auto-reply marks them away until their next normal mail; the desk then
passes over them as it does over people the directory marks away. One row a spell, open
while back_at is NULL, so the audit can say who was away when.

Revision ID: 0005
Revises: 0004
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import maildesk.store.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_away",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("since", maildesk.store.base.UTCDateTime(), nullable=False),
        sa.Column("back_at", maildesk.store.base.UTCDateTime(), nullable=True),
        sa.Column("message_pk", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["message_pk"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_away", schema=None) as batch_op:
        batch_op.create_index("ix_staff_away_address", ["address"], unique=False)
        batch_op.create_index("ix_staff_away_back_at", ["back_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_away", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_away_back_at")
        batch_op.drop_index("ix_staff_away_address")
    op.drop_table("staff_away")

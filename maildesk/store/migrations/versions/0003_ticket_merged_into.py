"""tickets.merged_into_id; drop the people table and tickets.last_public_at, which nothing used

A ticket merged into another (#merge) points at it, so that a reply to the merged ticket
lands on the ticket it went into. The people directory lives in the operator's file, never
in this table, and last_public_at was written but never read.

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("people")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_tickets_merged_into_id", "tickets", ["merged_into_id"], ["id"])
        batch_op.drop_column("last_public_at")


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_public_at", sa.DateTime(), nullable=True))
        batch_op.drop_constraint("fk_tickets_merged_into_id", type_="foreignkey")
        batch_op.drop_column("merged_into_id")
    op.create_table(
        "people",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("employee_id", sa.String(length=60), nullable=False),
        sa.Column("extension", sa.String(length=60), nullable=False),
        sa.Column("phone", sa.String(length=60), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("team", sa.String(length=60), nullable=False),
        sa.Column("away", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )

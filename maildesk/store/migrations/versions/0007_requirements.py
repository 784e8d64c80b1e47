"""requirements: the evaluation of requirement (需求) tickets and their RD numbers

A ticket of the requirement type is evaluated (#evaluate 可实施|暂不可实施|需调整方案); one row
a ticket keeps the latest outcome, who gave it and when, and the number RD-YYYYMMDD-NNNN an
accepted requirement gets (drawn from ticket_sequences, like ticket numbers).

Revision ID: 0007
Revises: 0006
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import maildesk.store.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "requirements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("evaluated_by", sa.String(length=320), nullable=False),
        sa.Column("evaluated_at", maildesk.store.base.UTCDateTime(), nullable=False),
        sa.Column("rd_number", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rd_number"),
        sa.UniqueConstraint("ticket_id"),
    )
    with op.batch_alter_table("requirements", schema=None) as batch_op:
        batch_op.create_index("ix_requirements_evaluated_at", ["evaluated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("requirements", schema=None) as batch_op:
        batch_op.drop_index("ix_requirements_evaluated_at")
    op.drop_table("requirements")

"""daemon_beats: each running daemon's heartbeat, last mailbox pass and problem, for `maildesk status`

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import maildesk.store.base

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('daemon_beats',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('mailbox', sa.Text(), nullable=False),
    sa.Column('started_at', maildesk.store.base.UTCDateTime(), nullable=False),
    sa.Column('beat_at', maildesk.store.base.UTCDateTime(), nullable=False),
    sa.Column('stopped_at', maildesk.store.base.UTCDateTime(), nullable=True),
    sa.Column('last_pass_at', maildesk.store.base.UTCDateTime(), nullable=True),
    sa.Column('mails_in', sa.Integer(), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('daemon_beats', schema=None) as batch_op:
        batch_op.create_index('ix_daemon_beats_beat_at', ['beat_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('daemon_beats', schema=None) as batch_op:
        batch_op.drop_index('ix_daemon_beats_beat_at')
    op.drop_table('daemon_beats')

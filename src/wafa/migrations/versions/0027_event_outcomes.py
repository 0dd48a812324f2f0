"""event outcomes: each event's first answer keeps the balance and the reason it gave, for replays

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 00:00:00

Events recorded before this revision have no outcome: their replays compute the balance of the
moment, as before.
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'event_outcomes',
        sa.Column('event_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('balance', sa.JSON(), nullable=True),
        sa.Column('not_awarded_reason', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('event_id'),
    )


def downgrade() -> None:
    op.drop_table('event_outcomes')

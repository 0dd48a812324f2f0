"""A/B/n experiments: arms with weights, a holdout share, a primary metric and a fixed horizon.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-08 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0044'
down_revision = '0043'
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'experiments',
        sa.Column('id', Id, primary_key=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('key', sa.String(64), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('subject', sa.String(16), nullable=False),
        sa.Column('holdout_percent', sa.Integer(), nullable=False),
        sa.Column('arms', sa.JSON(), nullable=False),
        sa.Column('primary_metric', sa.String(16), nullable=False),
        sa.Column('horizon_days', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('started_at', When, nullable=True),
        sa.Column('ends_at', When, nullable=True),
        sa.Column('ended_at', When, nullable=True),
        sa.Column('shipped_arm', sa.String(16), nullable=True),
        sa.Column('shipped_at', When, nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.Column('updated_at', When, nullable=False),
        sa.UniqueConstraint('tenant_id', 'key', name='uq_experiments_key'),
    )


def downgrade() -> None:
    op.drop_table('experiments')

"""Next-best-offer models: each tenant's trained factors, items, members, popular items and holdout metrics.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-08 00:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'offer_models',
        sa.Column('id', Id, primary_key=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('trained_at', When, nullable=False),
        sa.Column('algorithm', sa.String(32), nullable=False),
        sa.Column('parameters', sa.JSON(), nullable=False),
        sa.Column('metrics', sa.JSON(), nullable=False),
        sa.Column('item_ids', sa.JSON(), nullable=False),
        sa.Column('member_ids', sa.JSON(), nullable=False),
        sa.Column('member_factors', sa.LargeBinary(), nullable=False),
        sa.Column('item_factors', sa.LargeBinary(), nullable=False),
        sa.Column('popular', sa.JSON(), nullable=False),
    )
    op.create_index('ix_offer_models_latest', 'offer_models', ['tenant_id', 'trained_at'])


def downgrade() -> None:
    op.drop_table('offer_models')

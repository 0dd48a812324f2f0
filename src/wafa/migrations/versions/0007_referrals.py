"""referrals

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 21:43:17.490917
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('referral_policies',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('referrer_points', sa.BigInteger(), nullable=False),
    sa.Column('referee_points', sa.BigInteger(), nullable=False),
    sa.Column('referrer_reward', sa.String(length=64), nullable=True),
    sa.Column('referee_reward', sa.String(length=64), nullable=True),
    sa.Column('min_purchase', sa.BigInteger(), nullable=False),
    sa.Column('max_per_month', sa.Integer(), nullable=False),
    sa.Column('expire_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('tenant_id')
    )
    op.create_table('referrals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('referrer_id', sa.BigInteger(), nullable=True),
    sa.Column('referee_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('purchase_event_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['referee_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'referee_id', name='uq_referrals_referee')
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_referrer', ['tenant_id', 'referrer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_referrals_status', ['status', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_status')
        batch_op.drop_index('ix_referrals_referrer')

    op.drop_table('referrals')
    op.drop_table('referral_policies')

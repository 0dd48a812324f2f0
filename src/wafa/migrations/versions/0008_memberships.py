"""memberships

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 21:56:58.203634
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('membership_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('membership_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('membership_log', schema=None) as batch_op:
        batch_op.create_index('ix_membership_log_membership', ['tenant_id', 'membership_id', 'id'], unique=False)

    op.create_table('membership_plans',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('interval', sa.String(length=8), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('trial_days', sa.Integer(), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.Column('benefits', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'key', name='uq_membership_plans_key')
    )
    op.create_table('memberships',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('period_start', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('period_end', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('grace_until', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_at_period_end', sa.Boolean(), nullable=False),
    sa.Column('billing_anchor', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['membership_plans.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index('ix_memberships_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_memberships_member', ['tenant_id', 'member_id'], unique=False)

    op.create_table('membership_payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('membership_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('provider_ref', sa.String(length=200), nullable=True),
    sa.Column('period_start', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('period_end', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'membership_id', 'key', name='uq_membership_payments_key')
    )


def downgrade() -> None:
    op.drop_table('membership_payments')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_member')
        batch_op.drop_index('ix_memberships_due')

    op.drop_table('memberships')
    op.drop_table('membership_plans')
    with op.batch_alter_table('membership_log', schema=None) as batch_op:
        batch_op.drop_index('ix_membership_log_membership')

    op.drop_table('membership_log')

"""tiers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 21:21:06.696147
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tier_policies',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('window', sa.String(length=16), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.Column('max_drop', sa.Integer(), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('tenant_id')
    )
    op.create_table('tiers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.BigInteger(), nullable=False),
    sa.Column('benefits', sa.JSON(), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'key', name='uq_tiers_key'),
    sa.UniqueConstraint('tenant_id', 'rank', name='uq_tiers_rank')
    )
    op.create_table('member_tiers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tier_id', sa.BigInteger(), nullable=True),
    sa.Column('since', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('secured_until', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('grace_until', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('floor_tier_id', sa.BigInteger(), nullable=True),
    sa.Column('floor_until', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('floor_reason', sa.String(length=500), nullable=True),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'member_id', name='uq_member_tiers')
    )
    with op.batch_alter_table('member_tiers', schema=None) as batch_op:
        batch_op.create_index('ix_member_tiers_review', ['review_at'], unique=False)

    op.create_table('tier_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_tier_id', sa.BigInteger(), nullable=True),
    sa.Column('to_tier_id', sa.BigInteger(), nullable=True),
    sa.Column('cause', sa.String(length=16), nullable=False),
    sa.Column('metric_value', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.create_index('ix_tier_changes_member', ['tenant_id', 'member_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_changes_member')

    op.drop_table('tier_changes')
    with op.batch_alter_table('member_tiers', schema=None) as batch_op:
        batch_op.drop_index('ix_member_tiers_review')

    op.drop_table('member_tiers')
    op.drop_table('tiers')
    op.drop_table('tier_policies')

"""custom segments

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 00:39:35.604638
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('segment_counts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('segment_id', sa.BigInteger(), nullable=False),
    sa.Column('at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('segment_counts', schema=None) as batch_op:
        batch_op.create_index('ix_segment_counts_segment', ['tenant_id', 'segment_id', 'at'], unique=False)

    op.create_table('custom_segments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('computed_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'key', name='uq_custom_segments_key')
    )
    op.create_table('segment_members',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('segment_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'segment_id', 'member_id')
    )
    with op.batch_alter_table('segment_members', schema=None) as batch_op:
        batch_op.create_index('ix_segment_members_member', ['tenant_id', 'member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('segment_members', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_members_member')

    op.drop_table('segment_members')
    op.drop_table('custom_segments')
    with op.batch_alter_table('segment_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_counts_segment')

    op.drop_table('segment_counts')

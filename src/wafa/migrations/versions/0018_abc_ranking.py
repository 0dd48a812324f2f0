"""abc ranking

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 00:40:58.975624
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('abc_policies',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('a_share', sa.Float(), nullable=False),
    sa.Column('b_share', sa.Float(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('tenant_id')
    )
    op.create_table('abc_scores',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('abc_class', sa.String(length=1), nullable=False),
    sa.Column('factors', sa.JSON(), nullable=False),
    sa.Column('computed_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'member_id')
    )
    with op.batch_alter_table('abc_scores', schema=None) as batch_op:
        batch_op.create_index('ix_abc_scores_class', ['tenant_id', 'abc_class', 'member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('abc_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_abc_scores_class')

    op.drop_table('abc_scores')
    op.drop_table('abc_policies')

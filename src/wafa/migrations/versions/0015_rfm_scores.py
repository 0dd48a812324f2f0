"""rfm scores

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 00:22:25.899144
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rfm_scores',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recency_days', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('monetary', sa.BigInteger(), nullable=False),
    sa.Column('r', sa.Integer(), nullable=False),
    sa.Column('f', sa.Integer(), nullable=False),
    sa.Column('m', sa.Integer(), nullable=False),
    sa.Column('segment', sa.String(length=24), nullable=False),
    sa.Column('computed_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'member_id')
    )
    with op.batch_alter_table('rfm_scores', schema=None) as batch_op:
        batch_op.create_index('ix_rfm_scores_segment', ['tenant_id', 'segment', 'member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rfm_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_rfm_scores_segment')

    op.drop_table('rfm_scores')

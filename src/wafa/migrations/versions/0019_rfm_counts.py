"""rfm counts

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26 00:42:49.556423
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rfm_counts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('segment', sa.String(length=24), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rfm_counts', schema=None) as batch_op:
        batch_op.create_index('ix_rfm_counts_time', ['tenant_id', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rfm_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_rfm_counts_time')

    op.drop_table('rfm_counts')

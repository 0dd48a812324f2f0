"""acquisition spend

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 00:29:27.913449
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('acquisition_spend',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'month')
    )


def downgrade() -> None:
    op.drop_table('acquisition_spend')

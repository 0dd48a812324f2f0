"""analytics runs

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26 00:52:44.366974
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analytics_runs',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('job', sa.String(length=16), nullable=False),
    sa.Column('ran_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'job')
    )


def downgrade() -> None:
    op.drop_table('analytics_runs')

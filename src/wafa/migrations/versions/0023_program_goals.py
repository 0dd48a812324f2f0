"""program goals: targets for chosen KPIs over a period

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 20:40:00
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('program_goals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kpi', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=24), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'kpi', 'starts_on', 'ends_on', name='uq_program_goals_kpi_period')
    )


def downgrade() -> None:
    op.drop_table('program_goals')

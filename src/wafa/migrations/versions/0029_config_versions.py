"""config versions: what SQLite's processes compare their cached tenant configuration with

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-08 00:00:00

A transaction that changes a tenant's program, rules, tiers, plans, achievements, event types or API
keys gives the kind it changed a new version; PostgreSQL tells processes by NOTIFY instead.
"""
import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'config_versions',
        sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'name'),
    )


def downgrade() -> None:
    op.drop_table('config_versions')

"""Stores (place, time zone, opening hours) and members' check-ins at them.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-08 03:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'stores',
        sa.Column('id', Id, primary_key=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('code', sa.String(64), nullable=False),
        sa.Column('name_en', sa.String(200), nullable=False),
        sa.Column('name_ar', sa.String(200), nullable=True),
        sa.Column('latitude', sa.Double(), nullable=False),
        sa.Column('longitude', sa.Double(), nullable=False),
        sa.Column('timezone', sa.String(64), nullable=False),
        sa.Column('hours', sa.JSON(), nullable=False),
        sa.Column('radius_m', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.Column('updated_at', When, nullable=False),
        sa.UniqueConstraint('tenant_id', 'code', name='uq_stores_code'),
    )
    op.create_index('ix_stores_place', 'stores', ['tenant_id', 'latitude'])
    op.create_table(
        'store_check_ins',
        sa.Column('id', Id, primary_key=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('member_id', sa.BigInteger(), nullable=False),
        sa.Column('store_id', sa.BigInteger(), nullable=False),
        sa.Column('local_date', sa.Date(), nullable=False),
        sa.Column('checked_in_at', When, nullable=False),
        sa.Column('distance_m', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.BigInteger(), nullable=True),
        sa.UniqueConstraint('tenant_id', 'member_id', 'store_id', 'local_date', name='uq_store_check_ins_day'),
    )
    op.create_index('ix_store_check_ins_store_day', 'store_check_ins', ['tenant_id', 'store_id', 'local_date'])


def downgrade() -> None:
    op.drop_table('store_check_ins')
    op.drop_table('stores')

"""Offers made to chosen members: the offers, each member's copy with its own window, and their uses.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-08 03:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0045'
down_revision = '0044'
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'offers',
        sa.Column('id', Id, primary_key=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('key', sa.String(64), nullable=False),
        sa.Column('name_en', sa.String(200), nullable=False),
        sa.Column('name_ar', sa.String(200), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('reward_id', sa.BigInteger(), nullable=True),
        sa.Column('points', sa.BigInteger(), nullable=True),
        sa.Column('rule_id', sa.BigInteger(), nullable=True),
        sa.Column('category', sa.String(64), nullable=True),
        sa.Column('audience', sa.JSON(), nullable=False),
        sa.Column('valid_days', sa.Integer(), nullable=False),
        sa.Column('per_member_cap', sa.Integer(), nullable=True),
        sa.Column('store_codes', sa.JSON(), nullable=False),
        sa.Column('starts_at', When, nullable=True),
        sa.Column('ends_at', When, nullable=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('granted', sa.Integer(), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.Column('updated_at', When, nullable=False),
        sa.UniqueConstraint('tenant_id', 'key', name='uq_offers_key'),
    )
    op.create_table(
        'member_offers',
        sa.Column('id', Id, primary_key=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('offer_id', sa.BigInteger(), nullable=False),
        sa.Column('member_id', sa.BigInteger(), nullable=False),
        sa.Column('granted_at', When, nullable=False),
        sa.Column('valid_from', When, nullable=False),
        sa.Column('valid_until', When, nullable=False),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(16), nullable=False),
        sa.Column('arm', sa.String(32), nullable=True),
        sa.Column('revoked_at', When, nullable=True),
        sa.UniqueConstraint('tenant_id', 'offer_id', 'member_id', name='uq_member_offers'),
    )
    op.create_index('ix_member_offers_member', 'member_offers', ['tenant_id', 'member_id', 'valid_until'])
    op.create_table(
        'offer_uses',
        sa.Column('id', Id, primary_key=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('member_offer_id', sa.BigInteger(), nullable=False),
        sa.Column('member_id', sa.BigInteger(), nullable=False),
        sa.Column('source_key', sa.String(200), nullable=False),
        sa.Column('redemption_id', sa.BigInteger(), nullable=True),
        sa.Column('event_id', sa.BigInteger(), nullable=True),
        sa.Column('used_at', When, nullable=False),
        sa.UniqueConstraint('tenant_id', 'source_key', name='uq_offer_uses_source'),
    )


def downgrade() -> None:
    op.drop_table('offer_uses')
    op.drop_index('ix_member_offers_member', table_name='member_offers')
    op.drop_table('member_offers')
    op.drop_table('offers')

"""Referrals reversed when their qualifying purchase comes back: the policy's window (30 days for every
program, existing ones too: farming bonuses with purchases later returned was the finding) and an index
from a purchase to the referral it completed.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 22:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('referral_policies', sa.Column('reverse_within_days', sa.Integer(), nullable=False, server_default='30'))
    op.create_index('ix_referrals_purchase', 'referrals', ['tenant_id', 'purchase_event_id'])


def downgrade() -> None:
    op.drop_index('ix_referrals_purchase', table_name='referrals')
    op.drop_column('referral_policies', 'reverse_within_days')

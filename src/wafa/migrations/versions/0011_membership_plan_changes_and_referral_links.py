"""membership plan changes, referral links

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Trials taken before this revision are known by the membership's plan (and its subscribed log).
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_plan_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('trial_plan_id', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('referral_policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_template', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('require_contact', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('referral_policies', schema=None) as batch_op:
        batch_op.drop_column('require_contact')
        batch_op.drop_column('link_template')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('trial_plan_id')
        batch_op.drop_column('next_plan_id')

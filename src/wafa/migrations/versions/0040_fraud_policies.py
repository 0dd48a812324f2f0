"""Loyalty-fraud policies on the program: what enrolling again does with a closed member's debt, whether a
return demotes a tier won just before, and velocity limits that hold events for review. New programs
start with a 14-day pending window (programs/service.py); existing ones keep theirs.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-08 00:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None


# Plain ALTER TABLE (see 0036): SQLite adds and drops a column in place.
def upgrade() -> None:
    op.add_column('programs', sa.Column('reenrol_debt', sa.String(8), nullable=False, server_default='carry'))
    op.add_column('programs', sa.Column('tier_return_policy', sa.String(8), nullable=False, server_default='keep'))
    op.add_column('programs', sa.Column('tier_return_days', sa.Integer(), nullable=False, server_default='30'))
    op.add_column('programs', sa.Column('velocity_limits', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    for name in ('velocity_limits', 'tier_return_days', 'tier_return_policy', 'reenrol_debt'):
        op.drop_column('programs', name)

"""postings indexed by entry and account

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 23:50:00

Points earned over a window (the tier metric) joins a member's entries to their postings on the
program's issued account. With the entry alone indexed, PostgreSQL intersected it with the account's
index, which holds a posting of every entry of the tenant: 29 ms a purchase for a member with 300
orders, growing with the tenant. The composite index answers both conditions and replaces the old one.
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index('ix_postings_entry_account', ['entry_id', 'account_id'], unique=False)
        batch_op.drop_index('ix_postings_entry')


def downgrade() -> None:
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index('ix_postings_entry', ['entry_id'], unique=False)
        batch_op.drop_index('ix_postings_entry_account')

"""Members' data rights: when a member's personal data was erased, when they last signed in to the portal
(kept beyond the sessions and sign-in codes the worker forgets), and the program's retention setting
(anonymise members inactive for that many years; NULL: never); the audit trail by target (what was done
to, or read of, one member).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


# Plain ALTER TABLE, not a batch: rebuilding `members` on SQLite would drop a table every ledger table refers
# to (refused with foreign keys on); SQLite adds and (since 3.35) drops a column in place.
def upgrade() -> None:
    op.add_column('members', sa.Column('erased_at', When, nullable=True))
    op.add_column('members', sa.Column('last_seen_at', When, nullable=True))
    op.add_column('programs', sa.Column('anonymise_inactive_after_years', sa.Integer(), nullable=True))
    op.create_index('ix_audit_entries_target', 'audit_entries', ['tenant_id', 'target', 'id'])


def downgrade() -> None:
    op.drop_index('ix_audit_entries_target', table_name='audit_entries')
    op.drop_column('programs', 'anonymise_inactive_after_years')
    op.drop_column('members', 'last_seen_at')
    op.drop_column('members', 'erased_at')

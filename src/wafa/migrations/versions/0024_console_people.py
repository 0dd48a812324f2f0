"""console people: invitations, password resets, roles

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 20:40:00
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admin_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('admin_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('purpose', sa.String(length=8), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['admin_user_id'], ['admin_users.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('admin_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_admin_tokens_user', ['tenant_id', 'admin_user_id', 'purpose', 'id'], unique=False)

    op.create_table('admin_policies',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('support_adjust_limit', sa.Integer(), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('tenant_id')
    )

    # Roles were "admin" (changes anything) and "viewer" (reads). Admins stay admins and viewers stay
    # viewers; each tenant's first active admin becomes its owner, so that every tenant has someone who
    # can grant the owner role and set the support limit.
    op.execute(sa.text(
        "UPDATE admin_users SET role = 'owner' WHERE id IN ("
        " SELECT MIN(a.id) FROM admin_users a WHERE a.role = 'admin' AND a.status = 'active'"
        " AND NOT EXISTS (SELECT 1 FROM admin_users o WHERE o.tenant_id = a.tenant_id AND o.role = 'owner')"
        " GROUP BY a.tenant_id)"
    ))


def downgrade() -> None:
    # The two roles of before: owners become admins, marketers and support staff become viewers
    # (the narrower side: nobody gains a change they could not make).
    op.execute(sa.text("UPDATE admin_users SET role = 'admin' WHERE role = 'owner'"))
    op.execute(sa.text("UPDATE admin_users SET role = 'viewer' WHERE role IN ('marketer', 'support')"))
    op.execute(sa.text("UPDATE admin_users SET status = 'disabled' WHERE status = 'invited'"))
    op.drop_table('admin_policies')
    with op.batch_alter_table('admin_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_tokens_user')

    op.drop_table('admin_tokens')

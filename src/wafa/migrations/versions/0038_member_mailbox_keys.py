"""members.email_key: the inbox an address delivers to (sub-address after "+" dropped, Gmail's dots
dropped), so that aliases of one inbox are one person to self-referral checks; filled for existing members.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 22:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None

DOTLESS = {"gmail.com", "googlemail.com"}


def key(address: str) -> str:
    # As wafa.members.service.mailbox_key was when this migration was written (a migration does not follow later code).
    local, _, domain = address.strip().lower().rpartition("@")
    if not local:
        return address.strip().lower()
    domain = "gmail.com" if domain == "googlemail.com" else domain
    local = local.split("+", 1)[0] or local
    if domain in DOTLESS:
        local = local.replace(".", "") or local
    return f"{local}@{domain}"


def upgrade() -> None:
    op.add_column('members', sa.Column('email_key', sa.String(254), nullable=True))
    op.create_index('ix_members_email_key', 'members', ['tenant_id', 'email_key'])
    members = sa.table('members', sa.column('id', sa.BigInteger), sa.column('email', sa.String), sa.column('email_key', sa.String))
    bind = op.get_bind()
    last = 0
    while True:  # in batches: a big program's members need not fit in memory at once
        rows = bind.execute(sa.select(members.c.id, members.c.email).where(members.c.id > last, members.c.email.is_not(None))
                            .order_by(members.c.id).limit(5000)).all()
        if not rows:
            break
        bind.execute(members.update().where(members.c.id == sa.bindparam('member_id')).values(email_key=sa.bindparam('key')),
                     [{"member_id": row.id, "key": key(row.email)} for row in rows])
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index('ix_members_email_key', table_name='members')
    op.drop_column('members', 'email_key')

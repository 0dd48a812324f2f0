"""wafa_money_floor(tenant, partner, key): on PostgreSQL, take a partner's settlement lock (shared) and
read where its open period starts, in one call: a VOLATILE function's query sees what committed while
it waited for the lock, so an entry dated from here can never land in a period being closed (a closing
takes the lock exclusively). SQLite needs none: its writers take the database's write lock.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 17:45:00
"""
from alembic import op

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION wafa_money_floor(t bigint, p bigint, k bigint) RETURNS timestamptz
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock_shared(k);
            RETURN (SELECT closed_through FROM money_periods WHERE tenant_id = t AND partner_id = p);
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS wafa_money_floor(bigint, bigint, bigint)')

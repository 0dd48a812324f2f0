"""running totals: points earned and purchases kept per member and UTC day; streak runs' basis

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 00:00:00

Tier qualification and goals read a member's days instead of their whole history. The totals of
what is recorded already are computed here from the entries and events, exactly as `wafa totals
verify` recomputes them.
"""
import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _day(column: str) -> str:
    # Both databases keep these times in UTC (SQLite as naive text).
    return f"date({column})" if op.get_bind().dialect.name == 'sqlite' else f"(({column}) AT TIME ZONE 'UTC')::date"


def upgrade() -> None:
    op.create_table(
        'member_points_earned',
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('member_id', sa.BigInteger(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'member_id', 'day'),
    )
    op.create_table(
        'member_purchase_days',
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('member_id', sa.BigInteger(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('kept', sa.BigInteger(), nullable=False),
        sa.Column('orders', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'member_id', 'day', 'currency'),
    )
    op.create_index('ix_entries_member_created', 'entries', ['tenant_id', 'member_id', 'created_at'])
    op.create_index(
        'ix_entries_reverses', 'entries', ['tenant_id', 'reverses_entry_id'],
        postgresql_where=sa.text('reverses_entry_id IS NOT NULL'), sqlite_where=sa.text('reverses_entry_id IS NOT NULL'),
    )
    with op.batch_alter_table('member_streaks') as batch:
        batch.add_column(sa.Column('basis', sa.String(length=64), nullable=True))

    op.execute(f"""
        INSERT INTO member_points_earned (tenant_id, member_id, day, points)
        SELECT e.tenant_id, e.member_id, {_day('coalesce(c.created_at, e.created_at)')}, -sum(p.amount)
        FROM entries e
        JOIN postings p ON p.entry_id = e.id
        JOIN accounts a ON a.id = p.account_id AND a.owner = 'program' AND a.kind = 'issued' AND a.unit = 'PTS'
        LEFT JOIN entries c ON c.id = e.reverses_entry_id
        WHERE e.member_id IS NOT NULL AND e.idempotency_key NOT LIKE 'tier-welcome:%'
        GROUP BY e.tenant_id, e.member_id, {_day('coalesce(c.created_at, e.created_at)')}
        HAVING sum(p.amount) <> 0
    """)  # noqa: S608  only this file's date expression is formatted in
    op.execute(f"""
        INSERT INTO member_purchase_days (tenant_id, member_id, day, currency, kept, orders)
        SELECT tenant_id, member_id, {_day('occurred_at')}, coalesce(currency, ''), sum(amount - returned_amount), count(*)
        FROM events
        WHERE type = 'purchase' AND member_id IS NOT NULL AND (amount - returned_amount > 0 OR amount = 0)
        GROUP BY tenant_id, member_id, {_day('occurred_at')}, coalesce(currency, '')
    """)  # noqa: S608  only this file's date expression is formatted in


def downgrade() -> None:
    with op.batch_alter_table('member_streaks') as batch:
        batch.drop_column('basis')
    op.drop_index('ix_entries_reverses', table_name='entries')
    op.drop_index('ix_entries_member_created', table_name='entries')
    op.drop_table('member_purchase_days')
    op.drop_table('member_points_earned')

"""coalition: partners with their terms and stores, settlement runs and statements, the operator's
settings; money periods in the ledger; entries, events, members, rewards, API keys and console users
name the partner they belong to

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 17:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'coalitions',
        sa.Column('tenant_id', Id, sa.ForeignKey('tenants.id'), primary_key=True),
        sa.Column('breakage_policy', sa.String(length=16), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.Column('updated_at', When, nullable=False),
    )
    op.create_table(
        'partners',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', Id, sa.ForeignKey('tenants.id'), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('name_ar', sa.String(length=200), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('period', sa.String(length=8), nullable=False),
        sa.Column('earn_rate', sa.String(length=24), nullable=False),
        sa.Column('issue_price', sa.String(length=24), nullable=False),
        sa.Column('redeem_value', sa.String(length=24), nullable=False),
        sa.Column('issue_fee', sa.String(length=12), nullable=False),
        sa.Column('redeem_fee', sa.String(length=12), nullable=False),
        sa.Column('own_points_name', sa.String(length=64), nullable=True),
        sa.Column('own_points_rate', sa.Integer(), nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.Column('updated_at', When, nullable=False),
        sa.UniqueConstraint('tenant_id', 'key', name='uq_partners_key'),
    )
    op.create_table(
        'partner_stores',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', Id, sa.ForeignKey('tenants.id'), nullable=False),
        sa.Column('partner_id', Id, sa.ForeignKey('partners.id'), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('city', sa.String(length=100), nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.UniqueConstraint('tenant_id', 'code', name='uq_partner_stores_code'),
    )
    op.create_index('ix_partner_stores_partner', 'partner_stores', ['tenant_id', 'partner_id'])
    op.create_table(
        'settlement_runs',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', Id, sa.ForeignKey('tenants.id'), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('starts_at', When, nullable=False),
        sa.Column('ends_at', When, nullable=False),
        sa.Column('closed_by', sa.String(length=254), nullable=False),
        sa.Column('closed_at', When, nullable=False),
        sa.UniqueConstraint('tenant_id', 'period', name='uq_settlement_runs_period'),
    )
    op.create_table(
        'settlement_statements',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', Id, sa.ForeignKey('tenants.id'), nullable=False),
        sa.Column('run_id', Id, sa.ForeignKey('settlement_runs.id'), nullable=False),
        sa.Column('party', sa.String(length=40), nullable=False),
        sa.Column('partner_id', Id, sa.ForeignKey('partners.id'), nullable=True),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('starts_at', When, nullable=False),
        sa.Column('ends_at', When, nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.Column('points_issued', sa.BigInteger(), nullable=False),
        sa.Column('points_redeemed', sa.BigInteger(), nullable=False),
        sa.Column('net', sa.BigInteger(), nullable=False),
        sa.Column('closed_at', When, nullable=False),
        sa.UniqueConstraint('tenant_id', 'run_id', 'party', 'currency', name='uq_settlement_statements_party'),
    )
    op.create_index('ix_settlement_statements_partner', 'settlement_statements', ['tenant_id', 'partner_id', 'id'])
    op.create_table(
        'money_periods',
        sa.Column('tenant_id', Id, primary_key=True, autoincrement=False),
        sa.Column('partner_id', sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column('closed_through', When, nullable=False),
    )
    # A plain ALTER TABLE on both databases (no table copy): the column is nullable, without a default.
    for table in ('entries', 'events', 'members', 'rewards', 'api_keys', 'admin_users'):
        op.add_column(table, sa.Column('partner_id', sa.BigInteger(), nullable=True))
    op.create_index(
        'ix_entries_partner', 'entries', ['tenant_id', 'partner_id', 'created_at'],
        postgresql_where=sa.text('partner_id IS NOT NULL'), sqlite_where=sa.text('partner_id IS NOT NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_entries_partner', table_name='entries')
    for table in ('entries', 'events', 'members', 'rewards', 'api_keys', 'admin_users'):
        op.drop_column(table, 'partner_id')
    op.drop_table('money_periods')
    op.drop_table('settlement_statements')
    op.drop_table('settlement_runs')
    op.drop_table('partner_stores')
    op.drop_table('partners')
    op.drop_table('coalitions')

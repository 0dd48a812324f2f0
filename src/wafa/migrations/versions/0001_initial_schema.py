"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 17:12:34.551383
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('idempotency_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'key', name='uq_idempotency_key')
    )
    op.create_table('tenants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index('ix_api_keys_tenant', ['tenant_id', 'id'], unique=False)

    op.create_table('members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('locale', sa.String(length=2), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('consent_email', sa.Boolean(), nullable=False),
    sa.Column('consent_sms', sa.Boolean(), nullable=False),
    sa.Column('consent_push', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('referral_code', sa.String(length=16), nullable=False),
    sa.Column('card_token', sa.String(length=64), nullable=False),
    sa.Column('enrolled_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('card_token', name='uq_members_card_token'),
    sa.UniqueConstraint('tenant_id', 'external_id', name='uq_members_external_id'),
    sa.UniqueConstraint('tenant_id', 'referral_code', name='uq_members_referral_code')
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index('ix_members_email', ['tenant_id', 'email'], unique=False)
        batch_op.create_index('ix_members_phone', ['tenant_id', 'phone'], unique=False)

    op.create_table('programs',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points_name_en', sa.String(length=64), nullable=False),
    sa.Column('points_name_ar', sa.String(length=64), nullable=False),
    sa.Column('base_currency', sa.String(length=3), nullable=False),
    sa.Column('earn_rates', sa.JSON(), nullable=False),
    sa.Column('rounding', sa.String(length=16), nullable=False),
    sa.Column('pending_days', sa.Integer(), nullable=False),
    sa.Column('expiry_policy', sa.String(length=16), nullable=False),
    sa.Column('expiry_periods', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('default_region', sa.String(length=2), nullable=False),
    sa.Column('block_redemptions_in_debt', sa.Boolean(), nullable=False),
    sa.Column('min_redemption', sa.Integer(), nullable=False),
    sa.Column('hold_ttl_seconds', sa.Integer(), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('tenant_id')
    )
    op.create_table('accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('owner', sa.String(length=40), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('unit', sa.String(length=8), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'owner', 'kind', 'unit', name='uq_accounts_owner_kind_unit')
    )
    op.create_table('entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('event_id', sa.BigInteger(), nullable=True),
    sa.Column('reverses_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'idempotency_key', name='uq_entries_idempotency_key')
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index('ix_entries_member', ['tenant_id', 'member_id', 'id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('order_id', sa.String(length=128), nullable=True),
    sa.Column('return_id', sa.String(length=128), nullable=True),
    sa.Column('purchase_event_id', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('returned_amount', sa.BigInteger(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('points_reversed', sa.BigInteger(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=True),
    sa.Column('returned_items', sa.JSON(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('store', sa.String(length=64), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=True),
    sa.Column('occurred_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_member', ['tenant_id', 'member_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_events_occurred', ['tenant_id', 'occurred_at'], unique=False)
        batch_op.create_index('uq_events_purchase_order', ['tenant_id', 'order_id'], unique=True,
                              sqlite_where=sa.text("type = 'purchase'"), postgresql_where=sa.text("type = 'purchase'"))
        batch_op.create_index('uq_events_return_id', ['tenant_id', 'order_id', 'return_id'], unique=True,
                              sqlite_where=sa.text("type = 'return' AND return_id IS NOT NULL"),
                              postgresql_where=sa.text("type = 'return' AND return_id IS NOT NULL"))

    op.create_table('holds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('captured_points', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('hold_entry_id', sa.BigInteger(), nullable=False),
    sa.Column('resolution_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index('ix_holds_member', ['tenant_id', 'member_id'], unique=False)
        batch_op.create_index('ix_holds_open_due', ['status', 'expires_at'], unique=False)

    op.create_table('lots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('released', sa.Boolean(), nullable=False),
    sa.Column('available_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.create_index('ix_lots_event', ['tenant_id', 'event_id'], unique=False)
        batch_op.create_index('ix_lots_expiry_due', ['expires_at'], unique=False,
                              postgresql_where=sa.text('released = true AND remaining > 0'), sqlite_where=sa.text('released = 1 AND remaining > 0'))
        batch_op.create_index('ix_lots_member_open', ['tenant_id', 'member_id', 'released', 'remaining'], unique=False)
        batch_op.create_index('ix_lots_release_due', ['available_at'], unique=False,
                              postgresql_where=sa.text('released = false'), sqlite_where=sa.text('released = 0'))

    op.create_table('postings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=True),
    sa.Column('hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index('ix_postings_account_seq', ['account_id', 'seq'], unique=False)
        batch_op.create_index('ix_postings_entry', ['entry_id'], unique=False)

    op.create_table('lot_movements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lot_movements', schema=None) as batch_op:
        batch_op.create_index('ix_lot_movements_entry', ['entry_id'], unique=False)
        batch_op.create_index('ix_lot_movements_lot', ['lot_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('lot_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_lot_movements_lot')
        batch_op.drop_index('ix_lot_movements_entry')

    op.drop_table('lot_movements')
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index('ix_postings_entry')
        batch_op.drop_index('ix_postings_account_seq')

    op.drop_table('postings')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index('ix_lots_release_due', postgresql_where=sa.text('released = false'), sqlite_where=sa.text('released = 0'))
        batch_op.drop_index('ix_lots_member_open')
        batch_op.drop_index('ix_lots_expiry_due',
                            postgresql_where=sa.text('released = true AND remaining > 0'), sqlite_where=sa.text('released = 1 AND remaining > 0'))
        batch_op.drop_index('ix_lots_event')

    op.drop_table('lots')
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index('ix_holds_open_due')
        batch_op.drop_index('ix_holds_member')

    op.drop_table('holds')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('uq_events_return_id', sqlite_where=sa.text("type = 'return' AND return_id IS NOT NULL"),
                            postgresql_where=sa.text("type = 'return' AND return_id IS NOT NULL"))
        batch_op.drop_index('uq_events_purchase_order', sqlite_where=sa.text("type = 'purchase'"), postgresql_where=sa.text("type = 'purchase'"))
        batch_op.drop_index('ix_events_occurred')
        batch_op.drop_index('ix_events_member')

    op.drop_table('events')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index('ix_entries_member')

    op.drop_table('entries')
    op.drop_table('accounts')
    op.drop_table('programs')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_phone')
        batch_op.drop_index('ix_members_email')

    op.drop_table('members')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_api_keys_tenant')

    op.drop_table('api_keys')
    op.drop_table('tenants')
    op.drop_table('idempotency_records')


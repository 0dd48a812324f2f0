"""rewards

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 20:29:45.578926
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coupons',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=True),
    sa.Column('redemption_id', sa.BigInteger(), nullable=True),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('discount', sa.JSON(), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=False),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('valid_from', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'code', name='uq_coupons_code')
    )
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.create_index('ix_coupons_campaign', ['tenant_id', 'campaign_id', 'id'], unique=False)

    op.create_table('order_payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('restored', sa.BigInteger(), nullable=False),
    sa.Column('wallet_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('coupon_use_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('order_payments', schema=None) as batch_op:
        batch_op.create_index('ix_order_payments_order', ['tenant_id', 'order_id'], unique=False)

    op.create_table('coupon_campaigns',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('discount', sa.JSON(), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('code_length', sa.Integer(), nullable=False),
    sa.Column('valid_from', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('codes', sa.BigInteger(), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('coupon_uses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('coupon_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=128), nullable=True),
    sa.Column('member_id', sa.BigInteger(), nullable=True),
    sa.Column('discount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('restored', sa.Boolean(), nullable=False),
    sa.Column('used_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'coupon_id', 'key', name='uq_coupon_uses_key')
    )
    with op.batch_alter_table('coupon_uses', schema=None) as batch_op:
        batch_op.create_index('ix_coupon_uses_order', ['tenant_id', 'order_id'], unique=False)

    op.create_table('rewards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=True),
    sa.Column('description_ar', sa.Text(), nullable=True),
    sa.Column('image_url', sa.String(length=1000), nullable=True),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('money', sa.BigInteger(), nullable=False),
    sa.Column('stock_left', sa.BigInteger(), nullable=True),
    sa.Column('limit_count', sa.Integer(), nullable=True),
    sa.Column('limit_period', sa.String(length=8), nullable=True),
    sa.Column('valid_from', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.Column('segments', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'key', name='uq_rewards_key')
    )
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.create_index('ix_rewards_tenant_status', ['tenant_id', 'status'], unique=False)

    op.create_table('reward_redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reward_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_key', sa.String(length=200), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('money', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fulfilment', sa.String(length=16), nullable=True),
    sa.Column('points_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('wallet_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('refund_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('wallet_amount', sa.BigInteger(), nullable=False),
    sa.Column('coupon_id', sa.BigInteger(), nullable=True),
    sa.Column('voucher_code', sa.String(length=128), nullable=True),
    sa.Column('event_id', sa.BigInteger(), nullable=True),
    sa.Column('card_id', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('expires_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'source_key', name='uq_reward_redemptions_source')
    )
    with op.batch_alter_table('reward_redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_reward_redemptions_member', ['tenant_id', 'member_id', 'reward_id', 'created_at'], unique=False)

    op.create_table('stamp_cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('stamps_needed', sa.Integer(), nullable=False),
    sa.Column('reward_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'key', name='uq_stamp_cards_key')
    )
    op.create_table('vouchers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reward_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('redemption_id', sa.BigInteger(), nullable=True),
    sa.Column('imported_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reward_id'], ['rewards.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'reward_id', 'code', name='uq_vouchers_code')
    )
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.create_index('ix_vouchers_available', ['tenant_id', 'reward_id', 'status', 'id'], unique=False)

    op.create_table('member_stamp_cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stamps', sa.BigInteger(), nullable=False),
    sa.Column('rewarded', sa.BigInteger(), nullable=False),
    sa.Column('forfeited', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['stamp_cards.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'member_id', 'card_id', name='uq_member_stamp_cards')
    )
    op.create_table('stamp_card_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('stamps', sa.BigInteger(), nullable=False),
    sa.Column('taken_back', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['stamp_cards.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'card_id', 'member_id', 'event_id', name='uq_stamp_card_events')
    )
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_restores', sa.String(length=16), server_default='proportional', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('return_restores')

    op.drop_table('stamp_card_events')
    op.drop_table('member_stamp_cards')
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_index('ix_vouchers_available')

    op.drop_table('vouchers')
    op.drop_table('stamp_cards')
    with op.batch_alter_table('reward_redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_reward_redemptions_member')

    op.drop_table('reward_redemptions')
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.drop_index('ix_rewards_tenant_status')

    op.drop_table('rewards')
    with op.batch_alter_table('coupon_uses', schema=None) as batch_op:
        batch_op.drop_index('ix_coupon_uses_order')

    op.drop_table('coupon_uses')
    op.drop_table('coupon_campaigns')
    with op.batch_alter_table('order_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_order_payments_order')

    op.drop_table('order_payments')
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_index('ix_coupons_campaign')

    op.drop_table('coupons')

"""rule awards, budgets, custom event types

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:48:22.983708
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rule_awards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('rule_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('occurred_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('points_kept', sa.BigInteger(), nullable=False),
    sa.Column('points_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('points_lot_id', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('cashback', sa.BigInteger(), nullable=False),
    sa.Column('cashback_kept', sa.BigInteger(), nullable=False),
    sa.Column('cashback_available_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cashback_released', sa.Boolean(), nullable=False),
    sa.Column('stamps', sa.JSON(), nullable=True),
    sa.Column('stamps_kept', sa.JSON(), nullable=True),
    sa.Column('rewards', sa.JSON(), nullable=True),
    sa.Column('rewards_kept', sa.JSON(), nullable=True),
    sa.Column('capped_by', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'event_id', 'rule_id', name='uq_rule_awards_event_rule')
    )
    with op.batch_alter_table('rule_awards', schema=None) as batch_op:
        batch_op.create_index('ix_rule_awards_cashback_due', ['cashback_available_at'], unique=False,
                              postgresql_where=sa.text('cashback_released = false'), sqlite_where=sa.text('cashback_released = 0'))
        batch_op.create_index('ix_rule_awards_member_rule', ['tenant_id', 'member_id', 'rule_id', 'occurred_at'], unique=False)

    op.create_table('event_types',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('attributes_schema', sa.JSON(), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'name', name='uq_event_types_name')
    )
    op.create_table('rule_budgets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points_used', sa.BigInteger(), nullable=False),
    sa.Column('money_used', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['rules.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'rule_id', name='uq_rule_budgets_rule')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=128), nullable=True))
        batch_op.create_index('uq_events_reference', ['tenant_id', 'type', 'member_id', 'reference'], unique=True,
                              sqlite_where=sa.text('reference IS NOT NULL'), postgresql_where=sa.text('reference IS NOT NULL'))

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('city', sa.String(length=100), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('city')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('uq_events_reference', sqlite_where=sa.text('reference IS NOT NULL'), postgresql_where=sa.text('reference IS NOT NULL'))
        batch_op.drop_column('reference')

    op.drop_table('rule_budgets')
    op.drop_table('event_types')
    with op.batch_alter_table('rule_awards', schema=None) as batch_op:
        batch_op.drop_index('ix_rule_awards_member_rule')
        batch_op.drop_index('ix_rule_awards_cashback_due',
                            postgresql_where=sa.text('cashback_released = false'), sqlite_where=sa.text('cashback_released = 0'))

    op.drop_table('rule_awards')

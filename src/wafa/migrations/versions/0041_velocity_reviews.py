"""Velocity limits: the marks each limited action leaves (per member, payment card, store and API key), and
the review queue of actions held because they went past a limit.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-08 00:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'velocity_marks',
        sa.Column('id', Id, primary_key=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('action', sa.String(16), nullable=False),
        sa.Column('member_id', sa.BigInteger(), nullable=True),
        sa.Column('card', sa.String(64), nullable=True),
        sa.Column('store', sa.String(64), nullable=True),
        sa.Column('key_id', sa.BigInteger(), nullable=True),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('at', When, nullable=False),
    )
    for subject in ('member_id', 'card', 'store', 'key_id'):
        name = subject.removesuffix('_id')
        op.create_index(f'ix_velocity_marks_{name}', 'velocity_marks', ['tenant_id', 'action', subject, 'at'])
    op.create_table(
        'reviews',
        sa.Column('id', Id, primary_key=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('action', sa.String(16), nullable=False),
        sa.Column('member_id', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('breached', sa.JSON(), nullable=False),
        sa.Column('observed', sa.JSON(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('subjects', sa.JSON(), nullable=False),
        sa.Column('event_id', sa.BigInteger(), nullable=True),
        sa.Column('order_id', sa.String(160), nullable=True),
        sa.Column('entry_id', sa.BigInteger(), nullable=True),
        sa.Column('lot_id', sa.BigInteger(), nullable=True),
        sa.Column('available_at', When, nullable=True),
        sa.Column('request', sa.JSON(), nullable=True),
        sa.Column('outcome', sa.JSON(), nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.Column('decided_at', When, nullable=True),
        sa.Column('decided_by', sa.String(254), nullable=True),
        sa.Column('note', sa.String(500), nullable=True),
    )
    op.create_index('ix_reviews_queue', 'reviews', ['tenant_id', 'status', 'id'])
    op.create_index('ix_reviews_member', 'reviews', ['tenant_id', 'member_id'])
    op.create_index('ix_reviews_event', 'reviews', ['tenant_id', 'event_id'])


def downgrade() -> None:
    op.drop_table('reviews')
    op.drop_table('velocity_marks')

"""achievements and plan-only rewards

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 23:22:20.284621
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('badges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('description_en', sa.String(length=1000), nullable=True),
    sa.Column('description_ar', sa.String(length=1000), nullable=True),
    sa.Column('image_url', sa.String(length=500), nullable=True),
    sa.Column('criterion', sa.JSON(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('reward_key', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'key', name='uq_badges_key')
    )
    op.create_table('challenges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('description_en', sa.String(length=1000), nullable=True),
    sa.Column('description_ar', sa.String(length=1000), nullable=True),
    sa.Column('image_url', sa.String(length=500), nullable=True),
    sa.Column('goal', sa.JSON(), nullable=False),
    sa.Column('starts_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opt_in', sa.Boolean(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('reward_key', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'key', name='uq_challenges_key')
    )
    op.create_table('streaks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_ar', sa.String(length=200), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('min_amount', sa.BigInteger(), nullable=False),
    sa.Column('starts_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('milestones', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'key', name='uq_streaks_key')
    )
    op.create_table('achievement_awards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('definition_id', sa.BigInteger(), nullable=False),
    sa.Column('run', sa.String(length=10), nullable=False),
    sa.Column('milestone', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('entry_id', sa.BigInteger(), nullable=True),
    sa.Column('lot_id', sa.BigInteger(), nullable=True),
    sa.Column('redemption_id', sa.BigInteger(), nullable=True),
    sa.Column('earned_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('achievement_awards', schema=None) as batch_op:
        batch_op.create_index('ix_achievement_awards_member', ['tenant_id', 'member_id', 'id'], unique=False)
        batch_op.create_index('uq_achievement_awards_held', ['tenant_id', 'kind', 'definition_id', 'member_id', 'run', 'milestone'], unique=True,
                              sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))

    op.create_table('challenge_progress',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('challenge_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('progress', sa.BigInteger(), nullable=False),
    sa.Column('joined_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', wafa.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'challenge_id', 'member_id', name='uq_challenge_progress_member')
    )
    with op.batch_alter_table('challenge_progress', schema=None) as batch_op:
        batch_op.create_index('ix_challenge_progress_rank', ['tenant_id', 'challenge_id', 'progress'], unique=False)

    op.create_table('leaderboard_profiles',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('nickname', sa.String(length=32), nullable=False),
    sa.Column('nickname_key', sa.String(length=128), nullable=False),
    sa.Column('opt_in', sa.Boolean(), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'member_id'),
    sa.UniqueConstraint('tenant_id', 'nickname_key', name='uq_leaderboard_profiles_nickname')
    )
    op.create_table('member_streaks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('streak_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('current', sa.Integer(), nullable=False),
    sa.Column('run_start', sa.Date(), nullable=True),
    sa.Column('last_period', sa.Date(), nullable=True),
    sa.Column('longest', sa.Integer(), nullable=False),
    sa.Column('updated_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'streak_id', 'member_id', name='uq_member_streaks_member')
    )
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        # Existing rewards are open to every plan.
        batch_op.add_column(sa.Column('plans', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))



def downgrade() -> None:
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.drop_column('plans')

    op.drop_table('member_streaks')
    op.drop_table('leaderboard_profiles')
    with op.batch_alter_table('challenge_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_challenge_progress_rank')

    op.drop_table('challenge_progress')
    with op.batch_alter_table('achievement_awards', schema=None) as batch_op:
        batch_op.drop_index('uq_achievement_awards_held', sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))
        batch_op.drop_index('ix_achievement_awards_member')

    op.drop_table('achievement_awards')
    op.drop_table('streaks')
    op.drop_table('challenges')
    op.drop_table('badges')

"""messages to members: channels, policy, templates and journeys per tenant; the send log, suppressed
addresses, reminders announced, campaigns; WhatsApp consent and the history of every consent change
(consent given before it is recorded once, as of enrolment, with the source "before_history")

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 14:17:13
"""
import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('member_consent_changes',
    sa.Column('id', Id, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('at', When, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('member_consent_changes', schema=None) as batch_op:
        batch_op.create_index('ix_member_consent_changes', ['tenant_id', 'member_id', 'id'], unique=False)

    op.create_table('member_messages',
    sa.Column('id', Id, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('campaign_id', sa.BigInteger(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=True),
    sa.Column('address', sa.String(length=254), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('provider_id', sa.String(length=200), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', When, nullable=False),
    sa.Column('leased_until', When, nullable=True),
    sa.Column('created_at', When, nullable=False),
    sa.Column('sent_at', When, nullable=True),
    sa.Column('updated_at', When, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('member_messages', schema=None) as batch_op:
        batch_op.create_index('ix_member_messages_campaign', ['campaign_id', 'status'], unique=False, sqlite_where=sa.text('campaign_id IS NOT NULL'),
            postgresql_where=sa.text('campaign_id IS NOT NULL'))
        batch_op.create_index('ix_member_messages_due', ['due_at'], unique=False, sqlite_where=sa.text("status = 'queued'"),
            postgresql_where=sa.text("status = 'queued'"))
        batch_op.create_index('ix_member_messages_member', ['tenant_id', 'member_id', 'id'], unique=False)
        batch_op.create_index('ix_member_messages_tenant', ['tenant_id', 'id'], unique=False)
        batch_op.create_index('uq_member_message_dedupe', ['tenant_id', 'dedupe_key'], unique=True)
        batch_op.create_index('uq_member_message_id', ['message_id'], unique=True)

    op.create_table('member_reminders',
    sa.Column('id', Id, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('created_at', When, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('member_reminders', schema=None) as batch_op:
        batch_op.create_index('uq_member_reminder', ['tenant_id', 'member_id', 'kind', 'key'], unique=True)

    op.create_table('message_campaign_members',
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('holdout', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'member_id')
    )
    with op.batch_alter_table('message_campaign_members', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_members_holdout', ['campaign_id', 'holdout'], unique=False)

    op.create_table('message_campaigns',
    sa.Column('id', Id, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.JSON(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('send_at', When, nullable=False),
    sa.Column('holdout_percent', sa.Integer(), nullable=False),
    sa.Column('lift_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('audience_count', sa.Integer(), nullable=False),
    sa.Column('holdout_count', sa.Integer(), nullable=False),
    sa.Column('created_at', When, nullable=False),
    sa.Column('started_at', When, nullable=True),
    sa.Column('finished_at', When, nullable=True),
    sa.Column('updated_at', When, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_message_campaigns_due', ['send_at'], unique=False, sqlite_where=sa.text("status = 'scheduled'"),
            postgresql_where=sa.text("status = 'scheduled'"))
        batch_op.create_index('ix_message_campaigns_tenant', ['tenant_id', 'id'], unique=False)

    op.create_table('message_channels',
    sa.Column('id', Id, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', When, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_channels', schema=None) as batch_op:
        batch_op.create_index('uq_message_channel', ['tenant_id', 'channel'], unique=True)

    op.create_table('message_keys',
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('created_at', When, nullable=False),
    sa.PrimaryKeyConstraint('tenant_id')
    )
    op.create_table('message_cursors',
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id')
    )
    op.create_table('message_journeys',
    sa.Column('id', Id, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('updated_at', When, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_journeys', schema=None) as batch_op:
        batch_op.create_index('uq_message_journey', ['tenant_id', 'kind'], unique=True)

    op.create_table('message_policies',
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('quiet_start', sa.String(length=5), nullable=False),
    sa.Column('quiet_end', sa.String(length=5), nullable=False),
    sa.Column('daily_cap', sa.Integer(), nullable=False),
    sa.Column('weekly_cap', sa.Integer(), nullable=False),
    sa.Column('updated_at', When, nullable=False),
    sa.PrimaryKeyConstraint('tenant_id')
    )
    op.create_table('message_suppressions',
    sa.Column('id', Id, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('created_at', When, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_suppressions', schema=None) as batch_op:
        batch_op.create_index('uq_message_suppression', ['tenant_id', 'channel', 'address'], unique=True)

    op.create_table('message_templates',
    sa.Column('id', Id, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', When, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.create_index('uq_message_template', ['tenant_id', 'kind', 'channel', 'language'], unique=True)

    # Natively on SQLite too (ADD COLUMN with a default): a batch copy of members would break the keys that point at it.
    op.add_column('members', sa.Column('consent_whatsapp', sa.Boolean(), nullable=False, server_default=sa.false()))
    # The consent members gave before changes were recorded: one row per channel consented to.
    for channel, column in (('email', 'consent_email'), ('sms', 'consent_sms'), ('push', 'consent_push')):
        members = sa.table('members', sa.column('tenant_id'), sa.column('id'), sa.column('enrolled_at'), sa.column(column))
        changes = sa.table('member_consent_changes', *(sa.column(c) for c in ('tenant_id', 'member_id', 'channel', 'granted', 'source', 'at')))
        op.execute(changes.insert().from_select(
            ['tenant_id', 'member_id', 'channel', 'granted', 'source', 'at'],
            sa.select(members.c.tenant_id, members.c.id, sa.literal(channel), sa.true(), sa.literal('before_history'), members.c.enrolled_at)
            .where(members.c[column].is_(True)),
        ))



def downgrade() -> None:
    # Natively (SQLite 3.35+ drops a column in place): a batch copy of members would break the keys that point at it.
    op.drop_column('members', 'consent_whatsapp')

    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.drop_index('uq_message_template')

    op.drop_table('message_templates')
    with op.batch_alter_table('message_suppressions', schema=None) as batch_op:
        batch_op.drop_index('uq_message_suppression')

    op.drop_table('message_suppressions')
    op.drop_table('message_policies')
    with op.batch_alter_table('message_journeys', schema=None) as batch_op:
        batch_op.drop_index('uq_message_journey')

    op.drop_table('message_journeys')
    op.drop_table('message_cursors')
    op.drop_table('message_keys')
    with op.batch_alter_table('message_channels', schema=None) as batch_op:
        batch_op.drop_index('uq_message_channel')

    op.drop_table('message_channels')
    with op.batch_alter_table('message_campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_message_campaigns_tenant')
        batch_op.drop_index('ix_message_campaigns_due', sqlite_where=sa.text("status = 'scheduled'"),
            postgresql_where=sa.text("status = 'scheduled'"))

    op.drop_table('message_campaigns')
    with op.batch_alter_table('message_campaign_members', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_members_holdout')

    op.drop_table('message_campaign_members')
    with op.batch_alter_table('member_reminders', schema=None) as batch_op:
        batch_op.drop_index('uq_member_reminder')

    op.drop_table('member_reminders')
    with op.batch_alter_table('member_messages', schema=None) as batch_op:
        batch_op.drop_index('uq_member_message_id')
        batch_op.drop_index('uq_member_message_dedupe')
        batch_op.drop_index('ix_member_messages_member')
        batch_op.drop_index('ix_member_messages_tenant')
        batch_op.drop_index('ix_member_messages_due', sqlite_where=sa.text("status = 'queued'"), postgresql_where=sa.text("status = 'queued'"))
        batch_op.drop_index('ix_member_messages_campaign', sqlite_where=sa.text('campaign_id IS NOT NULL'),
            postgresql_where=sa.text('campaign_id IS NOT NULL'))

    op.drop_table('member_messages')
    with op.batch_alter_table('member_consent_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_member_consent_changes')

    op.drop_table('member_consent_changes')

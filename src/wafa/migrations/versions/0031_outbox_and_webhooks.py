"""outbox and webhooks: messages written with the changes they report, numbered per tenant after
commit; webhook endpoints, their deliveries and every attempt

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-09 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'outbox_messages',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('message_id', sa.String(length=40), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=True),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.BigInteger(), nullable=True),
        sa.Column('occurred_at', When, nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
    )
    op.create_index('uq_outbox_tenant_seq', 'outbox_messages', ['tenant_id', 'seq'], unique=True)
    op.create_index('uq_outbox_message_id', 'outbox_messages', ['message_id'], unique=True)
    op.create_index('ix_outbox_unsequenced', 'outbox_messages', ['tenant_id', 'id'],
                    postgresql_where=sa.text('seq IS NULL'), sqlite_where=sa.text('seq IS NULL'))
    op.create_index('ix_outbox_created', 'outbox_messages', ['created_at'])
    op.create_table(
        'outbox_sequences',
        sa.Column('tenant_id', Id, primary_key=True, autoincrement=False),
        sa.Column('last_seq', sa.BigInteger(), nullable=False),
    )
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=True),
        sa.Column('event_types', sa.JSON(), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('previous_secret', sa.String(length=100), nullable=True),
        sa.Column('previous_secret_until', When, nullable=True),
        sa.Column('failing_since', When, nullable=True),
        sa.Column('disabled_reason', sa.String(length=500), nullable=True),
        sa.Column('from_seq', sa.BigInteger(), nullable=False),
        sa.Column('created_at', When, nullable=False),
        sa.Column('updated_at', When, nullable=False),
    )
    op.create_index('ix_webhook_endpoints_tenant', 'webhook_endpoints', ['tenant_id', 'id'])
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('endpoint_id', sa.BigInteger(), nullable=False),
        sa.Column('message_pk', sa.BigInteger(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('member_id', sa.BigInteger(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', When, nullable=False),
        sa.Column('leased_until', When, nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.Column('finished_at', When, nullable=True),
    )
    op.create_index('uq_webhook_delivery', 'webhook_deliveries', ['endpoint_id', 'message_pk'], unique=True)
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['next_attempt_at'],
                    postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
    op.create_index('ix_webhook_deliveries_member', 'webhook_deliveries', ['endpoint_id', 'member_id', 'seq'],
                    postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
    op.create_index('ix_webhook_deliveries_tenant', 'webhook_deliveries', ['tenant_id', 'endpoint_id', 'id'])
    op.create_table(
        'webhook_attempts',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('delivery_id', sa.BigInteger(), nullable=False),
        sa.Column('endpoint_id', sa.BigInteger(), nullable=False),
        sa.Column('attempted_at', When, nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('latency_ms', sa.Integer(), nullable=False),
        sa.Column('response', sa.Text(), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
    )
    op.create_index('ix_webhook_attempts_delivery', 'webhook_attempts', ['delivery_id', 'id'])
    op.create_index('ix_webhook_attempts_at', 'webhook_attempts', ['attempted_at'])


def downgrade() -> None:
    for table in ('webhook_attempts', 'webhook_deliveries', 'webhook_endpoints', 'outbox_sequences', 'outbox_messages'):
        op.drop_table(table)

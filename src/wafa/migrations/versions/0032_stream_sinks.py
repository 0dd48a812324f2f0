"""stream sinks: a tenant's outbox streamed to its own RabbitMQ exchange or NATS JetStream stream, with
the last sequence number the broker confirmed

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-16 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'stream_sinks',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('target', sa.String(length=100), nullable=False),
        sa.Column('subject_prefix', sa.String(length=100), nullable=False),
        sa.Column('event_types', sa.JSON(), nullable=True),
        sa.Column('description', sa.String(length=500), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('acked_seq', sa.BigInteger(), nullable=False),
        sa.Column('leased_until', When, nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('failing_since', When, nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.Column('updated_at', When, nullable=False),
    )
    op.create_index('ix_stream_sinks_tenant', 'stream_sinks', ['tenant_id', 'id'])


def downgrade() -> None:
    op.drop_table('stream_sinks')

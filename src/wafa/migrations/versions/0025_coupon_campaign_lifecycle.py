"""coupon campaigns after creation: pause, extend

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 20:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A campaign can be paused and resumed after its codes are out; existing campaigns are running.
    with op.batch_alter_table('coupon_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='active'))


def downgrade() -> None:
    with op.batch_alter_table('coupon_campaigns', schema=None) as batch_op:
        batch_op.drop_column('status')

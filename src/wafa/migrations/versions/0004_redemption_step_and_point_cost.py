"""redemption step and point cost

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:36:48.283432
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redemption_step', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('point_cost', sa.String(length=24), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('point_cost')
        batch_op.drop_column('redemption_step')


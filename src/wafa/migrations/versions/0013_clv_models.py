"""lifetime-value models

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 00:40:00
"""
import sqlalchemy as sa
from alembic import op

import wafa.db

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clv_models',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('calibration_end', sa.Date(), nullable=False),
    sa.Column('holdout_end', sa.Date(), nullable=True),
    sa.Column('unit', sa.String(length=8), nullable=False),
    sa.Column('bgnbd', sa.JSON(), nullable=False),
    sa.Column('gamma_gamma', sa.JSON(), nullable=True),
    sa.Column('diagnostics', sa.JSON(), nullable=False),
    sa.Column('fitted_at', wafa.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('clv_models', schema=None) as batch_op:
        batch_op.create_index('ix_clv_models_tenant', ['tenant_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('clv_models', schema=None) as batch_op:
        batch_op.drop_index('ix_clv_models_tenant')
    op.drop_table('clv_models')

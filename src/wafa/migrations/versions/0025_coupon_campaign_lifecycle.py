"""coupon campaigns after creation: pause, extend

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 20:40:00
"""
from alembic import op
import sqlalchemy as sa
import wafa.db


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

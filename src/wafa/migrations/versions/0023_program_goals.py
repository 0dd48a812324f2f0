"""program goals: targets for chosen KPIs over a period

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 20:40:00
"""
from alembic import op
import sqlalchemy as sa
import wafa.db


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

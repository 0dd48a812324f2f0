"""tenants: an Arabic name beside the name

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 20:40:00
"""
from alembic import op
import sqlalchemy as sa
import wafa.db


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

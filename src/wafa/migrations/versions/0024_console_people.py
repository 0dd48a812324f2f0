"""console people: invitations, password resets, roles

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 20:40:00
"""
from alembic import op
import sqlalchemy as sa
import wafa.db


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

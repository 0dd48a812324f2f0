"""tenants: an Arabic name beside the name, and the names of the program's own benefits

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 20:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch: rebuilding `tenants` on SQLite would drop a table every other table
# refers to (refused with foreign keys on); SQLite adds and (since 3.35) drops a column in place.
def upgrade() -> None:
    op.add_column('tenants', sa.Column('name_ar', sa.String(length=200), nullable=True))
    op.add_column('tenants', sa.Column('benefit_names', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('tenants', 'benefit_names')
    op.drop_column('tenants', 'name_ar')

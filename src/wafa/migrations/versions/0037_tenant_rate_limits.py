"""A tenant's own API rate limits by route class (NULL: the server's defaults, WAFA_RATE_*).

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 21:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


# Plain ALTER TABLE (SQLite adds and drops a column in place): a batch operation would rebuild `tenants`,
# which other tables' foreign keys name.
def upgrade() -> None:
    op.add_column('tenants', sa.Column('rate_limits', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('tenants', 'rate_limits')

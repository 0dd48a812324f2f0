"""category totals: a member's purchases per UTC day, currency and category of their lines

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-09 00:00:00

Badges and challenges that count a category's spend or orders, or how many categories a member
bought from, read these instead of decoding every order. What is recorded already is computed here
from the orders, by the code `wafa totals verify` recomputes them with (the order's paid amount
shared by list price is Python's arithmetic, not SQL's).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    table = op.create_table(
        'member_category_days',
        sa.Column('tenant_id', Id, nullable=False),
        sa.Column('member_id', sa.BigInteger(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('category', sa.String(length=64), nullable=False),
        sa.Column('kept', sa.BigInteger(), nullable=False),
        sa.Column('orders', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'member_id', 'day', 'currency', 'category'),
    )
    from wafa.events import category_totals  # the arithmetic of the running code, once

    rows = [
        {"tenant_id": t, "member_id": m, "day": d, "currency": c, "category": g, "kept": k, "orders": o}
        for (t, m, d, c, g), (k, o) in category_totals.recomputed(Session(bind=op.get_bind())).items()
    ]
    for start in range(0, len(rows), 10_000):
        op.get_bind().execute(table.insert(), rows[start:start + 10_000])


def downgrade() -> None:
    op.drop_table('member_category_days')

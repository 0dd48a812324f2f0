"""backfill: trial plans and which credit each return took back

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 00:20:00

Before 0011 a membership never changed plan, so a membership that is trialing, or whose trial
converted, began with its plan's trial. Before 0011 a return's claw-back did not name the credit it
took back; it is the purchase's own earn entry (the lot of the purchase event), so points earned count
a return on the purchase's date for history as well.
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE memberships SET trial_plan_id = plan_id WHERE trial_plan_id IS NULL AND (status = 'trialing' OR id IN "
        "(SELECT membership_id FROM membership_log WHERE type = 'converted'))"
    )
    op.execute(
        "UPDATE entries SET reverses_entry_id = ("
        " SELECT MIN(lots.entry_id) FROM events AS returned"
        " JOIN lots ON lots.tenant_id = returned.tenant_id AND lots.event_id = returned.purchase_event_id"
        " WHERE returned.id = entries.event_id AND returned.type = 'return')"
        " WHERE reverses_entry_id IS NULL AND kind = 'reverse' AND idempotency_key LIKE 'return:event:%'"
    )


def downgrade() -> None:
    pass  # the columns stay; 0011's downgrade drops trial_plan_id

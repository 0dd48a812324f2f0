"""The earn hot path on PostgreSQL: a member's purchase in one statement (its ledger part, the earn
entry and everything it writes, comes from ledger/earn_statement.py).

Round trips, not SQL work, set the ceiling of the earn path (see ARCHITECTURE.md, "The hot path"),
so on PostgreSQL a purchase by a member is one data-modifying CTE that finds the member, records the
event, writes the earn entry, bumps the member account's balance and hash chain, writes both
postings and the lot, adds to the member's running totals of the day (and of its categories), writes its points.earned
message to the outbox, and keeps the answer's balance
and reason for replays (`event_outcomes`).
It writes exactly the rows that `events.service.record_purchase` writes through the ledger service
on SQLite (the same tests run on both, and `ledger verify` re-derives
every hash), which is why it is the one place that touches other domains' tables directly.

It returns None when the slow path must decide: an unknown member or a repeated order id. In
both cases the statement wrote nothing, so it can run outside a transaction (autocommit): the
whole purchase is then one round trip.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from wafa.day_windows import day_of
from wafa.events import category_totals, purchase_totals
from wafa.ledger import money as ledger_money
from wafa.ledger.earn_statement import EARN_CTES
from wafa.ledger.money import Money
from wafa.outbox import service as outbox

_SQL = """
WITH m AS (
    SELECT id, status FROM members WHERE tenant_id = %(t)s AND {member_match}
),
ev AS (
    INSERT INTO events (tenant_id, type, member_id, order_id, currency, amount, returned_amount, points,
                        points_reversed, items, channel, store, request_hash, occurred_at, received_at, partner_id)
    SELECT %(t)s, 'purchase', m.id, %(order_id)s, %(currency)s, %(amount)s, 0,
           CASE WHEN m.status = 'active' THEN %(points)s ELSE 0 END, 0, %(items)s::json, %(channel)s, %(store)s,
           %(request_hash)s, %(occurred_at)s, %(now)s, %(partner)s::bigint
    FROM m
    ON CONFLICT (tenant_id, order_id) WHERE type = 'purchase' DO NOTHING
    RETURNING id, member_id, points
),
{earn},
{purchase_day},
{category_day},
{outbox},
oc AS (
    -- What the answer says, kept for its replays: the balance just after the earn (every sub-statement
    -- reads the accounts as they were before it, so the credited one comes from `acc`), and the reason
    -- nothing was awarded, in the slow path's words.
    INSERT INTO event_outcomes (event_id, tenant_id, balance, not_awarded_reason)
    SELECT ev.id, %(t)s,
           CASE WHEN en.id IS NOT NULL THEN (
               SELECT json_object_agg(a.kind, CASE WHEN a.kind = %(target)s THEN acc.balance ELSE a.balance END)
               FROM accounts AS a WHERE a.tenant_id = %(t)s AND a.owner = 'member:' || m.id AND a.unit = 'PTS'
           ) END,
           CASE WHEN m.status <> 'active' THEN 'member is ' || m.status
                WHEN en.id IS NULL THEN 'amount earns less than one point' END
    FROM m
    JOIN ev ON true
    LEFT JOIN en ON true
    LEFT JOIN acc ON true
    RETURNING balance, not_awarded_reason
)
SELECT m.id, m.status, ev.id, ev.points, en.id, lo.id, oc.balance, oc.not_awarded_reason
FROM m
LEFT JOIN ev ON true
LEFT JOIN en ON true
LEFT JOIN lo ON true
LEFT JOIN oc ON true
"""

# The ledger writes its own rows (ledger/earn_statement.py); this statement adds the event around them.
_BY_EXTERNAL_ID = _SQL.format(member_match="external_id = %(member)s", earn=EARN_CTES, purchase_day=purchase_totals.DAY_CTE,
                         category_day=category_totals.CATEGORY_CTE, outbox=outbox.EARNED_CTE)
_BY_ID = _SQL.format(member_match="id = %(member)s", earn=EARN_CTES, purchase_day=purchase_totals.DAY_CTE,
                         category_day=category_totals.CATEGORY_CTE, outbox=outbox.EARNED_CTE)


def purchase(
    session: Session,
    *,
    tenant_id: int,
    member_external_id: str | None,
    member_id: int | None,
    order_id: str,
    currency: str,
    amount: int,
    points: int,
    items: list[dict[str, Any]] | None,
    channel: str | None,
    store: str | None,
    request_hash: str,
    occurred_at: datetime,
    now: datetime,
    reason: str,
    details: dict[str, Any],
    issued_account_id: int,
    available_at: datetime,
    expires_at: datetime | None,
    money: Money | None = None,
) -> dict[str, Any] | None:
    """Record a member's purchase and its earn in one statement (at a coalition partner: with the money
    it pays for the points, `money`); None if the slow path must decide."""
    released = available_at <= now
    if money is not None:
        details = ledger_money.coalition_details(details, money)
    params = {
        "t": tenant_id,
        "member": member_external_id if member_external_id is not None else member_id,
        "order_id": order_id,
        "currency": currency,
        "amount": amount,
        "points": points,
        "items": orjson.dumps(items).decode() if items is not None else None,
        "channel": channel,
        "store": store,
        "request_hash": request_hash,
        "occurred_at": occurred_at,
        "now": now,
        "reason": reason,
        "details": orjson.dumps(details).decode(),
        "target": "available" if released else "pending",
        "issued": issued_account_id,
        "released": released,
        "available_at": available_at,
        "expires_at": expires_at,
        "today": day_of(now),
        "occurred_day": day_of(occurred_at),
        "categories": category_totals.as_json(category_totals.shares(amount, 0, items, None)),
        "outbox_id": outbox.new_id(),
        "outbox_payload": orjson.dumps(outbox.earned_payload(
            status="available" if released else "pending", available_at=available_at, expires_at=expires_at, kind="earn",
            reason=reason, order_id=order_id,
        ) | ({"partner_id": money.partner_id} if money is not None and money.partner_id is not None else {})).decode(),
        **ledger_money.statement_params(money, tenant_id=tenant_id),
    }
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_BY_EXTERNAL_ID if member_external_id is not None else _BY_ID, params)
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:
        return None  # unknown member
    member, status, event_id, awarded, entry_id, lot_id, balances, not_awarded_reason = row
    if event_id is None:
        return None  # the order id exists: replay or conflict
    if entry_id is not None:
        session.info.setdefault("entry_kinds", []).append("earn")
    return {
        "member_id": member,
        "status": status,
        "event_id": event_id,
        "points": awarded,
        "entry_id": entry_id,
        "lot_id": lot_id,
        "released": released,
        "balances": balances,
        "not_awarded_reason": not_awarded_reason,
    }

"""PostgreSQL's purchase when rules or reactions decide (hotpath.py has the purchase nothing decides on):
one statement reads and locks, Python decides, one statement writes.

`read` locks the member's two points accounts (in id order, as `ledger.lock_accounts` does, so it
takes turns with returns, releases and redemptions exactly as the ORM path does) and then, in the same
round trip, reads the member and what the decision needs: their tier, their purchase count when a rule asks which purchase this
is, and what the capped rules gave them this day, week, month and ever. events.service decides with
the same engine and arithmetic as the ORM path, and `write` writes the event, the earn entry with its
postings, lot, debt repayment and points earned (ledger/earn_statement.py), the cashback entry, the
rule awards, the day's purchase totals and the kept answer, set-based, in one statement.

Before it writes, the caller can still leave the purchase to the ORM path (nothing is written; the
locks are the ones that path takes first anyway). The parity tests run the same purchases through
both paths and compare every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import psycopg
from sqlalchemy.orm import Session

from wafa.day_windows import day_of
from wafa.events import category_totals, purchase_totals
from wafa.ledger import money as ledger_money
from wafa.ledger.earn_statement import CASHBACK_CTES, EARN_CTES
from wafa.outbox import service as outbox
from wafa.rules import engine
from wafa.rules import service as rules

# Two statements sent together (one round trip, psycopg's pipeline mode): the lock, then the read. Each
# statement of a READ COMMITTED transaction sees what was committed when it began, so what the read
# returns (caps used, the tier, purchases so far) must be read by a statement that starts after the
# lock is held: a concurrent purchase of the same member has committed by then.
_LOCK = """
SELECT a.id FROM accounts AS a
WHERE a.tenant_id = %(t)s
  AND a.owner = (SELECT 'member:' || id FROM members WHERE tenant_id = %(t)s AND {member_match})
  AND a.unit = 'PTS' AND a.kind IN ('available', 'pending')
ORDER BY a.id
FOR UPDATE
"""
_READ = """
SELECT m.id, m.status, m.locale, m.city, m.birth_date,
       (SELECT json_object_agg(a.kind, a.id) FROM accounts AS a
        WHERE a.tenant_id = %(t)s AND a.owner = 'member:' || m.id AND a.unit = 'PTS' AND a.kind IN ('available', 'pending')),
       {tier}, {number}, {usage}
FROM members AS m
WHERE m.tenant_id = %(t)s AND {member_match}
"""
_TIER = "(SELECT tier_id FROM member_tiers WHERE tenant_id = %(t)s AND member_id = m.id)"
_NUMBER = "(SELECT count(*) FROM events WHERE tenant_id = %(t)s AND type = 'purchase' AND member_id = m.id)"


@dataclass(frozen=True, slots=True)
class Read:
    """What the read statement found: the member, their locked accounts, and the decision's inputs."""

    member_id: int
    status: str
    locale: str | None
    city: str | None
    birth_date: date | None
    accounts: dict[str, int]
    tier_id: int | None
    purchases_before: int
    per_member: dict[int, tuple[int, int, int, int]]


def _cursor(session: Session) -> Any:
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def read(
    session: Session, *, tenant_id: int, member_external_id: str | None, member_id: int | None, with_tier: bool,
    rules_: Sequence[engine.Rule], occurred_at: datetime, timezone: str,
) -> Read | None:
    """Find the member, lock their points accounts and read what deciding needs; None for an unknown member."""
    capped = [rule.id for rule in rules_ if rules.member_capped(rule)]
    member_match = "external_id = %(member)s" if member_external_id is not None else "id = %(member)s"
    statement = _READ.format(
        member_match=f"m.{member_match}",
        tier=_TIER if with_tier else "NULL",
        number=_NUMBER if engine.needs_purchase_number(rules_) else "0",
        usage=rules.USAGE_SQL.format(member_id_sql="m.id") if capped else "NULL",
    )
    params: dict[str, Any] = {"t": tenant_id, "member": member_external_id if member_external_id is not None else member_id}
    if capped:
        params.update(capped=capped, **rules.period_params(occurred_at, timezone))
    driver = session.connection().connection.driver_connection
    lock, found = driver.cursor(), driver.cursor()  # type: ignore[union-attr]
    try:
        if psycopg.Pipeline.is_supported():
            with driver.pipeline():  # type: ignore[union-attr]
                lock.execute(_LOCK.format(member_match=member_match), params)
                found.execute(statement, params)
                row = found.fetchone()
        else:
            lock.execute(_LOCK.format(member_match=member_match), params)
            found.execute(statement, params)
            row = found.fetchone()
    finally:
        lock.close()
        found.close()
    if row is None:
        return None
    member, status, locale, city, birth_date, accounts, tier_id, number, usage = row
    per_member = {int(r[0]): (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in usage or ()}
    return Read(member, status, locale, city, birth_date, accounts or {}, tier_id, int(number), per_member)


_WRITE = """
WITH ev AS (
    INSERT INTO events (tenant_id, type, member_id, order_id, currency, amount, returned_amount, points, points_reversed,
                        items, attributes, channel, store, request_hash, occurred_at, received_at)
    VALUES (%(t)s, 'purchase', %(member_id)s, %(order_id)s, %(currency)s, %(amount)s, 0, %(base_points)s, 0, %(items)s::json,
            %(attributes)s::json, %(channel)s, %(store)s, %(request_hash)s, %(occurred_at)s, %(now)s)
    ON CONFLICT (tenant_id, order_id) WHERE type = 'purchase' DO NOTHING
    RETURNING id, member_id, %(points)s::bigint AS points
),
{earn},
{cashback},
aw AS (
    -- rules.award_rows, in the order the rules applied; the points' entry and lot are this statement's.
    INSERT INTO rule_awards (tenant_id, event_id, member_id, rule_id, version, occurred_at, points, points_kept,
                             points_entry_id, points_lot_id, currency, cashback, cashback_kept, cashback_available_at,
                             cashback_released, stamps, stamps_kept, rewards, rewards_kept, capped_by)
    SELECT %(t)s, ev.id, ev.member_id, r.rule_id, r.version, %(occurred_at)s, r.points, r.points,
           CASE WHEN r.points <> 0 THEN en.id END, CASE WHEN r.points <> 0 THEN lo.id END, %(currency)s, r.cashback, r.cashback,
           r.cashback_available_at, r.cashback_released, coalesce(r.stamps, 'null'), coalesce(r.stamps, 'null'),
           coalesce(r.rewards, 'null'), coalesce(r.rewards, 'null'), r.capped_by
    FROM ev
    CROSS JOIN json_to_recordset(%(awards)s::json) AS r(
        n int, rule_id bigint, version int, points bigint, cashback bigint, cashback_available_at timestamptz,
        cashback_released boolean, stamps json, rewards json, capped_by text)
    LEFT JOIN en ON true
    LEFT JOIN lo ON true
    ORDER BY r.n
),
{purchase_day},
{category_day},
{outbox},
{wallet_outbox},
oc AS (
    -- The answer's balance (with the earn's account as `acc` left it) and reason, kept for replays.
    INSERT INTO event_outcomes (event_id, tenant_id, balance, not_awarded_reason)
    SELECT ev.id, %(t)s,
           CASE WHEN en.id IS NOT NULL OR %(with_balance)s THEN (
               SELECT json_object_agg(a.kind, CASE WHEN a.id = acc.id THEN acc.balance ELSE a.balance END)
               FROM accounts AS a WHERE a.tenant_id = %(t)s AND a.owner = 'member:' || ev.member_id AND a.unit = 'PTS'
           ) END,
           %(not_awarded_reason)s
    FROM ev
    LEFT JOIN en ON true
    LEFT JOIN acc ON true
    WHERE %(keep_outcome)s
    RETURNING balance
)
SELECT ev.id, en.id, lo.id, cb.id, oc.balance
FROM (SELECT 1) AS one
LEFT JOIN ev ON true
LEFT JOIN en ON true
LEFT JOIN lo ON true
LEFT JOIN cb ON true
LEFT JOIN oc ON true
"""
_WRITE_SQL = _WRITE.format(
    earn=EARN_CTES, cashback=CASHBACK_CTES, purchase_day=purchase_totals.DAY_CTE, category_day=category_totals.CATEGORY_CTE,
    outbox=outbox.EARNED_CTE, wallet_outbox=outbox.WALLET_CTE,
)


@dataclass(frozen=True, slots=True)
class Cashback:
    """The cashback entry to write: amount (minor units), currency, and the accounts on both sides."""

    amount: int
    currency: str
    source_account_id: int
    wallet_account_id: int
    reason: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Written:
    """What the write statement wrote (event_id None: the order id exists, nothing was written)."""

    event_id: int | None
    entry_id: int | None
    lot_id: int | None
    cashback_entry_id: int | None
    balance: dict[str, int] | None


def write(
    session: Session, *, tenant_id: int, member_id: int, order_id: str, currency: str, amount: int, base_points: int,
    points: int, items: list[dict[str, Any]] | None, attributes: dict[str, Any] | None, channel: str | None,
    store: str | None, request_hash: str, occurred_at: datetime, now: datetime, reason: str, details: dict[str, Any] | None,
    issued_account_id: int, available_at: datetime, expires_at: datetime | None, awards: list[dict[str, Any]],
    cashback: Cashback | None, with_balance: bool, not_awarded_reason: str | None, keep_outcome: bool,
) -> Written:
    """Write a decided purchase: the event and everything it earns, in one statement; with `keep_outcome`,
    also the answer's balance and reason (without it, the caller keeps them once what reacts to the
    purchase has run: a tier's welcome points or a badge's change the balance the answer gives)."""
    released = available_at <= now
    params = {
        "t": tenant_id, "member_id": member_id, "order_id": order_id, "currency": currency, "amount": amount,
        "base_points": base_points, "points": points,
        # None as JSON null, as the ORM path stores it.
        "items": orjson.dumps(items).decode(),
        "attributes": orjson.dumps(attributes).decode(),
        "channel": channel, "store": store, "request_hash": request_hash, "occurred_at": occurred_at, "now": now,
        "reason": reason, "details": orjson.dumps(details).decode() if details is not None else None,
        "target": "available" if released else "pending", "issued": issued_account_id, "released": released,
        "available_at": available_at, "expires_at": expires_at, "today": day_of(now), "occurred_day": day_of(occurred_at),
        "categories": category_totals.as_json(category_totals.shares(amount, 0, items, None)),
        "outbox_id": outbox.new_id(),
        "outbox_payload": orjson.dumps(outbox.earned_payload(
            status="available" if released else "pending", available_at=available_at, expires_at=expires_at, kind="earn",
            reason=reason, order_id=(details or {}).get("order_id"),
        )).decode(),
        "awards": orjson.dumps([{**row, "n": n} for n, row in enumerate(awards)]).decode(),
        "cashback": cashback.amount if cashback else 0,
        "cashback_unit": cashback.currency if cashback else None,
        "cashback_source": cashback.source_account_id if cashback else None,
        "wallet": cashback.wallet_account_id if cashback else None,
        "cashback_reason": cashback.reason if cashback else None,
        "cashback_details": orjson.dumps(cashback.details).decode() if cashback else None,
        "wallet_outbox_id": outbox.new_id(),
        "wallet_outbox_payload": orjson.dumps(outbox.wallet_payload(
            amount=cashback.amount, currency=cashback.currency, status="available" if released else "pending", kind="cashback",
            reason=cashback.reason,
        ) if cashback else {}).decode(),
        "with_balance": with_balance, "not_awarded_reason": not_awarded_reason, "keep_outcome": keep_outcome,
        # A partner's purchase carries money and takes the ORM path (events/service.py): none here.
        **ledger_money.statement_params(None, tenant_id=tenant_id),
    }
    cursor = _cursor(session)
    try:
        cursor.execute(_WRITE_SQL, params)
        event_id, entry_id, lot_id, cashback_entry_id, balance = cursor.fetchone()
    finally:
        cursor.close()
    if entry_id is not None:
        session.info.setdefault("entry_kinds", []).append("earn")
    if cashback_entry_id is not None:
        session.info.setdefault("entry_kinds", []).append("cashback")
    return Written(event_id, entry_id, lot_id, cashback_entry_id, balance)

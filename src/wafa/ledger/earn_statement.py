"""The ledger's part of PostgreSQL's one-statement purchase (events/hotpath.py): the data-modifying
CTEs that write an earn entry for a new event, bump the member account's balance and hash chain, write
both postings, the lot (repaying a debt first) and its movement, and add to the member's points earned
of the day. They write exactly the rows `lots.credit` writes through `postings.post_entry` (the same
hash-chain payload as `postings.posting_payload`, the same debt repayment, the same totals), which the
parity tests and `wafa ledger verify` check; they live here so that the ledger's rows are written by
ledger code, whoever composes the statement.

`EARN_CTES` expects a preceding CTE named `ev` with columns `id` (the event), `member_id` and `points`
(0: nothing is written), and these parameters: %(t)s tenant, %(reason)s, %(details)s (JSON text),
%(now)s, %(target)s ('available' or 'pending'), %(issued)s (the program's issued account id),
%(released)s, %(available_at)s, %(expires_at)s and %(today)s (the UTC day of %(now)s), and the money a
coalition partner pays for the points (money.statement_params: %(partner)s, %(floor_key)s and the legs as
three arrays; no partner: NULLs and empty arrays). It defines `en` (the entry), `acc` (the member account
after the credit), `po`, `lo` (the lot), `mv` and `pe`.

`CASHBACK_CTES` writes what `wallet.credit_cashback` writes (an entry, its two postings, the member's
wallet account's balance and hash chain) for a rule's cashback on the same event: it expects `ev` and
%(cashback)s (minor units; 0 writes nothing), %(cashback_unit)s (the currency), %(cashback_source)s
(the program's cashback account in it), %(wallet)s (the member's wallet or pending wallet account),
%(cashback_reason)s and %(cashback_details)s (JSON text). It defines `cb` (the entry), `cba` and `cbp`.
"""

from __future__ import annotations

EARN_CTES = """
en AS (
    INSERT INTO entries (tenant_id, kind, idempotency_key, member_id, event_id, points, reason, details, created_at, partner_id)
    SELECT %(t)s, 'earn', 'earn:event:' || ev.id, ev.member_id, ev.id, ev.points, %(reason)s, %(details)s::json,
           -- Money for a partner is dated in its open settlement period (money.py: wafa_money_floor waits for a closing).
           CASE WHEN %(floor_key)s::bigint IS NULL THEN %(now)s
                ELSE GREATEST(%(now)s, coalesce(wafa_money_floor(%(t)s, %(partner)s::bigint, %(floor_key)s::bigint), %(now)s)) END,
           %(partner)s::bigint
    FROM ev WHERE ev.points > 0
    RETURNING id, member_id, event_id, points
),
acc AS (
    UPDATE accounts AS a
    SET balance = a.balance + en.points,
        seq = a.seq + 1,
        -- postings.posting_payload, in SQL: tenant|entry|account|unit|amount|kind
        last_hash = encode(sha256(convert_to(
            coalesce(a.last_hash, '') || %(t)s::text || '|' || en.id || '|' || a.id || '|PTS|' || en.points || '|earn',
            'UTF8')), 'hex')
    FROM en
    -- The owner as a scalar subquery: one value the index can seek to. Written as a join
    -- condition, the planner may scan every member's account of the tenant instead.
    WHERE a.tenant_id = %(t)s AND a.owner = (SELECT 'member:' || member_id FROM en)
      AND a.kind = %(target)s AND a.unit = 'PTS'
    RETURNING a.id, a.seq, a.last_hash, a.balance
),
po AS (
    INSERT INTO postings (tenant_id, entry_id, account_id, unit, amount, seq, hash)
    SELECT %(t)s, en.id, %(issued)s, 'PTS', -en.points, NULL, NULL FROM en
    UNION ALL
    SELECT %(t)s, en.id, acc.id, 'PTS', en.points, acc.seq, acc.last_hash FROM en, acc
    UNION ALL
    SELECT %(t)s, en.id, m.account, m.unit, m.amount, NULL, NULL
    FROM en, unnest(%(money_accounts)s::bigint[], %(money_units)s::text[], %(money_amounts)s::bigint[]) AS m(account, unit, amount)
),
lo AS (
    -- A member in debt repays it from the new points first (only points that land as available).
    INSERT INTO lots (tenant_id, member_id, entry_id, event_id, amount, remaining, released, available_at, expires_at)
    SELECT %(t)s, en.member_id, en.id, en.event_id, en.points,
           en.points - CASE WHEN %(released)s THEN LEAST(en.points, GREATEST(0, en.points - acc.balance)) ELSE 0 END,
           %(released)s, %(available_at)s, %(expires_at)s
    FROM en, acc
    RETURNING id, amount, remaining
),
mv AS (
    INSERT INTO lot_movements (tenant_id, entry_id, lot_id, amount)
    SELECT %(t)s, en.id, lo.id, lo.amount - lo.remaining FROM en, lo WHERE lo.amount > lo.remaining
),
pe AS (
    -- Points earned on this UTC day (ledger/earned.py).
    INSERT INTO member_points_earned (tenant_id, member_id, day, points)
    SELECT %(t)s, en.member_id, %(today)s, en.points FROM en
    ON CONFLICT (tenant_id, member_id, day) DO UPDATE SET points = member_points_earned.points + EXCLUDED.points
)"""


CASHBACK_CTES = """
cb AS (
    INSERT INTO entries (tenant_id, kind, idempotency_key, member_id, event_id, points, reason, details, created_at)
    SELECT %(t)s, 'cashback', 'cashback:event:' || ev.id, ev.member_id, ev.id, 0, %(cashback_reason)s,
           %(cashback_details)s::json, %(now)s
    FROM ev WHERE %(cashback)s > 0
    RETURNING id
),
cba AS (
    UPDATE accounts AS a
    SET balance = a.balance + %(cashback)s,
        seq = a.seq + 1,
        last_hash = encode(sha256(convert_to(
            coalesce(a.last_hash, '') || %(t)s::text || '|' || cb.id || '|' || a.id || '|' || %(cashback_unit)s || '|'
            || %(cashback)s || '|cashback',
            'UTF8')), 'hex')
    FROM cb
    WHERE a.tenant_id = %(t)s AND a.id = %(wallet)s
    RETURNING a.id, a.seq, a.last_hash
),
cbp AS (
    INSERT INTO postings (tenant_id, entry_id, account_id, unit, amount, seq, hash)
    SELECT %(t)s, cb.id, %(cashback_source)s, %(cashback_unit)s, -%(cashback)s, NULL, NULL FROM cb
    UNION ALL
    SELECT %(t)s, cb.id, cba.id, %(cashback_unit)s, %(cashback)s, cba.seq, cba.last_hash FROM cb, cba
)"""

"""PostgreSQL's two-statement purchase (read and lock, decide, write) writes exactly what the ORM path
writes: the same purchases, returns, replays and redemptions on two copies of one database, one with
each path, leave every table identical row for row (ids, hash chains and timestamps included) and
give identical answers."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from tests.conftest import PG_ENV, FrozenClock, drop_postgres_database, factory_for, migrated_postgres, new_postgres_database
from wafa.api.app import create_app
from wafa.db import unit_of_work
from wafa.events import service as events
from wafa.events import two_statement_purchase
from wafa.ledger.verify import verify
from wafa.tenants import service as tenants

# Differ between two runs by design: secrets are random, and caches of configuration are per process.
SKIPPED_TABLES = {"api_keys", "alembic_version", "config_versions"}
RANDOM_COLUMNS = {("coupons", "code"), ("members", "referral_code"), ("members", "card_token"), ("outbox_messages", "message_id")}
# One statement writes the earn's and the cashback's postings, and their two outbox messages, in an
# order PostgreSQL chooses: their ids may interleave differently (nothing reads postings by id; each
# account's chain is ordered by seq; the two messages report one purchase, at one moment).
UNORDERED_IDS = {"postings", "outbox_messages"}


def _program(client: TestClient) -> None:
    """Tiers, rules of every kind a purchase decides (multiplier, per unit, fixed, cashback, capped,
    budgeted, n-th purchase, stamps filling a card with a reward), a badge, a challenge and a streak."""

    def ok(response: Any) -> dict:
        assert response.status_code < 300, response.text
        return response.json()

    ok(client.put("/v1/tier-policy", json={"metric": "points_earned", "window": "rolling", "months": 12}))
    ok(client.post("/v1/tiers", json={"key": "silver", "name_en": "Silver", "name_ar": "فضي", "rank": 1, "threshold": "150",
                                      "benefits": {"earn_multiplier": "1.25", "welcome_points": 20}}))
    reward = ok(client.post("/v1/rewards", json={"key": "latte", "name_en": "Latte", "name_ar": "لاتيه", "points": 0,
                                                 "gives": {"type": "free_product", "sku": "LATTE"}}))
    ok(client.post("/v1/stamp-cards", json={"key": "coffee", "name_en": "Coffee", "name_ar": "بطاقة", "stamps_needed": 3,
                                            "reward_id": reward["id"]}))
    rule = {"name_ar": "قاعدة", "trigger": "purchase", "status": "active"}
    for definition in (
        {"name_en": "Weekend", "actions": [{"type": "multiplier", "factor": "1.5"}], "window": {"days_of_week": [5, 6]}},
        {"name_en": "Coffee points", "actions": [{"type": "points_per_unit", "points": "2", "match": {"categories": ["coffee"]}}]},
        {"name_en": "Big order", "conditions": [{"type": "order_amount", "at_least": "100.00"}],
         "actions": [{"type": "fixed_points", "points": 10}]},
        {"name_en": "App cashback", "conditions": [{"type": "channel", "any_of": ["app"]}],
         "actions": [{"type": "cashback", "percent": "2"}]},
        {"name_en": "Daily five", "actions": [{"type": "fixed_points", "points": 5}], "caps": {"per_member_day": 8}},
        {"name_en": "Launch budget", "actions": [{"type": "fixed_points", "points": 7}], "caps": {"budget_points": 30}},
        {"name_en": "Second visit", "conditions": [{"type": "nth_purchase", "n": 2}], "actions": [{"type": "fixed_points", "points": 25}]},
        {"name_en": "Stamps", "actions": [{"type": "stamps", "card": "coffee", "per_item": True, "match": {"categories": ["coffee"]}}]},
        {"name_en": "Silver bonus", "conditions": [{"type": "tier", "any_of": ["silver"]}], "actions": [{"type": "fixed_points", "points": 3}]},
    ):
        ok(client.post("/v1/rules", json={**rule, **definition}))
    ok(client.post("/v1/badges", json={"key": "regular", "name_en": "Regular", "name_ar": "شارة", "points": 15,
                                       "criterion": {"metric": "purchases", "at_least": "3"}}))
    now = client.app.state.clock.now()  # type: ignore[attr-defined]
    ok(client.post("/v1/challenges", json={
        "key": "spend", "name_en": "Spend", "name_ar": "تحدي", "goal": {"metric": "spend", "at_least": "300.00"}, "points": 40,
        "starts_at": (now - timedelta(days=30)).isoformat(), "ends_at": (now + timedelta(days=30)).isoformat(),
    }))
    ok(client.post("/v1/streaks", json={
        "key": "weekly", "name_en": "Weekly", "name_ar": "أسبوعي", "period": "week",
        "starts_at": (now - timedelta(days=60)).isoformat(), "milestones": [{"length": 2, "points": 12}],
    }))


def _story(client: TestClient, clock: FrozenClock) -> list[Any]:
    """Members, purchases (backdated, on the app and in store, coffee and not), replays and a conflict,
    a return, a redemption that leaves a debt when a return follows, and purchases after; the answers."""
    answers: list[Any] = []

    def record(response: Any) -> None:
        body = response.json()
        answers.append((response.status_code, body))

    member_ids = []
    for n in range(3):
        made = client.post("/v1/members", json={"external_id": f"m-{n}", "locale": "ar" if n else "en"})
        assert made.status_code == 201, made.text
        member_ids.append(made.json()["id"])
    start = clock.now()
    baskets = [
        ("120.00", "app", [("LATTE", "coffee", 2, "6.00"), ("MUG", "home", 1, "108.00")]),
        ("15.00", "store", [("ESP", "coffee", 3, "5.00")]),
        ("0.40", "store", None),
        ("250.00", "app", [("BEANS", "coffee", 5, "50.00")]),
        ("60.00", "app", None),
        ("33.33", "store", [("TEA", "tea", 1, "33.33")]),
    ]
    for n in range(14):
        amount, channel, lines = baskets[n % len(baskets)]
        body: dict[str, Any] = {"type": "purchase", "member": {"external_id": f"m-{n % 3}"}, "order_id": f"o-{n}", "amount": amount,
                                "currency": "SAR", "channel": channel}
        if lines:
            body["items"] = [{"sku": s, "category": c, "quantity": q, "unit_price": p} for s, c, q, p in lines]
        if n % 4 == 1:
            body["occurred_at"] = (clock.now() - timedelta(days=9, hours=n)).isoformat()
        record(client.post("/v1/events", json=body))
        if n == 5:
            record(client.post("/v1/events", json=body))  # a replay answers as the first time
            record(client.post("/v1/events", json={**body, "amount": "61.00"}))  # the same order id, other details
        clock.advance(timedelta(days=1, hours=3))
    # A return of part of one order and all of another, a redemption of everything, then a return that
    # leaves a debt, which the next purchase repays.
    record(client.post("/v1/events", json={"type": "return", "order_id": "o-3", "amount": "100.00"}))
    record(client.post("/v1/events", json={"type": "return", "order_id": "o-4"}))
    available = client.get(f"/v1/members/{member_ids[0]}/balance").json()["available"]
    if available > 0:
        record(client.post(f"/v1/members/{member_ids[0]}/adjustments", json={"points": -available, "reason": "spend all"},
                           headers={"Idempotency-Key": "spend-all"}))
    record(client.post("/v1/events", json={"type": "return", "order_id": "o-0"}))
    for n in range(14, 18):
        body = {"type": "purchase", "member": {"external_id": f"m-{n % 3}"}, "order_id": f"o-{n}", "amount": "80.00",
                "currency": "SAR", "channel": "app", "items": [{"sku": "LATTE", "category": "coffee", "quantity": 1, "unit_price": "80.00"}]}
        record(client.post("/v1/events", json=body))
        clock.advance(timedelta(hours=1))
    assert clock.now() > start
    return answers


def _tables(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in id (or key) order."""
    factory = factory_for(url)
    with unit_of_work(factory) as session:
        names = sorted(set(inspect(session.get_bind()).get_table_names()) - SKIPPED_TABLES)
        out = {}
        for name in names:
            described = inspect(session.get_bind()).get_columns(name)
            columns = [c["name"] for c in described]
            # JSON compared as values: the two paths serialise it with different spacing and escapes.
            as_text = [f'"{c["name"]}"::jsonb::text' if str(c["type"]) == "JSON" else f'"{c["name"]}"::text' for c in described]
            if name == "outbox_messages":  # a coupon.issued message carries the coupon's random code
                as_text = [f'("{c["name"]}"::jsonb - \'code\')::text' if c["name"] == "payload" else t
                           for c, t in zip(described, as_text, strict=True)]
            order = ", ".join(t for t, c in zip(as_text, columns, strict=True) if (name, c) not in RANDOM_COLUMNS)
            rows = session.execute(text(f'SELECT {", ".join(as_text)} FROM "{name}" ORDER BY {order}'))  # noqa: S608 (names from the inspector)
            out[name] = sorted(
                tuple((c, "random" if (name, c) in RANDOM_COLUMNS else v) for c, v in zip(columns, row, strict=True)
                      if not (c == "id" and name in UNORDERED_IDS))
                for row in rows
            )
    return out


@pytest.mark.parametrize("pending_days", [0, 14])
def test_the_two_statement_purchase_writes_what_the_orm_path_writes(monkeypatch, tmp_path_factory, pending_days) -> None:  # type: ignore[no-untyped-def]
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"needs {PG_ENV}")
    from tests.conftest import START

    template = migrated_postgres(tmp_path_factory)
    urls = [new_postgres_database(base, "wafa_parity", template=template) for _ in range(2)]
    written = []
    real_write = two_statement_purchase.write

    def counting_write(*args: Any, **kwargs: Any) -> Any:
        written.append(kwargs["order_id"])
        return real_write(*args, **kwargs)

    try:
        results = []
        for url, two_statements in zip(urls, (True, False), strict=True):
            clock = FrozenClock(START)
            factory = factory_for(url)
            with unit_of_work(factory) as session:
                tenant = tenants.create(session, name="Parity", slug="parity", currency="SAR", now=clock.now(), pending_days=pending_days,
                                        expiry={"policy": "end_of_month", "periods": 2})
                key = tenants.create_key(session, tenant_id=tenant.id, name="admin", scopes=["admin"], now=clock.now())
            if two_statements:
                monkeypatch.setattr(two_statement_purchase, "write", counting_write)
            else:
                monkeypatch.setattr(events, "_in_two_statements", lambda *a, **k: None)
            with TestClient(create_app(factory=factory, clock=clock), raise_server_exceptions=False) as client:
                client.headers["Authorization"] = f"Bearer {key.secret}"
                _program(client)
                answers = _story(client, clock)
            monkeypatch.undo()
            with unit_of_work(factory) as session:
                assert verify(session, tenant_id=tenant.id).ok
            results.append((answers, _tables(url)))
        (answers_two, tables_two), (answers_orm, tables_orm) = results
        assert len(written) >= 16  # the two-statement path took the purchases
        assert len(answers_two) == len(answers_orm)
        for n, (two, orm) in enumerate(zip(answers_two, answers_orm, strict=True)):
            assert two == orm, f"answer {n}: {two} != {orm}"
        assert tables_two.keys() == tables_orm.keys()
        for name in tables_two:
            assert len(tables_two[name]) == len(tables_orm[name]), name
            for two, orm in zip(tables_two[name], tables_orm[name], strict=True):
                assert dict(two) == dict(orm), (name, {k: (v, dict(orm)[k]) for k, v in two if dict(orm)[k] != v})
        # The story did what it says: every rule fired, a cap and the budget bit, cashback was paid, a
        # card filled and gave its reward, and the badge was earned.
        awards = [dict(row) for row in tables_two["rule_awards"]]
        assert len({row["rule_id"] for row in awards}) == 9
        assert {row["capped_by"] for row in awards} >= {"per_member_day", "budget_points"}
        assert any(dict(row)["kind"] == "cashback" for row in tables_two["entries"])
        assert any(dict(row)["source"] == "stamp_card" for row in tables_two.get("reward_grants", [])) or tables_two["stamp_cards"]
        assert tables_two["achievement_awards"]
    finally:
        from wafa.db import _factory

        _factory.cache_clear()
        for url in urls:
            drop_postgres_database(url)

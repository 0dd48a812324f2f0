"""KPIs on a generated history against an independent computation in plain Python: random members and
non-members, returns, two periods; plus the edge cases of a single member and non-members only."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import make_member, make_tenant
from wafa.db import unit_of_work
from wafa.events import returns
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn, ReturnIn

FEB = (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
PREVIOUS = (datetime(2026, 1, 4, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))  # the 28 days before


def generate(factory: sessionmaker[Session], *, seed: int, members_count: int, guests: bool = True) -> tuple:
    rng = random.Random(seed)
    tenant = make_tenant(factory, datetime(2025, 12, 1, tzinfo=UTC), pending_days=0)
    enrolled = {}
    for n in range(members_count):
        when = datetime(2025, 12, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 80))
        enrolled[make_member(factory, tenant.id, when, external_id=f"m{n}")] = when
    purchases = []  # (member or None, at, amount in halalas, returned halalas)
    with unit_of_work(factory) as session:
        for k in range(rng.randrange(60, 120)):
            member_id = rng.choice(list(enrolled)) if enrolled and (not guests or rng.random() < 0.7) else None
            at = datetime(2025, 12, 20, tzinfo=UTC) + timedelta(hours=rng.randrange(0, 24 * 70))
            amount = rng.randrange(100, 50_000)
            order = f"o{k}"
            events.record_purchase(session, tenant_id=tenant.id, request_hash=order, now=at, event_in=PurchaseIn(
                type="purchase", member=MemberRef(id=member_id) if member_id else None, order_id=order,
                amount=str(Decimal(amount) / 100), currency="SAR", occurred_at=at))
            back = 0
            if rng.random() < 0.15:
                back = amount if rng.random() < 0.5 else rng.randrange(1, amount)
                returns.record_return(session, tenant_id=tenant.id, now=at + timedelta(hours=1),
                                      event_in=ReturnIn(type="return", order_id=order, amount=str(Decimal(back) / 100)))
            purchases.append((member_id, at, amount, back))
    return tenant, enrolled, purchases


def expected(enrolled: dict, purchases: list) -> dict:
    """The KPIs of February, computed from the generated list alone."""
    def kept_in(window):
        return [(m, amount - back) for m, at, amount, back in purchases if window[0] <= at < window[1] and amount > back]

    now = kept_in(FEB)
    per: dict = defaultdict(lambda: [0, 0])
    for m, money in now:
        if m is not None:
            per[m][0] += 1
            per[m][1] += money
    guest = [money for m, money in now if m is None]
    member_orders = sum(v[0] for v in per.values())
    member_revenue = sum(v[1] for v in per.values())
    previously = {m for m, _ in kept_in(PREVIOUS) if m is not None}
    ranked = sorted((v[1] for v in per.values()), reverse=True)
    top = sum(ranked[: math.ceil(len(ranked) / 5)])
    lifetime: dict = defaultdict(int)
    for m, at, amount, back in purchases:
        if m is not None and at < FEB[1] and amount > back:
            lifetime[m] += amount - back
    r = lambda a, b: round(a / b, 6) if b else None  # noqa: E731
    return {
        "active_members": len(per), "orders": member_orders + len(guest), "member_orders": member_orders,
        "members_enrolled": sum(1 for when in enrolled.values() if FEB[0] <= when < FEB[1]),
        "participation_rate_orders": r(member_orders, member_orders + len(guest)),
        "participation_rate_revenue": r(member_revenue, member_revenue + sum(guest)),
        "retention_rate": r(len(previously & set(per)), len(previously)),
        "repeat_purchase_rate": r(sum(1 for v in per.values() if v[0] >= 2), len(per)),
        "purchase_frequency": r(member_orders, len(per)),
        "revenue": f"{Decimal(member_revenue + sum(guest)) / 100:.2f}",
        "aov_members": f"{(Decimal(member_revenue) / member_orders / 100).quantize(Decimal('0.01'))}" if member_orders else None,
        "top20_revenue_share": r(top, member_revenue),
        "historic_clv": f"{(Decimal(sum(lifetime.values())) / len(lifetime) / 100).quantize(Decimal('0.01'))}" if lifetime else None,
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_history_matches_an_independent_count(client: TestClient, factory: sessionmaker[Session], seed: int) -> None:
    tenant, enrolled, purchases = generate(factory, seed=seed, members_count=12)
    client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
    found = client.get("/v1/analytics/kpis", params={"from": "2026-02-01", "to": "2026-02-28", "compare": "none"}).json()["period"]
    want = expected(enrolled, purchases)
    assert {key: found[key] for key in want} == want


def test_a_single_member(client: TestClient, factory: sessionmaker[Session]) -> None:
    tenant, enrolled, purchases = generate(factory, seed=7, members_count=1, guests=False)
    client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
    found = client.get("/v1/analytics/kpis", params={"from": "2026-02-01", "to": "2026-02-28", "compare": "none"}).json()["period"]
    want = expected(enrolled, purchases)
    assert {key: found[key] for key in want} == want
    assert found["participation_rate_orders"] in (1.0, None) and found["top20_revenue_share"] in (1.0, None)


def test_non_members_only(client: TestClient, factory: sessionmaker[Session]) -> None:
    tenant, enrolled, purchases = generate(factory, seed=9, members_count=0)
    client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
    found = client.get("/v1/analytics/kpis", params={"from": "2026-02-01", "to": "2026-02-28", "compare": "none"}).json()["period"]
    assert (found["active_members"], found["member_orders"], found["participation_rate_orders"], found["aov_members"]) == (0, 0, 0.0, None)
    assert found["orders"] == expected(enrolled, purchases)["orders"] and found["aov_non_members"] is not None

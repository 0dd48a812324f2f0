"""Races on tiers, on PostgreSQL, with real threads and real connections.

Each thread runs its own transaction (`unit_of_work`) on its own pooled connection, released
together by a barrier. What must hold whatever the interleaving: one member's purchases at once
move them into each tier they cross exactly once, with the tier's welcome points credited once, and
two worker passes at once review each due member once (one grace, then one drop).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, factory_for, make_member, make_tenant
from tests.integration.test_concurrency import outcomes, race
from wafa.db import unit_of_work
from wafa.events import returns
from wafa.events import service as events
from wafa.events.schemas import PurchaseIn, ReturnIn
from wafa.jobs.service import PassReport, run_due
from wafa.ledger import service as ledger
from wafa.ledger.models import Entry
from wafa.ledger.verify import verify
from wafa.tiers import qualification
from wafa.tiers import service as tiers
from wafa.tiers.models import MemberTier, TierChange
from wafa.tiers.schemas import TierIn, TierPolicyIn

Factory = sessionmaker[Session]
pytestmark = pytest.mark.postgres_only

NOW = START


@pytest.fixture
def pg(pg_url: str) -> Factory:
    return factory_for(pg_url)


def set_ladder(factory: Factory, tenant_id: int, welcome: dict[str, int], **policy: object) -> dict[str, int]:
    """Points earned over a rolling year; silver at 1000 and gold at 3000 points. Key -> tier id."""
    with unit_of_work(factory) as session:
        tiers.set_policy(session, tenant_id=tenant_id, policy_in=TierPolicyIn(metric="points_earned", window="rolling", months=12, **policy),
                         now=NOW)
        ids = {}
        for key, rank, threshold in (("silver", 0, "1000"), ("gold", 1, "3000")):
            tier_in = TierIn(key=key, name_en=key.title(), name_ar=key, rank=rank, threshold=threshold,
                             benefits={"welcome_points": welcome.get(key, 0)})  # type: ignore[arg-type]
            ids[key] = tiers.create(session, tenant_id=tenant_id, tier_in=tier_in, now=NOW).id
    return ids


def purchase(factory: Factory, tenant_id: int, member_id: int, order_id: str, amount: str, now: datetime) -> int:
    body = PurchaseIn(type="purchase", member={"id": member_id}, order_id=order_id, amount=amount, currency="SAR")  # type: ignore[arg-type]
    with unit_of_work(factory) as session:
        result, _ = events.record_purchase(session, tenant_id=tenant_id, event_in=body, request_hash=order_id, now=now)
        return result.total_points


def give_back(factory: Factory, tenant_id: int, order_id: str, amount: str, now: datetime) -> None:
    with unit_of_work(factory) as session:
        returns.record_return(session, tenant_id=tenant_id, event_in=ReturnIn(type="return", order_id=order_id, amount=amount), now=now)


def changes(factory: Factory, tenant_id: int, member_id: int) -> list[tuple[int | None, int | None, str]]:
    """The member's tier changes, oldest first."""
    with factory() as session:
        rows = session.execute(
            select(TierChange.from_tier_id, TierChange.to_tier_id, TierChange.cause)
            .where(TierChange.tenant_id == tenant_id, TierChange.member_id == member_id).order_by(TierChange.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def member_tier(factory: Factory, tenant_id: int, member_id: int) -> MemberTier:
    with factory() as session:
        return session.execute(
            select(MemberTier).where(MemberTier.tenant_id == tenant_id, MemberTier.member_id == member_id)
        ).scalar_one()


def assert_ledger_intact(factory: Factory, tenant_id: int) -> None:
    with factory() as session:
        report = verify(session, tenant_id=tenant_id)
    assert report.ok, report.problems


def test_eight_purchases_at_once_cross_each_tier_once_and_welcome_once(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    ids = set_ladder(pg, tenant.id, welcome={"silver": 10, "gold": 100})
    member_id = make_member(pg, tenant.id, NOW)

    results = race(8, lambda i: purchase(pg, tenant.id, member_id, f"o-{i}", "500.00", NOW))

    assert outcomes(results) == {"ok": 8}, results
    assert sorted(results) == [500] * 8  # no multiplier on either tier
    # Whatever the order the purchases took turns in, the member went up the ladder one tier at a time.
    assert changes(pg, tenant.id, member_id) == [(None, ids["silver"], "qualified"), (ids["silver"], ids["gold"], "qualified")]
    assert member_tier(pg, tenant.id, member_id).tier_id == ids["gold"]
    with pg() as session:
        welcomes = Counter(session.execute(
            select(Entry.idempotency_key).where(Entry.tenant_id == tenant.id, Entry.idempotency_key.like("tier-welcome:%"))
        ).scalars())
        balances = ledger.balances(session, tenant_id=tenant.id, member_id=member_id)
        value = tiers.metric_value(session, tenant_id=tenant.id, member_id=member_id, now=NOW,
                                   rules=tiers.policy(session, tenant_id=tenant.id))
    assert welcomes == {f"tier-welcome:{member_id}:{ids['silver']}": 1, f"tier-welcome:{member_id}:{ids['gold']}": 1}
    assert balances["available"] + balances["pending"] == 8 * 500 + 10 + 100
    assert value == 8 * 500  # welcome points are a gift, not points earned towards a tier
    assert_ledger_intact(pg, tenant.id)


def test_two_worker_passes_at_once_review_each_due_member_once(pg: Factory) -> None:
    tenant = make_tenant(pg, NOW)
    ids = set_ladder(pg, tenant.id, welcome={}, grace_days=30, max_drop=1)
    keepers = [make_member(pg, tenant.id, NOW) for _ in range(5)]
    slipping = [make_member(pg, tenant.id, NOW) for _ in range(7)]
    for n, member_id in enumerate(keepers + slipping):
        purchase(pg, tenant.id, member_id, f"o-{n}", "3000.00", NOW)
    for n, _member_id in enumerate(slipping, start=len(keepers)):
        give_back(pg, tenant.id, f"o-{n}", "1.00", NOW)  # 2999 points: one short of gold, still gold until the review
    assert {member_tier(pg, tenant.id, m).tier_id for m in keepers + slipping} == {ids["gold"]}

    # The secured year ends; the purchases, made a year ago to the second, are still in the window.
    due = qualification.secured_until(NOW, window="rolling", months=12, timezone="UTC")
    reports = race(2, lambda i: run_due(pg, now=due, tenant_id=tenant.id, batch=3))

    assert not [r for r in reports if isinstance(r, Exception)], reports
    assert sum(r.tier_reviews for r in reports if isinstance(r, PassReport)) == len(keepers) + len(slipping)
    for member_id in keepers:
        row = member_tier(pg, tenant.id, member_id)
        assert (row.tier_id, row.grace_until) == (ids["gold"], None)
        assert row.review_at == qualification.secured_until(due, window="rolling", months=12, timezone="UTC")
        assert changes(pg, tenant.id, member_id) == [(None, ids["gold"], "qualified")]
    for member_id in slipping:
        row = member_tier(pg, tenant.id, member_id)
        assert (row.tier_id, row.grace_until, row.review_at) == (ids["gold"], due + timedelta(days=30), due + timedelta(days=30))
        assert changes(pg, tenant.id, member_id) == [(None, ids["gold"], "qualified"), (ids["gold"], ids["gold"], "grace")]

    # The grace period ends: two passes at once drop each slipping member one tier, once.
    over = due + timedelta(days=30)
    reports = race(2, lambda i: run_due(pg, now=over, tenant_id=tenant.id, batch=3))

    assert not [r for r in reports if isinstance(r, Exception)], reports
    assert sum(r.tier_reviews for r in reports if isinstance(r, PassReport)) == len(slipping)
    for member_id in slipping:
        row = member_tier(pg, tenant.id, member_id)
        assert (row.tier_id, row.grace_until) == (ids["silver"], None)
        assert changes(pg, tenant.id, member_id) == [
            (None, ids["gold"], "qualified"), (ids["gold"], ids["gold"], "grace"), (ids["gold"], ids["silver"], "review"),
        ]
    assert run_due(pg, now=over, tenant_id=tenant.id).tier_reviews == 0  # nothing left due
    assert_ledger_intact(pg, tenant.id)

"""Every message the demo program left in the outbox (months of enrolments, purchases, returns, tiers,
achievements, referrals, rewards, coupons, memberships, surveys and the worker's passes) matches its
type's schema in the catalog, on both databases; numbering them gives each tenant 1, 2, 3, ..."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from jsonschema import Draft202012Validator
from sqlalchemy import select

from tests.conftest import factory_for
from wafa.notify import webhooks
from wafa.outbox import catalog
from wafa.outbox.models import OutboxMessage


def test_the_demo_s_messages_match_the_catalog_and_are_numbered_in_order(demo_url: str) -> None:
    factory = factory_for(demo_url)
    webhooks.number_and_fan_out(factory, now=datetime.now(UTC))
    validators = {name: Draft202012Validator(catalog.schema_of(name)["properties"]["data"]) for name in catalog.TYPES}
    kinds: Counter[str] = Counter()
    with factory() as session:
        rows = session.execute(select(OutboxMessage).order_by(OutboxMessage.tenant_id, OutboxMessage.seq)).scalars().all()
        by_tenant: dict[int, list[int]] = {}
        for row in rows:
            kinds[row.type] += 1
            errors = [e.message for e in validators[row.type].iter_errors(row.payload)]
            assert not errors, (row.type, row.payload, errors)
            assert row.version == catalog.TYPES[row.type].version
            by_tenant.setdefault(row.tenant_id, []).append(int(row.seq or 0))
    for numbers in by_tenant.values():
        assert numbers == list(range(1, len(numbers) + 1))
    # What a program's months leave behind: most of the catalog.
    assert {"member.enrolled", "points.earned", "points.released", "points.redeemed", "tier.upgraded", "badge.earned",
            "referral.completed", "reward.redeemed", "coupon.issued", "coupon.redeemed", "membership.subscribed",
            "membership.renewed", "survey.answered"} <= set(kinds), kinds

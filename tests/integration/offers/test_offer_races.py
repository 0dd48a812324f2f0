"""Personal offers under races, on PostgreSQL with real threads and connections: tills redeeming one member's
capped offer at once pass its cap exactly (the copy is locked before its uses are counted), and activating an
offer twice at once gives each member one copy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, factory_for, make_member, make_tenant
from tests.integration.test_concurrency import outcomes, race
from wafa.db import unit_of_work
from wafa.ledger import service as ledger
from wafa.ledger.verify import verify
from wafa.offers import catalog, personal
from wafa.offers.models import MemberOffer
from wafa.offers.schemas import OfferIn
from wafa.programs import service as programs
from wafa.rewards import catalog as rewards
from wafa.rewards.schemas import RewardIn

Factory = sessionmaker[Session]
pytestmark = pytest.mark.postgres_only
NOW = START + timedelta(minutes=1)


@pytest.fixture
def pg(pg_url: str) -> Factory:
    return factory_for(pg_url)


def _offer(factory: Factory, tenant_id: int, *, cap: int | None, activate: bool = True) -> None:
    with unit_of_work(factory) as session:
        program = programs.get(session, tenant_id=tenant_id)
        reward_in = RewardIn.model_validate({"key": "latte", "name_en": "Latte", "name_ar": "لاتيه", "points": 100,
                                             "gives": {"type": "gift", "sku": "LATTE"}})
        rewards.create(session, tenant_id=tenant_id, reward_in=reward_in, program=program, now=START)
        catalog.create(session, tenant_id=tenant_id, now=START, offer_in=OfferIn.model_validate({
            "key": "latte", "name_en": "Latte", "name_ar": "لاتيه", "kind": "reward", "reward_key": "latte", "points": 50,
            "audience": {"all": True}, "per_member_cap": cap}))
        if activate:
            catalog.activate(session, tenant_id=tenant_id, key="latte", now=START)


def test_tills_redeeming_one_copy_at_once_pass_its_cap_exactly(pg: Factory) -> None:
    tenant = make_tenant(pg, START)
    member = make_member(pg, tenant.id, START)
    with unit_of_work(pg) as session:
        ledger.adjust(session, tenant_id=tenant.id, member_id=member, points=10_000, reason="opening", idempotency_key="open",
                      now=START, expires_at=None)
    _offer(pg, tenant.id, cap=3)

    def use(i: int) -> int:
        with unit_of_work(pg) as session:
            redemption, _ = personal.redeem(session, tenant_id=tenant.id, member_id=member, key="latte", idempotency_key=f"till-{i}", now=NOW)
            return redemption.points

    results = race(10, use)
    assert outcomes(results) == {"ok": 3, "Conflict": 7}
    with pg() as session:
        copy = session.execute(select(MemberOffer).where(MemberOffer.tenant_id == tenant.id)).scalar_one()
        assert copy.uses == 3
        assert ledger.balances(session, tenant_id=tenant.id, member_id=member)["available"] == 10_000 - 3 * 50
        assert verify(session, tenant_id=tenant.id).ok


def test_activating_at_once_gives_each_member_one_copy(pg: Factory) -> None:
    tenant = make_tenant(pg, START)
    for _ in range(20):
        make_member(pg, tenant.id, START)
    _offer(pg, tenant.id, cap=None, activate=False)

    def activate(_: int) -> int:
        with unit_of_work(pg) as session:
            return catalog.activate(session, tenant_id=tenant.id, key="latte", now=NOW)[1]

    results = race(4, activate)
    assert outcomes(results) == {"ok": 4} and sum(results) == 20
    with pg() as session:
        copies = session.execute(select(func.count()).select_from(MemberOffer).where(MemberOffer.tenant_id == tenant.id)).scalar_one()
        assert copies == 20

"""Velocity limits under races, on PostgreSQL with real threads and connections: purchases of one member, and
of many members at one store, released together, are counted one after the other, so exactly the limit's
number go through and the rest are held; every held one is in the review queue, and the ledger verifies."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, factory_for, make_member, make_tenant
from tests.integration.test_concurrency import outcomes, race
from wafa.db import unit_of_work
from wafa.events import service as events
from wafa.events.schemas import PurchaseIn
from wafa.ledger.verify import verify
from wafa.trust import velocity
from wafa.trust.models import Review
from wafa.trust.schemas import VelocityLimit

Factory = sessionmaker[Session]
pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pg(pg_url: str) -> Factory:
    return factory_for(pg_url)


def limit(factory: Factory, tenant_id: int, **fields: object) -> None:
    with unit_of_work(factory) as session:
        velocity.replace_limits(session, tenant_id=tenant_id, limits=[VelocityLimit(**fields)], now=START)  # type: ignore[arg-type]


def buy(factory: Factory, tenant_id: int, member_id: int, store: str | None = None) -> bool:
    """A purchase of 10.00 SAR; whether its points were held."""
    purchase = PurchaseIn(type="purchase", member={"id": member_id}, order_id=uuid.uuid4().hex, amount="10.00", currency="SAR",
                          store=store)  # type: ignore[arg-type]
    with unit_of_work(factory) as session:
        result, _ = events.record_purchase(session, tenant_id=tenant_id, event_in=purchase, request_hash=uuid.uuid4().hex,
                                           now=START + timedelta(seconds=1))
    return result.review_id is not None


def held_count(factory: Factory, tenant_id: int) -> int:
    with factory() as session:
        return session.execute(select(func.count()).select_from(Review).where(Review.tenant_id == tenant_id)).scalar_one()


def test_one_members_purchases_at_once_pass_the_count_limit_exactly(pg: Factory) -> None:
    tenant = make_tenant(pg, START)
    limit(pg, tenant.id, subject="member", action="earn", window="hour", max_count=3)
    member_id = make_member(pg, tenant.id, START)
    results = race(12, lambda _: buy(pg, tenant.id, member_id))
    assert outcomes(results) == {"ok": 12}
    assert results.count(False) == 3 and results.count(True) == 9
    assert held_count(pg, tenant.id) == 9
    with pg() as session:
        report = verify(session, tenant_id=tenant.id)
    assert report.ok, report.problems


def test_many_members_at_one_store_pass_the_store_limit_exactly(pg: Factory) -> None:
    tenant = make_tenant(pg, START)
    limit(pg, tenant.id, subject="store", action="earn", window="day", max_value=50)  # five purchases of 10 points
    shoppers = [make_member(pg, tenant.id, START) for _ in range(10)]
    results = race(10, lambda i: buy(pg, tenant.id, shoppers[i], store="RUH-01"))
    assert outcomes(results) == {"ok": 10}
    assert results.count(False) == 5 and held_count(pg, tenant.id) == 5

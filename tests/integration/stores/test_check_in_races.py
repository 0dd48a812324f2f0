"""Check-ins under races, on PostgreSQL with real threads and connections: one member checking in at one store
from several requests at once gets exactly one check-in (and one `check_in` event); the rest are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, factory_for, make_member, make_tenant
from tests.integration.stores.test_check_ins import NEAR_OLAYA, add_store, check_in
from tests.integration.test_concurrency import outcomes, race
from wafa.db import unit_of_work
from wafa.events.models import Event
from wafa.stores.models import StoreCheckIn
from wafa.trust import velocity
from wafa.trust.schemas import VelocityLimit

Factory = sessionmaker[Session]
pytestmark = pytest.mark.postgres_only


@pytest.fixture
def pg(pg_url: str) -> Factory:
    return factory_for(pg_url)


def count(factory: Factory, model: type, tenant_id: int) -> int:
    with factory() as session:
        return session.execute(select(func.count()).select_from(model).where(model.tenant_id == tenant_id)).scalar_one()  # type: ignore[attr-defined]


def test_concurrent_check_ins_of_one_member_at_one_store_make_exactly_one(pg: Factory) -> None:
    tenant = make_tenant(pg, START)
    add_store(pg, tenant.id, START)
    member_id = make_member(pg, tenant.id, START)
    results = race(10, lambda _: check_in(pg, tenant.id, member_id, START, at=NEAR_OLAYA))
    assert outcomes(results) == {"ok": 1, "AlreadyCheckedIn": 9}
    assert count(pg, StoreCheckIn, tenant.id) == 1
    assert count(pg, Event, tenant.id) == 1


def test_concurrent_check_ins_at_many_stores_pass_a_velocity_limit_exactly(pg: Factory) -> None:
    tenant = make_tenant(pg, START)
    for index in range(8):
        add_store(pg, tenant.id, START, code=f"S{index}")
    with unit_of_work(pg) as session:
        velocity.replace_limits(session, tenant_id=tenant.id, now=START,
                                limits=[VelocityLimit(subject="member", action="check_in", window="day", max_count=3)])
    member_id = make_member(pg, tenant.id, START)
    results = race(8, lambda i: check_in(pg, tenant.id, member_id, START, code=f"S{i}", at=NEAR_OLAYA))
    assert outcomes(results) == {"ok": 3, "TooManyCheckIns": 5}
    assert count(pg, StoreCheckIn, tenant.id) == 3

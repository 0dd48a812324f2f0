"""The worker trains each program's next-best-offer model once a day, after the RFM pass; a program with
nothing to learn from is skipped without a fuss (both databases)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_tenant
from tests.integration.offers.test_offers_service import program
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due
from wafa.offers import service


def _latest_id(factory: sessionmaker[Session], tenant_id: int) -> int | None:
    with factory() as session:
        row = service.latest(session, tenant_id=tenant_id)
        return row.id if row is not None else None


def test_the_worker_trains_the_offer_model_once_a_day(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    program(client, clock)
    assert _latest_id(factory, tenant.id) is None
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    first = _latest_id(factory, tenant.id)
    assert first is not None
    with factory() as session:
        assert service.ranked(session, tenant_id=tenant.id, member_id=service.latest(session, tenant_id=tenant.id).member_ids[0], k=2)  # type: ignore[union-attr]
    run_due(factory, now=clock.now() + timedelta(hours=23), tenant_id=tenant.id)
    assert _latest_id(factory, tenant.id) == first
    run_due(factory, now=clock.now() + timedelta(hours=25), tenant_id=tenant.id)
    assert (_latest_id(factory, tenant.id) or 0) > first


def test_the_worker_skips_a_program_without_interactions(clock: FrozenClock, factory: sessionmaker[Session]) -> None:
    empty = make_tenant(factory, clock.now())
    run_due(factory, now=clock.now(), tenant_id=empty.id)
    assert _latest_id(factory, empty.id) is None

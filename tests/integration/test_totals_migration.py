"""Migrations 0028 and 0030 compute the running totals of what was recorded before them, exactly as
`wafa totals verify` recomputes them (on a database of its own: going down and up again drops the totals' tables)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import delete

from tests.conftest import PG_ENV, START, drop_postgres_database, factory_for, make_member, make_tenant, new_postgres_database
from wafa.db import make_engine, unit_of_work
from wafa.events import category_totals, purchase_totals
from wafa.events import returns as return_events
from wafa.events import service as events
from wafa.events.models import MemberCategoryDay, MemberPurchaseDay
from wafa.events.schemas import Item, MemberRef, PurchaseIn, ReturnIn, ReturnItem
from wafa.ledger import earned
from wafa.ledger.models import MemberPointsEarned
from wafa.migrate import alembic_config, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def own_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'totals.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    url = new_postgres_database(base, "wafa_totals")
    yield url
    drop_postgres_database(url)


def test_0028_computes_the_totals_of_earlier_purchases_and_returns(own_url: str) -> None:
    engine = make_engine(own_url)
    upgrade(engine)
    factory = factory_for(own_url)
    tenant = make_tenant(factory, START)
    member_id = make_member(factory, tenant.id, START - timedelta(days=90))
    with unit_of_work(factory) as session:
        for n, days in enumerate((60, 30, 30, 2, 0)):
            events.record_purchase(session, tenant_id=tenant.id, request_hash=f"h{n}", now=START, event_in=PurchaseIn(
                type="purchase", member=MemberRef(id=member_id), order_id=f"M{n}", amount=f"{25 + n}.50", currency="SAR",
                occurred_at=START - timedelta(days=days, hours=n),
            ))
        return_events.record_return(session, tenant_id=tenant.id, now=START, event_in=ReturnIn(type="return", order_id="M1", amount="10.00"))
        return_events.record_return(session, tenant_id=tenant.id, now=START, event_in=ReturnIn(type="return", order_id="M3"))
    with unit_of_work(factory) as session:
        want = (earned.recomputed(session, tenant_id=tenant.id), purchase_totals.recomputed(session, tenant_id=tenant.id))
        assert want[0] and want[1]
        # As a database from before 0028 would be: no totals.
        session.execute(delete(MemberPointsEarned))
        session.execute(delete(MemberPurchaseDay))
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0027")
    upgrade(engine)
    with factory() as session:
        assert earned.kept(session, tenant_id=tenant.id) == want[0]
        assert purchase_totals.kept(session, tenant_id=tenant.id) == want[1]
    engine.dispose()
    factory.kw["bind"].dispose()


def test_0030_computes_the_category_totals_of_earlier_purchases_and_returns(own_url: str) -> None:
    engine = make_engine(own_url)
    upgrade(engine)
    factory = factory_for(own_url)
    tenant = make_tenant(factory, START)
    member_id = make_member(factory, tenant.id, START - timedelta(days=90))
    lines = [Item(sku="latte", category="coffee", quantity=2, unit_price="12.00"), Item(sku="scone", category="cake", quantity=1, unit_price="9.50"),
             Item(sku="bag", quantity=1, unit_price="3.00")]
    with unit_of_work(factory) as session:
        for n, days in enumerate((60, 30, 2)):
            events.record_purchase(session, tenant_id=tenant.id, request_hash=f"h{n}", now=START, event_in=PurchaseIn(
                type="purchase", member=MemberRef(id=member_id), order_id=f"M{n}", amount="30.00", currency="SAR",
                occurred_at=START - timedelta(days=days, hours=n), items=lines,
            ))
        return_events.record_return(session, tenant_id=tenant.id, now=START, event_in=ReturnIn(
            type="return", order_id="M1", items=[ReturnItem(sku="scone", quantity=1)],
        ))
        return_events.record_return(session, tenant_id=tenant.id, now=START, event_in=ReturnIn(type="return", order_id="M2"))
    with unit_of_work(factory) as session:
        want = category_totals.recomputed(session, tenant_id=tenant.id)
        assert {key[4] for key in want} == {"coffee", "cake"} and len(want) == 3  # M0 both; M1 lost its cake; M2 everything
        session.execute(delete(MemberCategoryDay))  # as a database from before 0030 would be
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0029")
    upgrade(engine)
    with factory() as session:
        assert category_totals.kept(session, tenant_id=tenant.id) == want
    engine.dispose()
    factory.kw["bind"].dispose()

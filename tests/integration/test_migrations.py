"""The migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.conftest import factory_for
from wafa.all_models import Account  # noqa: F401
from wafa.db import Base


def test_migrated_schema_matches_models(db_url: str) -> None:
    engine = factory_for(db_url).kw["bind"]
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_backfill_links_old_returns_to_the_credit_they_took_back(db_url: str) -> None:
    """0012: a return recorded before claw-backs named their credit is linked to the purchase's earn entry."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import select, update

    from tests.conftest import make_member, make_tenant
    from wafa.db import unit_of_work
    from wafa.events import returns
    from wafa.events import service as events
    from wafa.events.schemas import MemberRef, PurchaseIn, ReturnIn
    from wafa.ledger.models import Entry
    from wafa.migrate import alembic_config, upgrade

    factory = factory_for(db_url)
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    tenant = make_tenant(factory, now)
    member_id = make_member(factory, tenant.id, now)
    with unit_of_work(factory) as session:
        purchase = PurchaseIn(type="purchase", member=MemberRef(id=member_id), order_id="OLD-1", amount="100.00", currency="SAR")
        events.record_purchase(session, tenant_id=tenant.id, event_in=purchase, request_hash="h", now=now)
        returns.record_return(session, tenant_id=tenant.id, event_in=ReturnIn(type="return", order_id="OLD-1", amount="40.00"), now=now)
    with unit_of_work(factory) as session:
        claw = session.execute(select(Entry).where(Entry.tenant_id == tenant.id, Entry.kind == "reverse")).scalar_one()
        credited = claw.reverses_entry_id
        assert credited is not None
        session.execute(update(Entry).where(Entry.id == claw.id).values(reverses_entry_id=None))  # as before 0012
    engine = factory.kw["bind"]
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")  # 0012 only fills data: going down and up again runs it
    upgrade(engine, "head")
    with unit_of_work(factory) as session:
        assert session.get_one(Entry, claw.id).reverses_entry_id == credited

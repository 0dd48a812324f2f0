"""`wafa totals verify` and `wafa totals rebuild`, and `wafa ledger verify`'s check of points earned:
a total that drifted from the history is found, named and repaired."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from tests.conftest import START, factory_for, make_member
from wafa.cli.main import app
from wafa.config import get_settings
from wafa.db import unit_of_work
from wafa.events import service as events
from wafa.events.models import MemberCategoryDay, MemberPurchaseDay
from wafa.events.schemas import Item, MemberRef, PurchaseIn
from wafa.ledger.models import MemberPointsEarned
from wafa.tenants import service as tenants

runner = CliRunner()


@pytest.fixture
def wafa(db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WAFA_DATABASE_URL", db_url)
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout + result.stderr

    yield run
    get_settings.cache_clear()


def test_verify_finds_a_drifted_total_and_rebuild_repairs_it(wafa, db_url: str) -> None:  # type: ignore[no-untyped-def]
    factory = factory_for(db_url)
    slug = f"tot-{uuid.uuid4().hex[:8]}"
    with unit_of_work(factory) as session:
        tenant = tenants.create(session, name="Totals", slug=slug, currency="SAR", now=START)
    member_id = make_member(factory, tenant.id, START)
    with unit_of_work(factory) as session:
        for n in range(3):
            events.record_purchase(session, tenant_id=tenant.id, request_hash=f"h{n}", now=START, event_in=PurchaseIn(
                type="purchase", member=MemberRef(id=member_id), order_id=f"T{n}", amount="40.00", currency="SAR",
                items=[Item(sku="beans", category="coffee", quantity=1, unit_price="40.00")],  # type: ignore[arg-type]
            ))
    code, out = wafa("totals", "verify", "--tenant", slug, "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "problems": [], "count": 0}

    with unit_of_work(factory) as session:
        session.execute(update(MemberPointsEarned).where(MemberPointsEarned.tenant_id == tenant.id).values(points=7))
        session.execute(update(MemberPurchaseDay).where(MemberPurchaseDay.tenant_id == tenant.id).values(orders=1))
        session.execute(update(MemberCategoryDay).where(MemberCategoryDay.tenant_id == tenant.id).values(kept=5))
    code, out = wafa("totals", "verify", "--tenant", slug, "--json")
    found = json.loads(out)
    assert code == 1 and found["count"] == 3
    assert f"member {member_id}" in found["problems"][0] and "kept as 7, the entries say 120" in found["problems"][0]
    assert "kept as (12000, 1)" in found["problems"][1] and "the orders say (12000, 3)" in found["problems"][1]
    assert "category 'coffee' are kept as (5, 3)" in found["problems"][2] and "the orders say (12000, 3)" in found["problems"][2]
    code, out = wafa("ledger", "verify", "--tenant", slug, "--json")
    assert code == 1 and any("points earned" in problem for problem in json.loads(out)["problems"])
    code, human = wafa("totals", "verify", "--tenant", slug)
    assert code == 1 and "3 days differ" in human

    code, out = wafa("totals", "rebuild", "--tenant", slug, "--json")
    assert code == 0 and json.loads(out) == {"points_earned_days": 1, "purchase_days": 1, "category_days": 1}
    assert wafa("totals", "verify", "--tenant", slug)[0] == 0
    assert wafa("ledger", "verify", "--tenant", slug)[0] == 0


def test_rebuild_needs_a_known_tenant(wafa) -> None:  # type: ignore[no-untyped-def]
    code, out = wafa("totals", "rebuild", "--tenant", "no-such-tenant")
    assert code == 1 and "no-such-tenant" in out

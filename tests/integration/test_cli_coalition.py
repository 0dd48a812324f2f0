"""`wafa coalition settle | flows` and `wafa partner list | key create`: JSON on stdout only, exit codes
0/1/2, one-line reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from tests.conftest import TenantCtx, factory_for, make_member, make_tenant
from wafa.cli.main import app
from wafa.coalition import service as coalition
from wafa.coalition.schemas import CoalitionIn, PartnerIn
from wafa.config import get_settings
from wafa.db import unit_of_work
from wafa.events import service as events
from wafa.events.schemas import MemberRef, PurchaseIn
from wafa.ledger import service as ledger
from wafa.ledger.money import Money

runner = CliRunner()


@pytest.fixture
def wafa(db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `wafa ...` against the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("WAFA_DATABASE_URL", db_url)
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    yield run
    get_settings.cache_clear()


def last_month() -> tuple[str, datetime]:
    """The label of the month before this one, and a moment inside it."""
    first = datetime.now(UTC).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    inside = (first - timedelta(days=1)).replace(day=10)
    return inside.strftime("%Y-%m"), inside


@pytest.fixture
def souq(db_url: str) -> tuple[TenantCtx, int]:
    """A coalition with a café and a pharmacy; a member earned 200 points at the café last month and
    spent 100 at the pharmacy; returns the tenant and the member."""
    _, when = last_month()
    factory = factory_for(db_url)
    tenant = make_tenant(factory, when - timedelta(days=5))
    member_id = make_member(factory, tenant.id, when)
    with unit_of_work(factory) as session:
        coalition.configure(session, tenant_id=tenant.id, coalition_in=CoalitionIn(), now=when)
        for key, rate in (("cafe", "2"), ("pharmacy", "1")):
            coalition.create(session, tenant_id=tenant.id, now=when, partner_in=PartnerIn(
                key=key, name=key.title(), currency="SAR", earn_rate=rate, issue_price="0.05", redeem_value="0.04",
            ))
    with unit_of_work(factory) as session:
        cafe = coalition.config_or_raise(session, tenant_id=tenant.id).by_key["cafe"]
        events.record_purchase(
            session, tenant_id=tenant.id, request_hash="h1", now=when, partner_id=cafe,
            event_in=PurchaseIn(type="purchase", member=MemberRef(id=member_id), order_id="1", amount="100.00", currency="SAR"),
        )
    with unit_of_work(factory) as session:
        found = coalition.config_or_raise(session, tenant_id=tenant.id)
        pharmacy = found.partners[found.by_key["pharmacy"]]
        money: Money = coalition.redeem_money(session, tenant_id=tenant.id, partner=pharmacy, points=100)
        ledger.debit(
            session, tenant_id=tenant.id, member_id=member_id, points=100, kind="redeem", destination="redeemed",
            idempotency_key="r1", reason="till", now=when + timedelta(hours=1), money=money,
        )
    return tenant, member_id


def test_coalition_settle_closes_last_month_once(wafa, souq) -> None:  # type: ignore[no-untyped-def]
    tenant, _ = souq
    period, _ = last_month()
    code, out, err = wafa("coalition", "settle", "--tenant", tenant.slug, "--period", period, "--json")
    assert code == 0, err
    body = json.loads(out)
    nets = {s["party"].split(":")[0]: s["net"] for s in body["statements"] if s["party"] == "operator"}
    assert sum(Decimal(s["net"]) for s in body["statements"]) == 0
    assert sorted(Decimal(s["net"]) for s in body["statements"] if s["party"] != "operator") == [Decimal("-10.00"), Decimal("4.00")]
    assert nets["operator"] == "6.00"
    again = wafa("coalition", "settle", "--tenant", tenant.slug, "--period", period, "--json")
    assert again[0] == 0 and json.loads(again[1])["replayed"] is True
    assert json.loads(again[1])["statements"] == body["statements"]


def test_coalition_settle_refuses_a_period_not_ended_or_malformed(wafa, souq) -> None:  # type: ignore[no-untyped-def]
    tenant, _ = souq
    this_month = datetime.now(UTC).strftime("%Y-%m")
    code, out, err = wafa("coalition", "settle", "--tenant", tenant.slug, "--period", this_month)
    assert code == 1 and out == "" and "a period closes once it has ended" in err and "Traceback" not in err
    code, out, err = wafa("coalition", "settle", "--tenant", tenant.slug, "--period", "2026-13")
    assert code == 1 and "not a period" in err


def test_coalition_flows_and_partner_list(wafa, souq) -> None:  # type: ignore[no-untyped-def]
    tenant, _ = souq
    code, out, _ = wafa("coalition", "flows", "--tenant", tenant.slug, "--json")
    assert code == 0 and json.loads(out) == [{"earned_at": "cafe", "spent_at": "pharmacy", "points": 100}]
    code, out, _ = wafa("partner", "list", "--tenant", tenant.slug, "--json")
    assert code == 0 and [p["key"] for p in json.loads(out)] == ["cafe", "pharmacy"]


def test_partner_key_create_makes_a_key_that_acts_for_the_partner(wafa, souq, db_url: str) -> None:  # type: ignore[no-untyped-def]
    tenant, _ = souq
    code, out, err = wafa("partner", "key", "create", "--tenant", tenant.slug, "--partner", "cafe", "--name", "tills", "--json")
    assert code == 0, err
    made = json.loads(out)
    assert made["partner"] == "cafe" and made["scopes"] == ["events:write", "members:write", "redeem"]
    code, _, err = wafa("partner", "key", "create", "--tenant", tenant.slug, "--partner", "nobody")
    assert code == 2 and "no partner 'nobody'" in err
    code, _, err = wafa("partner", "key", "create", "--tenant", tenant.slug, "--partner", "cafe", "--scopes", "admin")
    assert code == 1 and "scopes must be some of members:write, events:write, redeem" in err

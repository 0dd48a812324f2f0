"""The `wafa` command: JSON on stdout only, exit codes 0/1/2, one-line reasons, no tracebacks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.conftest import factory_for
from wafa.cli.main import app
from wafa.config import get_settings
from wafa.db import unit_of_work
from wafa.tenants import service as tenants

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


def slug() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


def test_tenant_create_json_prints_only_json_with_a_working_key(wafa, db_url: str) -> None:  # type: ignore[no-untyped-def]
    name = slug()
    code, out, _ = wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR", "--slug", name, "--json")
    assert code == 0
    data = json.loads(out)  # nothing but JSON on stdout
    assert data["tenant"]["slug"] == name and data["scopes"] == ["admin"]
    with unit_of_work(factory_for(db_url)) as session:
        assert tenants.authenticate(session, secret=data["api_key"]).tenant_id == data["tenant"]["id"]


def test_tenant_create_twice_exits_1_with_one_line(wafa) -> None:  # type: ignore[no-untyped-def]
    name = slug()
    assert wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", name)[0] == 0
    code, out, err = wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", name)
    assert code == 1 and out == ""
    assert "exists" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_tenant_create_unknown_currency_exits_1(wafa) -> None:  # type: ignore[no-untyped-def]
    code, _, err = wafa("tenant", "create", "Shop", "--currency", "ZZZ", "--slug", slug())
    assert code == 1 and "currency" in err and "Traceback" not in err


def test_program_set_and_show(wafa) -> None:  # type: ignore[no-untyped-def]
    name = slug()
    wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", name)
    code, out, _ = wafa(
        "program", "set", "--tenant", name, "--earn-rate", "SAR=1", "--earn-rate", "JOD=10", "--expiry", "end_of_month:12",
        "--pending-days", "14", "--timezone", "Asia/Riyadh", "--points-name-ar", "نقاط", "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["earn_rates"] == {"SAR": "1", "JOD": "10"} and data["expiry"] == {"policy": "end_of_month", "periods": 12}
    assert data["points_name"] == {"en": "points", "ar": "نقاط"}
    shown = json.loads(wafa("program", "show", "--tenant", name, "--json")[1])
    assert shown == data


def test_program_set_bad_usage_exits_2(wafa) -> None:  # type: ignore[no-untyped-def]
    name = slug()
    wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", name)
    assert wafa("program", "set", "--tenant", name, "--expiry", "sometimes")[0] == 2
    assert wafa("program", "set", "--tenant", name, "--earn-rate", "SAR")[0] == 2
    assert wafa("program", "set", "--tenant", name, "--timezone", "Nowhere/Land")[0] == 2
    assert wafa("program", "set", "--tenant", "no-such-tenant", "--pending-days", "3")[0] == 1


def test_apikey_create_list_revoke(wafa) -> None:  # type: ignore[no-untyped-def]
    name = slug()
    wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", name)
    made = json.loads(wafa("apikey", "create", "--tenant", name, "--name", "till 3", "--scopes", "events:write,read", "--json")[1])
    assert made["scopes"] == ["events:write", "read"]
    listed = json.loads(wafa("apikey", "list", "--tenant", name, "--json")[1])
    assert [k["name"] for k in listed] == ["first admin key", "till 3"]
    assert made["api_key"] not in json.dumps(listed)
    assert wafa("apikey", "revoke", str(made["id"]), "--tenant", name)[0] == 0
    assert json.loads(wafa("apikey", "list", "--tenant", name, "--json")[1])[1]["revoked"] is True
    assert wafa("apikey", "revoke", str(made["id"]), "--tenant", name)[0] == 1
    assert wafa("apikey", "create", "--tenant", name, "--scopes", "superuser")[0] == 1


def test_demo_then_jobs_and_verify(wafa) -> None:  # type: ignore[no-untyped-def]
    name = slug()
    code, out, _ = wafa("demo", "--members", "8", "--months", "1", "--slug", name, "--json")
    assert code == 0
    demo = json.loads(out)
    assert demo["members"] == 8 and demo["purchases"] > 100 and demo["api_key"].startswith("wafa_")
    code, out, _ = wafa("jobs", "run-due", "--tenant", name, "--json")
    assert code == 0 and set(json.loads(out)) >= {"released_lots", "expired_lots", "lapsed_holds"}
    code, out, _ = wafa("ledger", "verify", "--tenant", name, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True and report["entries"] > 100


def test_ledger_verify_names_the_first_broken_entry(wafa, db_url: str) -> None:  # type: ignore[no-untyped-def]
    name = slug()
    wafa("demo", "--members", "4", "--months", "1", "--slug", name)
    factory = factory_for(db_url)
    with unit_of_work(factory) as session:
        tenant_id = tenants.get_by_slug_or_raise(session, slug=name).id
        entry_id, posting_id = session.execute(text(
            "SELECT p.entry_id, p.id FROM postings p WHERE p.tenant_id = :t AND p.seq IS NOT NULL ORDER BY p.entry_id LIMIT 1 OFFSET 5"
        ), {"t": tenant_id}).one()
        session.execute(text("UPDATE postings SET amount = amount + 1 WHERE id = :p"), {"p": posting_id})
    try:
        code, out, _ = wafa("ledger", "verify", "--tenant", name, "--json")
        report = json.loads(out)
        assert code == 1 and report["ok"] is False and report["first_broken_entry"] == entry_id
        code, out, _ = wafa("ledger", "verify", "--tenant", name)
        assert code == 1 and "ledger broken" in out
    finally:
        with unit_of_work(factory) as session:
            session.execute(text("UPDATE postings SET amount = amount - 1 WHERE id = :p"), {"p": posting_id})
    assert wafa("ledger", "verify", "--tenant", name)[0] == 0


def test_unknown_tenant_exits_1(wafa) -> None:  # type: ignore[no-untyped-def]
    code, _, err = wafa("jobs", "run-due", "--tenant", "nope-nope")
    assert code == 1 and "nope-nope" in err


def test_rules_list_show_simulate(wafa, db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from wafa.rules import service as rules
    from wafa.rules.schemas import RuleDefinition

    name = slug()
    wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", name)
    with unit_of_work(factory_for(db_url)) as session:
        tenant_id = tenants.get_by_slug_or_raise(session, slug=name).id
        definition = RuleDefinition.model_validate({
            "name_en": "Coffee x3", "name_ar": "قهوة ×٣", "trigger": "purchase",
            "actions": [{"type": "points_per_unit", "points": "3", "match": {"categories": ["coffee"]}}],
        })
        rule, _ = rules.create(session, tenant_id=tenant_id, definition=definition, status="active", now=datetime.now(UTC))
    listed = json.loads(wafa("rules", "list", "--tenant", name, "--json")[1])
    assert [(r["id"], r["name_en"], r["status"]) for r in listed] == [(rule.id, "Coffee x3", "active")]
    shown = json.loads(wafa("rules", "show", str(rule.id), "--tenant", name)[1])
    assert shown["definition"]["actions"][0]["points"] == "3"
    event = tmp_path / "purchase.json"
    event.write_text(json.dumps({"type": "purchase", "order_id": "CLI-1", "amount": "20.00", "currency": "SAR",
                                 "items": [{"sku": "C", "category": "coffee", "quantity": 1, "unit_price": "10.00"},
                                           {"sku": "B", "category": "bakery", "quantity": 1, "unit_price": "10.00"}]}))
    code, out, _ = wafa("rules", "simulate", str(event), "--tenant", name, "--json")
    assert code == 0 and json.loads(out)["total_points"] == 20 + 30
    assert wafa("rules", "show", "999999", "--tenant", name)[0] == 1
    event.write_text('{"type": "purchase"}')
    assert wafa("rules", "simulate", str(event), "--tenant", name)[0] == 2


def test_rules_simulate_a_custom_event(wafa, db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from wafa.events import types as event_types
    from wafa.members import service as members
    from wafa.members.schemas import MemberCreate
    from wafa.rules import service as rules
    from wafa.rules.schemas import RuleDefinition

    name = slug()
    wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", name)
    now = datetime.now(UTC)
    with unit_of_work(factory_for(db_url)) as session:
        tenant_id = tenants.get_by_slug_or_raise(session, slug=name).id
        event_types.create(session, tenant_id=tenant_id, name="recycling_drop_off", description=None,
                           schema={"type": "object", "properties": {"bottles": {"type": "integer", "minimum": 1}}, "required": ["bottles"]},
                           now=now)
        rules.create(session, tenant_id=tenant_id, status="active", now=now, definition=RuleDefinition.model_validate({
            "name_en": "Green bottles", "name_ar": "زجاجات", "trigger": "recycling_drop_off",
            "conditions": [{"type": "event_attribute", "path": "bottles", "op": "gte", "value": 5}],
            "actions": [{"type": "fixed_points", "points": 25}],
        }))
        members.create(session, tenant_id=tenant_id, member_in=MemberCreate(external_id="R-1"), region="SA", now=now)
    event = tmp_path / "drop.json"
    event.write_text(json.dumps({"type": "recycling_drop_off", "member": {"external_id": "R-1"}, "attributes": {"bottles": 6}}))
    code, out, _ = wafa("rules", "simulate", str(event), "--tenant", name)
    assert code == 0 and "+25 points, rule 'Green bottles' v1" in out
    event.write_text(json.dumps({"type": "recycling_drop_off", "member": {"external_id": "R-1"}, "attributes": {"bottles": 0}}))
    code, _, err = wafa("rules", "simulate", str(event), "--tenant", name)
    assert code == 1 and "minimum" in err

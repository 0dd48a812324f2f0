"""Schemathesis against the app's own OpenAPI document: no 5xx, every response as documented.

- On SQLite, every built-in check as an admin, a read-only till and a stranger: besides the responses,
  HTTP semantics (undeclared methods answer 405 with a true `Allow`, auth is never ignored, response
  headers as documented). Path ids are often ones that exist (members with points and open holds, a
  purchase, a rule, a card), so the fuzzing reaches past the 404s.
- On SQLite and on PostgreSQL, the responses as documented (`CHECKS`) for the boundary cases of every
  operation (schemathesis's coverage phase), and on PostgreSQL the fuzzing too.

Bounded per operation so it fits the CI run; `HYPOTHESIS_PROFILE=dev` fuzzes deeper. Each database (a
tenant with members, points, holds, a purchase, a rule and a read-only key) is made when a test worker
first runs one of its tests, not while the tests are collected.

Two checks are left out on purpose:
- positive_data_acceptance: schema-valid input is still refused by business rules (a cursor this
  API never issued, an unknown currency, a closed member, too few points): 422 is the answer.
- negative_data_rejection: request bodies are strict (wafa.inputs: `0` is not `false`, `"5"` not `5`)
  and pass it, but a GET ignores a query parameter it does not know (`?x=0`), which the check counts as
  accepting invalid data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import sessionmaker

from tests.conftest import (
    PG_ENV,
    copy_sqlite,
    drop_postgres_database,
    factory_for,
    make_key,
    make_tenant,
    migrated_postgres,
    migrated_sqlite,
    new_postgres_database,
)
from wafa.api.app import create_app
from wafa.clock import FrozenClock

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
EXCLUDED = [positive_data_acceptance, negative_data_rejection]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Fuzzed examples per operation: (CI, HYPOTHESIS_PROFILE=dev).
DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "dev"
AS_ADMIN, AS_READ_ONLY, AS_STRANGER, ON_POSTGRESQL = (100, 15, 5, 20) if DEEP else (25, 6, 3, 8)
# Rule and segment bodies nest conditions (any/all/not) without end: the coverage phase's boundary
# cases for them number in the tens of thousands (minutes per database). They are fuzzed without it,
# every other operation with it.
NESTED = r"^/v1/(rules|segments)(/\{[a-z_]+\})?$"
WRITES = ["POST", "PUT", "PATCH"]


@dataclass
class Target:
    """One database the app serves during these tests: keys by role, ids that exist by path parameter."""

    app: Any
    keys: dict[str, str] = field(default_factory=dict)
    ids: dict[str, list[Any]] = field(default_factory=dict)
    admin_key_id: int = 0


# The apps exist from collection (their OpenAPI documents are what is collected); their databases do not.
SQLITE, POSTGRESQL = (Target(create_app(factory=sessionmaker(), clock=FrozenClock(NOW))) for _ in range(2))


def _seed(target: Target, url: str) -> Target:
    """The app on the (migrated) database at `url`: a tenant with members, points, holds, a purchase, a rule and
    a read-only key."""
    factory = factory_for(url)
    target.app.state.session_factory = factory
    tenant = make_tenant(factory, NOW)
    target.keys = {"admin": tenant.admin_key, "read": make_key(factory, tenant.id, ["read"], NOW), "none": ""}
    ids: dict[str, list[Any]] = {"member_id": [], "hold_id": [], "event_id": [], "rule_id": [], "token": [], "key_id": []}
    with TestClient(target.app) as http:
        http.headers["Authorization"] = f"Bearer {tenant.admin_key}"
        for n in range(3):
            member = http.post("/v1/members", json={"external_id": f"st-{n}", "name": f"Member {n}"}).json()
            ids["member_id"].append(member["id"])
            ids["token"].append(member["card_token"])
            http.post(f"/v1/members/{member['id']}/adjustments", json={"points": 5000, "reason": "fuzz seed"})
            for _ in range(2):
                ids["hold_id"].append(http.post(f"/v1/members/{member['id']}/holds", json={"points": 10, "reason": "till"}).json()["id"])
            bought = http.post("/v1/events", json={"type": "purchase", "member": {"id": member["id"]}, "order_id": f"st-o{n}",
                                                   "amount": "120.00", "currency": "SAR"})
            ids["event_id"].append(bought.json()["event_id"])
        rule = http.post("/v1/rules", json={
            "name_en": "Coffee x3", "name_ar": "قهوة ×٣", "trigger": "purchase", "status": "active",
            "actions": [{"type": "points_per_unit", "points": "3", "match": {"categories": ["coffee"]}}],
        })
        assert rule.status_code == 201, rule.text
        ids["rule_id"].append(rule.json()["id"])
        keys = http.get("/v1/api-keys").json()
    ids["key_id"] = [key["id"] for key in keys if key["scopes"] == ["read"]]
    target.admin_key_id = next(key["id"] for key in keys if key["scopes"] == ["admin"])
    target.ids = ids
    return target


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Target:
    path = copy_sqlite(migrated_sqlite(tmp_path_factory), tmp_path_factory.mktemp("fuzz") / "wafa.db")
    return _seed(SQLITE, f"sqlite:///{path}")


@pytest.fixture(scope="module")
def on_postgresql(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    base = os.environ.get(PG_ENV)
    if not base:  # the suite's rule: without PostgreSQL, say how to enable it
        pytest.skip(f"PostgreSQL fuzzing needs {PG_ENV}, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    url = new_postgres_database(base, "wafa_fuzz", template=migrated_postgres(tmp_path_factory))
    try:
        yield _seed(POSTGRESQL, url)
    finally:
        factory_for(url).kw["bind"].dispose()
        drop_postgres_database(url)


def _load(target: Target) -> Any:
    return schemathesis.openapi.from_asgi("/v1/openapi.json", target.app)


def small_campaigns(context, body):  # type: ignore[no-untyped-def]
    """A coupon campaign of at most 1,000 codes: a million is valid, but generating it takes minutes (it is
    measured by bench/coupons.py), longer than the fuzzer waits for an answer."""
    if context.operation is not None and context.operation.path == "/v1/coupon-campaigns" and isinstance(body, dict) \
            and isinstance(body.get("count"), int) and body["count"] > 1000:
        return {**body, "count": body["count"] % 1000 + 1}
    return body


# --- every check, three keys, on SQLite ------------------------------------------------------------------


def _with_every_check(role: str, max_examples: int):  # type: ignore[no-untyped-def]
    # Generating a campaign's codes happens in the request; this suite drew counts in the hundreds of
    # thousands past a map_body hook (minutes each). The conformance tests below fuzz the operation with
    # small_campaigns, and tests/api/test_coupons.py covers it.
    schema = _load(SQLITE).exclude(method="POST", path="/v1/coupon-campaigns")
    # The coverage phase enumerates boundary cases up front (minutes for the nested rule bodies); the
    # conformance tests below run it. Here, examples and fuzzing only.
    schema.config.phases.coverage.enabled = False

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):  # type: ignore[no-untyped-def]
        """Half the time, ids that exist instead of whatever was generated."""
        known = {name: st.sampled_from(SQLITE.ids[name]) for name in path_parameters or () if SQLITE.ids.get(name)}
        if not known:
            return st.just(path_parameters)
        real = st.fixed_dictionaries({**{name: st.just(value) for name, value in path_parameters.items()}, **known})
        return st.one_of(st.just(path_parameters), real)

    @schema.hook
    def filter_path_parameters(context, path_parameters):  # type: ignore[no-untyped-def]
        # Revoking the admin key mid-run would turn the rest of the run into 401s.
        return (path_parameters or {}).get("key_id") != SQLITE.admin_key_id

    @schema.parametrize()
    @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def test(case, on_sqlite: Target) -> None:  # type: ignore[no-untyped-def]
        key = on_sqlite.keys[role]
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"} if key else {}, excluded_checks=EXCLUDED)

    return test


test_as_admin = _with_every_check("admin", AS_ADMIN)
test_as_read_only_key = _with_every_check("read", AS_READ_ONLY)
test_without_a_key = _with_every_check("none", AS_STRANGER)


# --- responses as documented, on both databases -------------------------------------------------------------


def _conforming(target: Target, fixture: str, *, nested: bool, fuzz: int, only_campaigns: bool = False):  # type: ignore[no-untyped-def]
    """The operations (the nested rule and segment writes, or all the others, or only creating a campaign) checked
    with CHECKS as the admin: their boundary cases (not for the nested bodies nor the campaign alone), then `fuzz`
    fuzzed examples each."""
    # Revoking keys is fuzzed as an admin above; here it could revoke the key every other operation runs
    # with (ids are small integers) and leave the rest of the run at 401.
    schema = _load(target).exclude(method="DELETE", path="/v1/api-keys/{key_id}")
    if nested:
        schema = schema.include(path_regex=NESTED, method=WRITES)
    else:
        schema = schema.exclude(path_regex=NESTED, method=WRITES)

        @schema.hook
        def map_body(context, body):  # type: ignore[no-untyped-def]
            return small_campaigns(context, body)

    if only_campaigns:
        schema = schema.include(method="POST", path="/v1/coupon-campaigns")
    if nested or only_campaigns:
        schema.config.phases.coverage.enabled = False
    if not fuzz:
        schema.config.phases.examples.enabled = False
        schema.config.phases.fuzzing.enabled = False

    @schema.parametrize()
    @settings(max_examples=max(fuzz, 1), deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def test(case, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
        key = request.getfixturevalue(fixture).keys["admin"]
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

    return test


# On SQLite the admin tests above fuzz the same operations with every check (the nested bodies too);
# what is left is the boundary cases, and fuzzing the campaigns they leave out.
test_every_operation_on_sqlite = _conforming(SQLITE, "on_sqlite", nested=False, fuzz=0)
test_coupon_campaigns_on_sqlite = _conforming(SQLITE, "on_sqlite", nested=False, fuzz=ON_POSTGRESQL, only_campaigns=True)
test_every_operation_on_postgresql = _conforming(POSTGRESQL, "on_postgresql", nested=False, fuzz=ON_POSTGRESQL)
test_rule_and_segment_bodies_on_postgresql = _conforming(POSTGRESQL, "on_postgresql", nested=True, fuzz=ON_POSTGRESQL)

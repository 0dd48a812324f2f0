"""Schemathesis with every built-in check, as an admin, a read-only till and a stranger.

test_openapi_fuzz.py checks, on both databases, that responses match the document. This file adds
HTTP semantics (undeclared methods answer 405 with a true `Allow`, auth is never ignored, response
headers as documented) and narrower keys, on SQLite. Path ids are often ones that exist (members
with points and open holds, a purchase, a rule, a card), so the fuzzing reaches past the 404s.

Two checks are left out on purpose:
- positive_data_acceptance: schema-valid input is still refused by business rules (a cursor this
  API never issued, an unknown currency, a closed member, too few points): 422 is the answer.
- negative_data_rejection: request models are not strict, so pydantic coerces `0` to `false` or
  `"5"` to `5`; a lenient reader, not a crash.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from tests.conftest import factory_for, make_key, make_tenant
from wafa.api.app import create_app
from wafa.clock import FrozenClock
from wafa.db import make_engine
from wafa.migrate import upgrade

EXCLUDED = [positive_data_acceptance, negative_data_rejection]
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _seeded_app() -> tuple[Any, dict[str, str], dict[str, list[Any]], int]:
    """The app on a new SQLite file; keys by role, ids that exist by path parameter, the admin key's id."""
    url = f"sqlite:///{tempfile.mkdtemp(prefix='wafa-schemathesis-')}/wafa.db"
    upgrade(make_engine(url))
    factory = factory_for(url)
    tenant = make_tenant(factory, NOW)
    keys = {"admin": tenant.admin_key, "read": make_key(factory, tenant.id, ["read"], NOW), "none": ""}
    app = create_app(factory=factory, clock=FrozenClock(NOW))
    ids: dict[str, list[Any]] = {"member_id": [], "hold_id": [], "event_id": [], "rule_id": [], "token": [], "key_id": []}
    with TestClient(app) as http:
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
        ids["key_id"] = [key["id"] for key in http.get("/v1/api-keys").json() if key["scopes"] == ["read"]]
        admin_key_id = next(key["id"] for key in http.get("/v1/api-keys").json() if key["scopes"] == ["admin"])
    return app, keys, ids, admin_key_id


APP, KEYS, IDS, ADMIN_KEY_ID = _seeded_app()


def _fuzz(role: str, max_examples: int):  # type: ignore[no-untyped-def]
    # Generating a campaign's codes happens in the request; this suite drew counts in the hundreds of
    # thousands past its map_body hook (minutes each). test_openapi_fuzz.py fuzzes the operation with
    # counts kept small, and tests/api/test_coupons.py covers it.
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", APP).exclude(method="POST", path="/v1/coupon-campaigns")
    # The coverage phase enumerates boundary cases up front (minutes for the deep rule bodies);
    # test_openapi_fuzz.py runs it. Here, examples and fuzzing only.
    schema.config.phases.coverage.enabled = False

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):  # type: ignore[no-untyped-def]
        """Half the time, ids that exist instead of whatever was generated."""
        known = {name: st.sampled_from(IDS[name]) for name in path_parameters or () if IDS.get(name)}
        if not known:
            return st.just(path_parameters)
        real = st.fixed_dictionaries({**{name: st.just(value) for name, value in path_parameters.items()}, **known})
        return st.one_of(st.just(path_parameters), real)

    @schema.hook
    def filter_path_parameters(context, path_parameters):  # type: ignore[no-untyped-def]
        # Revoking the admin key mid-run would turn the rest of the run into 401s.
        return (path_parameters or {}).get("key_id") != ADMIN_KEY_ID

    headers = {"Authorization": f"Bearer {KEYS[role]}"} if KEYS[role] else {}

    @schema.parametrize()
    @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def test(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)

    return test


test_as_admin = _fuzz("admin", max_examples=100)
test_as_read_only_key = _fuzz("read", max_examples=15)
test_without_a_key = _fuzz("none", max_examples=5)

"""Schemathesis against the app's own OpenAPI document: no 5xx, every response as documented.

Bounded per operation (see `settings` below) so it fits the CI run; runs on SQLite with a tenant
that has members with points and open holds, so id paths hit real rows as well as missing ones.
"""

from __future__ import annotations

from datetime import UTC, datetime

import tempfile

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import factory_for, make_member, make_tenant
from wafa.api.app import create_app
from wafa.clock import FrozenClock
from wafa.db import make_engine, unit_of_work
from wafa.ledger import service as ledger
from wafa.migrate import upgrade

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _target() -> tuple[object, str]:
    """The app on its own SQLite file: a tenant with members, points and an open hold each."""
    url = f"sqlite:///{tempfile.mkdtemp(prefix='wafa-fuzz-')}/fuzz.db"
    upgrade(make_engine(url))
    factory = factory_for(url)
    clock = FrozenClock(datetime(2026, 5, 1, 12, tzinfo=UTC))
    tenant = make_tenant(factory, clock.now())
    for n in range(3):
        member_id = make_member(factory, tenant.id, clock.now(), external_id=f"fz-{n}")
        with unit_of_work(factory) as session:
            ledger.adjust(session, tenant_id=tenant.id, member_id=member_id, points=1000, reason="fuzz seed",
                          idempotency_key=f"fz-seed-{n}", now=clock.now(), expires_at=None)
            ledger.hold(session, tenant_id=tenant.id, member_id=member_id, points=10, reason="fuzz hold",
                        now=clock.now(), ttl_seconds=900)
    return create_app(factory=factory, clock=clock), tenant.admin_key


APP, KEY = _target()
schema = schemathesis.openapi.from_asgi("/v1/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_documented(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"}, checks=CHECKS)

"""Schemathesis against the app's own OpenAPI document: no 5xx, every response as documented.

Bounded per operation (see `settings` below) so it fits the CI run; runs on SQLite and on
PostgreSQL, each with a tenant that has members with points and open holds, so id paths hit real
rows as well as missing ones.
"""

from __future__ import annotations

import atexit
import os
import tempfile
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.fuzz_hooks import small_campaigns
from tests.conftest import PG_ENV, drop_postgres_database, factory_for, make_member, make_tenant, new_postgres_database
from wafa.api.app import create_app
from wafa.clock import FrozenClock
from wafa.db import make_engine, unit_of_work
from wafa.ledger import service as ledger
from wafa.migrate import upgrade

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _sqlite_url() -> str:
    return f"sqlite:///{tempfile.mkdtemp(prefix='wafa-fuzz-')}/fuzz.db"


def _postgres_url() -> str | None:
    """A scratch PostgreSQL database for this module (dropped at exit), or None without PostgreSQL."""
    base = os.environ.get(PG_ENV)
    if not base:
        return None
    url = new_postgres_database(base, "wafa_fuzz")

    def drop() -> None:
        for engine_factory in _factories_for(url):
            engine_factory.kw["bind"].dispose()
        drop_postgres_database(url)

    atexit.register(drop)
    return url


def _factories_for(url: str):  # type: ignore[no-untyped-def]
    from tests.conftest import _factories

    return [factory for known, factory in _factories.items() if known == url]


def _target(url: str) -> tuple[object, str]:
    """The app on its own database: a tenant with members, points and an open hold each."""
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


# Rule and segment bodies nest conditions (any/all/not) without end: the coverage phase's boundary
# cases for them number in the tens of thousands (minutes per database). They are fuzzed without it,
# every other operation with it.
DEEP = r"^/v1/(rules|segments)(/\{[a-z_]+\})?$"


def _fuzz(app, key: str):  # type: ignore[no-untyped-def]
    # Revoking keys is fuzzed in test_schemathesis.py; here it could revoke the key every other
    # operation runs with (ids are small integers) and leave the rest of the run at 401.
    def load():  # type: ignore[no-untyped-def]
        return schemathesis.openapi.from_asgi("/v1/openapi.json", app).exclude(method="DELETE", path="/v1/api-keys/{key_id}")

    def load_small():  # type: ignore[no-untyped-def]
        schema = load()

        @schema.hook
        def map_body(context, body):  # type: ignore[no-untyped-def]
            return small_campaigns(context, body)

        return schema

    wide = load_small().exclude(path_regex=DEEP, method=["POST", "PUT", "PATCH"])
    deep = load().include(path_regex=DEEP, method=["POST", "PUT", "PATCH"])
    deep.config.phases.coverage.enabled = False

    def make(schema):  # type: ignore[no-untyped-def]
        @schema.parametrize()
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def test(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

        return test

    return make(wide), make(deep)


test_every_operation_on_sqlite, test_rule_and_segment_bodies_on_sqlite = _fuzz(*_target(_sqlite_url()))
_PG = _postgres_url()
if _PG is not None:
    test_every_operation_on_postgresql, test_rule_and_segment_bodies_on_postgresql = _fuzz(*_target(_PG))
else:  # the suite's rule: without PostgreSQL, say how to enable it
    @pytest.mark.skip(reason=f"PostgreSQL fuzzing needs {PG_ENV}")
    def test_every_operation_on_postgresql() -> None:
        pass

    @pytest.mark.skip(reason=f"PostgreSQL fuzzing needs {PG_ENV}")
    def test_rule_and_segment_bodies_on_postgresql() -> None:
        pass

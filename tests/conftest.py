"""Shared fixtures: both databases, a frozen clock, a fresh tenant per test, an API client.

Isolation: each test run gets its own SQLite file and its own PostgreSQL database (dropped at the
end), and each test gets its own tenant, so no test sees another's rows.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from wafa.api.app import create_app
from wafa.clock import FrozenClock
from wafa.db import make_engine, unit_of_work
from wafa.members import service as members
from wafa.members.schemas import MemberCreate
from wafa.migrate import upgrade
from wafa.tenants import service as tenants

# Bounded in CI, deeper on demand: HYPOTHESIS_PROFILE=dev pytest ...
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PG_ENV = "WAFA_TEST_POSTGRES_URL"
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_counter = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("CI") and not os.environ.get(PG_ENV):
        raise pytest.UsageError(f"CI must run the PostgreSQL tests: set {PG_ENV}")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """How `dev.sh test` shares the tests among its workers (pytest-xdist, --dist loadgroup): a file's
    tests stay on one worker (they share module fixtures, such as a served demo), and the PostgreSQL
    race tests all on one, so that two of them (up to 50 connections each) never run at once."""
    for item in items:
        if type(item).__name__ == "SchemathesisFunction":
            # Schemathesis names each operation's test `test_x[GET /v1/...]` but gives them all the
            # nodeid `test_x`; xdist tells tests apart by nodeid, and would run one per function.
            # They share nothing but the module's app, so each goes to whichever worker is free.
            item._nodeid = f"{item.parent.nodeid}::{item.name}"  # type: ignore[union-attr]
            continue
        if item.get_closest_marker("xdist_group") is None:
            group = "postgres-races" if item.get_closest_marker("postgres_only") else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'wafa-test.db'}"
    upgrade(make_engine(url))
    return url


def new_postgres_database(base: str, prefix: str) -> str:
    """A new, empty PostgreSQL database on the server `base` names; returns its SQLAlchemy URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_dsn(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        # A test database need not survive a crash of the server: commits return before the WAL
        # reaches the disk (the one durability setting that can be set per database).
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return make_url(base).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    import psycopg

    name = make_url(url).database
    with psycopg.connect(_admin_dsn(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    url = new_postgres_database(base, "wafa_test")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    from wafa.db import _factory

    _factory.cache_clear()
    drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return request.getfixturevalue(name)


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    """PostgreSQL only: for tests of real concurrency."""
    return postgres_url


_factories: dict[str, sessionmaker[Session]] = {}


def factory_for(url: str) -> sessionmaker[Session]:
    if url not in _factories:
        # Up to 65 connections at once for the race tests, but only 5 kept open between tests: the
        # test workers share PostgreSQL's 100.
        _factories[url] = sessionmaker(make_engine(url, pool_size=5, max_overflow=60), expire_on_commit=False)
    return _factories[url]


@pytest.fixture
def factory(db_url: str) -> sessionmaker[Session]:
    return factory_for(db_url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@dataclass
class TenantCtx:
    id: int
    slug: str
    admin_key: str


def make_tenant(factory: sessionmaker[Session], now: datetime, **program: object) -> TenantCtx:
    """A new tenant with its own admin key; program settings as keyword arguments."""
    slug = f"t{next(_counter)}-{uuid.uuid4().hex[:6]}"
    with unit_of_work(factory) as session:
        tenant = tenants.create(session, name=f"Tenant {slug}", slug=slug, currency=program.pop("currency", "SAR"), now=now, **program)  # type: ignore[arg-type]
        key = tenants.create_key(session, tenant_id=tenant.id, name="admin", scopes=["admin"], now=now)
    return TenantCtx(tenant.id, slug, key.secret)


@pytest.fixture
def tenant(factory: sessionmaker[Session], clock: FrozenClock) -> TenantCtx:
    return make_tenant(factory, clock.now())


def make_member(factory: sessionmaker[Session], tenant_id: int, now: datetime, **fields: object) -> int:
    """Enrol a member; returns the member id."""
    fields.setdefault("external_id", f"m-{uuid.uuid4().hex[:10]}")
    with unit_of_work(factory) as session:
        return members.create(session, tenant_id=tenant_id, member_in=MemberCreate(**fields), region="SA", now=now).id  # type: ignore[arg-type]


def make_key(factory: sessionmaker[Session], tenant_id: int, scopes: list[str], now: datetime) -> str:
    with unit_of_work(factory) as session:
        return tenants.create_key(session, tenant_id=tenant_id, name="test", scopes=scopes, now=now).secret


_apps: dict[int, Any] = {}


@pytest.fixture
def client(factory: sessionmaker[Session], clock: FrozenClock, tenant: TenantCtx) -> Iterator[TestClient]:
    """An API client authenticated with the test tenant's admin key."""
    # One app per database, given this test's clock: building an app (and its routes' first-request
    # setup) costs more than most tests do.
    app = _apps.get(id(factory))
    if app is None:
        app = _apps[id(factory)] = create_app(factory=factory, clock=clock)
    app.state.clock = clock
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
        yield test_client


PROBLEM = "application/problem+json"


def problem(response, status: int, type_: str, field: str | None = None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """Assert a problem+json answer of this status and type (naming `field`); return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert (body["type"], body["status"]) == (type_, status)
    assert body["title"] and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body

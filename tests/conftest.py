"""Shared fixtures: both databases, a frozen clock, a fresh tenant per test, an API client.

Isolation: each test run gets its own SQLite file and its own PostgreSQL database (dropped at the
end), and each test gets its own tenant, so no test sees another's rows.

Made once per run and copied, never changed in place: a migrated database and the demo program, as a
SQLite file and a PostgreSQL template (`CREATE DATABASE ... TEMPLATE`). The first test worker that needs
one makes it (under a file lock); the others wait and copy it; the run's controller drops the templates.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from wafa.api.app import create_app
from wafa.clock import FrozenClock
from wafa.config import get_settings
from wafa.db import make_engine, unit_of_work
from wafa.members import service as members
from wafa.members.schemas import MemberCreate
from wafa.migrate import upgrade
from wafa.tenants import service as tenants

# Bounded in CI, deeper on demand: HYPOTHESIS_PROFILE=dev pytest ...
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The suite's clients all come from one address with a few keys, far faster than any till: the limits
# against abuse stay out of the way (set before any app reads its settings; servers started by tests
# inherit them). tests/api/trust/ builds apps with the real limits.
for _name in ("RATE_EVENTS", "RATE_REDEMPTIONS", "RATE_WRITES", "RATE_READS", "SIGNIN_PER_IP", "SIGNIN_PER_ORG",
              "SIGNIN_FAILURES_PER_IP", "MEMBER_CODES_PER_IP", "UNKNOWN_PROGRAMS_PER_IP"):
    os.environ.setdefault(f"WAFA_{_name}", "1000000/second")

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
            # They share nothing but the module's apps and their databases (seeded by each worker that
            # runs one), so each goes to whichever worker is free.
            item._nodeid = f"{item.parent.nodeid}::{item.name}"  # type: ignore[union-attr]
            continue
        if item.get_closest_marker("xdist_group") is None:
            group = "postgres-races" if item.get_closest_marker("postgres_only") else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return "sqlite:///" + str(copy_sqlite(migrated_sqlite(tmp_path_factory), tmp_path_factory.mktemp("db") / "wafa-test.db"))


def new_postgres_database(base: str, prefix: str, *, template: str | None = None) -> str:
    """A new PostgreSQL database on the server `base` names, empty or a copy of the database `template`;
    returns its SQLAlchemy URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_dsn(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
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


# --- made once per run, copied by the tests that need them ----------------------------------------

# The demo program the CLI's analytics tests and the browser tests read: `wafa demo` with these sizes.
DEMO_MEMBERS, DEMO_MONTHS = 40, 3
_made: dict[str, dict[str, str]] = {}


def _run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary folder, the same for every xdist worker (each worker's own is inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], dict[str, str]]) -> dict[str, str]:
    """What `make(folder)` returned, made by whichever test worker of this run asked first; the others wait
    for it, then read what it returned."""
    if name not in _made:
        from filelock import FileLock

        shared = _run_folder(tmp_path_factory)
        done, failed = shared / f"{name}.json", shared / f"{name}.failed"
        with FileLock(shared / f"{name}.lock"):
            if failed.exists():  # once is enough: the tests that need it fail at once, saying why
                raise RuntimeError(f"making {name} failed earlier in this run:\n{failed.read_text()}")
            if not done.exists():
                folder = shared / name
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                try:
                    made = make(folder)
                except BaseException as exc:
                    failed.write_text(f"{type(exc).__name__}: {exc}")
                    raise
                done.write_text(json.dumps(made))
        _made[name] = json.loads(done.read_text())
    return _made[name]


def copy_sqlite(source: Path, target: Path) -> Path:
    """A copy of the SQLite file `source` (and its write-ahead log, if any) at `target`."""
    for path in source.parent.glob(source.name + "*"):
        shutil.copy2(path, target.parent / (target.name + path.name.removeprefix(source.name)))
    return target


def _seed_demo(url: str) -> str:
    """`wafa demo` on the database at `url` (already migrated), as an operator runs it; the admin key it printed."""
    env = {**os.environ, "WAFA_DATABASE_URL": url, "WAFA_LOG_LEVEL": "warning"}
    wafa = str(Path(sys.executable).parent / "wafa")
    seeded = subprocess.run([wafa, "demo", "--members", str(DEMO_MEMBERS), "--months", str(DEMO_MONTHS), "--json"],
                            env=env, capture_output=True, check=False, text=True, timeout=240)
    assert seeded.returncode == 0, f"wafa demo failed:\n{seeded.stdout}\n{seeded.stderr}"
    return str(json.loads(seeded.stdout)["api_key"])


def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied (copy it; never open it)."""
    def make(folder: Path) -> dict[str, str]:
        engine = make_engine(f"sqlite:///{folder / 'wafa.db'}")
        upgrade(engine)
        engine.dispose()
        return {"path": str(folder / "wafa.db")}

    return Path(made_once(tmp_path_factory, "migrated-sqlite", make)["path"])


def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A SQLite file holding the demo program (copy it; never open it), and the demo's admin key."""
    def make(folder: Path) -> dict[str, str]:
        path = copy_sqlite(migrated_sqlite(tmp_path_factory), folder / "wafa.db")
        return {"path": str(path), "api_key": _seed_demo(f"sqlite:///{path}")}

    made = made_once(tmp_path_factory, "demo-sqlite", make)
    return Path(made["path"]), made["api_key"]


def _postgres_template(tmp_path_factory: pytest.TempPathFactory, name: str, fill: Callable[[str], dict[str, str]]) -> dict[str, str]:
    """A PostgreSQL database filled once per run by `fill(url)`, to copy with `new_postgres_database(template=...)`;
    the run's controller drops it (pytest_sessionfinish)."""
    base = os.environ[PG_ENV]

    def make(folder: Path) -> dict[str, str]:
        template = migrated_postgres(tmp_path_factory) if name != "migrated" else None
        url = new_postgres_database(base, f"wafa_tpl_{name}", template=template)
        with (_run_folder(tmp_path_factory) / "postgres-templates").open("a") as listed:
            listed.write(url + "\n")
        return {"database": str(make_url(url).database), **fill(url)}

    return made_once(tmp_path_factory, f"{name}-postgres", make)


def migrated_postgres(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The name of a PostgreSQL database with every migration applied, to copy (nothing may stay connected to it)."""
    def fill(url: str) -> dict[str, str]:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return {}

    return _postgres_template(tmp_path_factory, "migrated", fill)["database"]


def demo_postgres(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The name of a PostgreSQL database holding the demo program, to copy, and the demo's admin key."""
    made = _postgres_template(tmp_path_factory, "demo", lambda url: {"api_key": _seed_demo(url)})
    return made["database"], made["api_key"]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (or the only process) drops the run's PostgreSQL templates once every worker is done."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not os.environ.get(PG_ENV):
        return
    listed = session.config._tmp_path_factory.getbasetemp() / "postgres-templates"  # type: ignore[attr-defined]
    if listed.exists():
        for url in listed.read_text().split():
            drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_url(request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own holding the demo program (tenant `demo`), on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(copy_sqlite(demo_sqlite(tmp_path_factory)[0], tmp_path / "wafa.db"))
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    url = new_postgres_database(base, "wafa_demo", template=demo_postgres(tmp_path_factory)[0])
    try:
        yield url
    finally:
        from wafa.db import _factory

        _factory.cache_clear()
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    url = new_postgres_database(base, "wafa_test", template=migrated_postgres(tmp_path_factory))
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
    # Tests count points as available at once unless they ask for a window (new programs start with 14 days).
    program.setdefault("pending_days", 0)
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


@pytest.fixture
def allow_private_webhooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Webhook endpoints on 127.0.0.1 over http: the test receivers (WAFA_WEBHOOK_ALLOW_PRIVATE)."""
    monkeypatch.setenv("WAFA_WEBHOOK_ALLOW_PRIVATE", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()

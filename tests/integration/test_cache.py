"""The config cache across processes: two engines on one database stand for two processes. A change one
commits is seen by the other at once (PostgreSQL: as soon as the notification arrives), a rolled-back
change drops nothing, a revoked API key is refused everywhere, and a listener that loses its connection
leaves nothing stale behind."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy import Engine, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, TenantCtx, factory_for, make_key, make_tenant
from wafa import cache
from wafa.db import make_engine, unit_of_work
from wafa.errors import Unauthorized
from wafa.programs import service as programs
from wafa.programs.models import Program
from wafa.programs.schemas import ProgramUpdate
from wafa.tenants import service as tenants
from wafa.tenants.models import ApiKey

Factory = sessionmaker[Session]
_processes: dict[str, tuple[Factory, Factory]] = {}


class Boom(Exception):
    """Raised to roll a transaction back."""


@pytest.fixture(scope="module", autouse=True)
def _dispose_processes() -> Iterator[None]:
    yield
    for pair in _processes.values():
        for factory in pair:
            factory.kw["bind"].dispose()
    _processes.clear()


def processes(url: str) -> tuple[Factory, Factory]:
    """Two engines on the database of `url`, each with its own cache (and, on PostgreSQL, listening)."""
    if url not in _processes:
        _processes[url] = (
            sessionmaker(make_engine(url, pool_size=2), expire_on_commit=False),
            sessionmaker(make_engine(url, pool_size=2), expire_on_commit=False),
        )
    for factory in _processes[url]:
        until(lambda engine=factory.kw["bind"]: cache.listener_state(engine).live)
    return _processes[url]


def until(condition: Callable[[], object], seconds: float = 2.0) -> bool:
    """Whether `condition` holds within `seconds` (asked again every 20 ms)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def pushed(factory: Factory) -> bool:
    return factory.kw["bind"].dialect.name == "postgresql"


def seen(factory: Factory, read: Callable[[], object], expected: object) -> bool:
    """Whether `read` gives `expected`: at once on SQLite, within the notification's way on PostgreSQL."""
    return until(lambda: read() == expected, 2.0 if pushed(factory) else 0.0)


def min_redemption(factory: Factory, tenant_id: int) -> int:
    with unit_of_work(factory) as session:
        return programs.get(session, tenant_id=tenant_id).min_redemption


def change_min_redemption(factory: Factory, tenant_id: int, points: int) -> None:
    with unit_of_work(factory) as session:
        programs.update_settings(session, tenant_id=tenant_id, program_in=ProgramUpdate(min_redemption=points), now=START)


def quietly_set_min_redemption(factory: Factory, tenant_id: int, points: int) -> None:
    """Change the row without telling any cache: what a process still answers afterwards, it had cached."""
    with unit_of_work(factory) as session:
        session.execute(update(Program).where(Program.tenant_id == tenant_id).values(min_redemption=points))


def test_a_change_committed_in_one_process_is_seen_by_another(db_url: str, tenant: TenantCtx) -> None:
    a, b = processes(db_url)
    assert min_redemption(b, tenant.id) == 1
    quietly_set_min_redemption(a, tenant.id, 5)
    assert min_redemption(b, tenant.id) == 1  # b answers from its cache
    change_min_redemption(a, tenant.id, 7)
    assert seen(b, lambda: min_redemption(b, tenant.id), 7)


def test_a_rolled_back_change_invalidates_nothing(db_url: str, tenant: TenantCtx, factory: Factory) -> None:
    a, b = processes(db_url)
    other = make_tenant(factory, START)
    assert (min_redemption(b, tenant.id), min_redemption(b, other.id)) == (1, 1)
    quietly_set_min_redemption(a, tenant.id, 5)
    with pytest.raises(Boom), unit_of_work(a) as session:
        programs.update_settings(session, tenant_id=tenant.id, program_in=ProgramUpdate(min_redemption=7), now=START)
        raise Boom
    # A later change that b hears of: every notification before it has arrived too.
    change_min_redemption(a, other.id, 3)
    assert seen(b, lambda: min_redemption(b, other.id), 3)
    assert min_redemption(b, tenant.id) == 1  # still cached: the rolled-back change dropped nothing


def test_what_a_changing_transaction_reads_is_not_kept(db_url: str, tenant: TenantCtx) -> None:
    a, _ = processes(db_url)
    assert min_redemption(a, tenant.id) == 1
    with pytest.raises(Boom), unit_of_work(a) as session:
        programs.update_settings(session, tenant_id=tenant.id, program_in=ProgramUpdate(min_redemption=7), now=START)
        assert programs.get(session, tenant_id=tenant.id).min_redemption == 7  # its own change, read afresh
        raise Boom
    assert min_redemption(a, tenant.id) == 1


def test_a_revoked_key_is_refused_by_another_process_at_once(db_url: str, tenant: TenantCtx) -> None:
    a, b = processes(db_url)
    secret = make_key(a, tenant.id, ["read"], START)

    def scopes() -> frozenset[str]:
        with b() as session:
            return tenants.authenticate(session, secret=secret).scopes

    assert scopes() == {"read"}
    with unit_of_work(a) as session:
        session.execute(update(ApiKey).where(ApiKey.key_hash == tenants.hash_key(secret)).values(scopes=["admin"]))
    assert scopes() == {"read"}  # b answers from its cache
    principal = tenants.cached_principal(secret)
    assert (principal is not None) == pushed(b)  # without a query only where revocations are pushed
    with b() as session:
        key_id = tenants.authenticate(session, secret=secret).key_id
    with unit_of_work(a) as session:
        tenants.revoke_key(session, tenant_id=tenant.id, key_id=key_id, now=START)

    def refused() -> bool:
        try:
            scopes()
        except Unauthorized:
            return True
        return False

    assert seen(b, refused, True)
    assert tenants.cached_principal(secret) is None


def _admin(url: str) -> psycopg.Connection:
    return psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)


def test_a_lost_listener_leaves_nothing_stale(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "RETRY_SECONDS", (0.5, 0.5))  # an outage long enough to change things in
    a, b = processes(pg_url)
    tenant = make_tenant(factory_for(pg_url), START)
    engine: Engine = b.kw["bind"]
    assert min_redemption(b, tenant.id) == 1
    before = cache.listener_state(engine)
    with _admin(pg_url) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (before.backend_pid,))
    assert until(lambda: not cache.listener_state(engine).live)
    change_min_redemption(a, tenant.id, 7)  # b cannot hear of this one
    assert min_redemption(b, tenant.id) == 7  # so it reads the database meanwhile
    assert until(lambda: cache.listener_state(engine).connections > before.connections and cache.listener_state(engine).live)
    assert min_redemption(b, tenant.id) == 7
    change_min_redemption(a, tenant.id, 9)
    assert seen(b, lambda: min_redemption(b, tenant.id), 9)  # and it hears again


def test_disposing_an_engine_closes_its_listener(pg_url: str) -> None:
    """So that the database can be dropped; the engine's next use listens again."""
    engine = make_engine(pg_url, pool_size=1)
    try:
        assert until(lambda: cache.listener_state(engine).live)
        pid = cache.listener_state(engine).backend_pid
        engine.dispose()
        with _admin(pg_url) as admin:
            assert until(lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() == (0,))
        assert until(lambda: cache.listener_state(engine).live)
        assert cache.listener_state(engine).backend_pid != pid
    finally:
        engine.dispose()

"""Console people against real databases: migration 0024 gives every tenant an owner from the roles of
before, two owners stepping down at once still leave one, and a link used twice at once works once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from tests.conftest import START, drop_postgres_database, factory_for, make_tenant, new_postgres_database
from wafa.db import make_engine, unit_of_work
from wafa.migrate import upgrade
from wafa.tenants import admin_tokens, admin_users


@pytest.fixture
def empty_url(db_url: str, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A database of the same kind as `db_url`, with nothing in it yet."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url = new_postgres_database(db_url, "wafa_people")
    yield url
    drop_postgres_database(url)


def test_0024_makes_each_tenants_first_active_admin_its_owner(empty_url: str) -> None:
    """Roles were admin and viewer: admins stay admins and viewers viewers, except each tenant's first
    active admin, who becomes its owner; a tenant of viewers only gets none."""
    engine = make_engine(empty_url)
    try:
        upgrade(engine, "0023")
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with engine.begin() as db:
            for slug in ("one", "two", "three"):
                db.execute(text("INSERT INTO tenants (slug, name, status, created_at) VALUES (:s, :s, 'active', :now)"), {"s": slug, "now": now})
            tenants = dict(db.execute(text("SELECT slug, id FROM tenants")).all())
            people = [("one", "a@x.sa", "viewer", "active"), ("one", "b@x.sa", "admin", "disabled"), ("one", "c@x.sa", "admin", "active"),
                      ("one", "d@x.sa", "admin", "active"), ("two", "e@x.sa", "admin", "active"), ("three", "f@x.sa", "viewer", "active")]
            for slug, email, role, status in people:
                db.execute(text(
                    "INSERT INTO admin_users (tenant_id, email, name, password_hash, role, status, failed_logins, created_at)"
                    " VALUES (:t, :e, :e, 'x', :r, :st, 0, :now)"
                ), {"t": tenants[slug], "e": email, "r": role, "st": status, "now": now})
        upgrade(engine, "0024")
        with engine.connect() as db:
            roles = dict(db.execute(text("SELECT email, role FROM admin_users")).all())
        assert roles == {"a@x.sa": "viewer", "b@x.sa": "admin", "c@x.sa": "owner", "d@x.sa": "admin", "e@x.sa": "owner", "f@x.sa": "viewer"}
    finally:
        engine.dispose()


def _at_once(*work) -> list[object]:  # type: ignore[no-untyped-def]
    """Run each callable in its own thread, released together; what each returned or raised."""
    gate = threading.Barrier(len(work))
    results: list[object] = [None] * len(work)

    def run(n: int) -> None:
        gate.wait()
        try:
            results[n] = work[n]()
        except Exception as exc:  # noqa: BLE001 (the test looks at what was raised)
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_owners_stepping_down_at_once_leave_one_owner(pg_url: str) -> None:
    """Each checks that another owner remains; the lock on the owners makes the second see the first's change."""
    factory = factory_for(pg_url)
    tenant = make_tenant(factory, START)
    ids = []
    with unit_of_work(factory) as session:
        for n in range(2):
            owner = admin_users.create(session, tenant_id=tenant.id, email=f"owner{n}@x.sa", name="O", password="p" * 12, role="owner", now=START)
            ids.append(owner.id)

    def step_down(user_id: int):  # type: ignore[no-untyped-def]
        return lambda: _demote(factory, tenant.id, user_id)

    results = _at_once(step_down(ids[0]), step_down(ids[1]))
    assert sum(isinstance(r, admin_users.LastOwner) for r in results) == 1, results
    with unit_of_work(factory) as session:
        assert admin_users.has_owner(session, tenant_id=tenant.id)


def _demote(factory, tenant_id: int, user_id: int) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return admin_users.change_role(session, tenant_id=tenant_id, user_id=user_id, role="admin", by_role="owner").role


def test_a_reset_link_used_twice_at_once_works_once(pg_url: str) -> None:
    factory = factory_for(pg_url)
    tenant = make_tenant(factory, START)
    with unit_of_work(factory) as session:
        user = admin_users.create(session, tenant_id=tenant.id, email="r@x.sa", name="R", password="p" * 12, role="admin", now=START)
        _, token = admin_tokens.request_reset(session, tenant_id=tenant.id, email="r@x.sa", now=START)  # type: ignore[misc]

    def use(password: str):  # type: ignore[no-untyped-def]
        def run() -> int:
            with unit_of_work(factory) as session:
                return admin_tokens.reset(session, token=token, password=password, now=START).id
        return run

    results = _at_once(use("first choice of two"), use("second choice of two"))
    assert sorted(type(r).__name__ for r in results) == ["LinkRefused", "int"], results
    assert results.count(user.id) == 1

"""The program's retention period: the worker anonymises members who have done nothing for that many
years (no event of theirs, no entry of theirs, no portal sign-in), by the erasure's own code path, and
counts them in its pass report; a clock moved by the test, never the wall's. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx
from tests.integration.members.test_erasure import verify_cli
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.events import member_events
from wafa.jobs import service as jobs
from wafa.ledger import service as ledger
from wafa.members import activity
from wafa.members.models import Member
from wafa.tenants import audit
from wafa.web import sessions

YEAR = timedelta(days=365)
DAY = timedelta(days=1)


def enrol(client: TestClient, clock: FrozenClock, when: datetime, name: str) -> int:
    clock.set(when)
    made = client.post("/v1/members", json={"external_id": f"{name}-{when:%Y%m%d%H%M%S%f}", "name": name, "email": f"{name}@example.com"})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def erased(factory: sessionmaker[Session], tenant_id: int) -> set[int]:
    with factory() as session:
        return set(session.execute(select(Member.id).where(Member.tenant_id == tenant_id, Member.erased_at.is_not(None))).scalars())


def test_the_worker_anonymises_members_inactive_for_the_programs_years(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock, db_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = clock.now()
    assert client.put("/v1/program/retention", json={"anonymise_inactive_after_years": 2}).json() == {"anonymise_inactive_after_years": 2}
    idle = enrol(client, clock, now - 3 * YEAR, "idle")
    # Points that never expire are still held: forfeited by the anonymisation, by an entry.
    holder = enrol(client, clock, now - 3 * YEAR, "holder")
    assert client.post(f"/v1/members/{holder}/adjustments", json={"points": 25, "reason": "kept"}).status_code == 201
    # Points credited 3 years ago that expire in this pass, and the birthday the worker recorded last month:
    # the program's doings, not the member's.
    assert client.patch("/v1/program", json={"expiry": {"policy": "days", "periods": 200}}).status_code == 200
    points = enrol(client, clock, now - 3 * YEAR, "points")
    assert client.post(f"/v1/members/{points}/adjustments", json={"points": 40, "reason": "welcome"}).status_code == 201
    with unit_of_work(factory) as session:
        member = session.get_one(Member, points)
        member_events.record_trigger(session, tenant_id=tenant.id, member=member, type_="birthday", reference="birthday:2026",
                                     attributes={"year": 2026}, occurred_at=now - 30 * DAY, now=now - 30 * DAY)
    bought = enrol(client, clock, now - 3 * YEAR, "bought")
    clock.set(now - YEAR)
    assert client.post("/v1/events", json={"type": "purchase", "member": {"id": bought}, "order_id": "R-1", "amount": "10.00",
                                           "currency": "SAR"}).status_code == 201
    visited = enrol(client, clock, now - 3 * YEAR, "visited")
    with unit_of_work(factory) as session:  # a portal sign-in a year ago, its session long idle
        sessions.start(session, kind="member", tenant_id=tenant.id, subject_id=visited, now=now - YEAR)
    recent = enrol(client, clock, now - YEAR, "recent")
    clock.set(now)

    report = jobs.run_due(factory, now=now, tenant_id=tenant.id)
    assert erased(factory, tenant.id) == {idle, points, holder}
    assert report.members_anonymised == 3
    with factory() as session:
        kept = {m.id: m for m in session.execute(select(Member).where(Member.id.in_([bought, visited, recent]))).scalars()}
        assert all(m.name and m.email and m.status == "active" for m in kept.values())
        assert kept[visited].last_seen_at == now - YEAR  # the sign-in outlived its session
        assert ledger.balances(session, tenant_id=tenant.id, member_id=holder)["available"] == 0
        records = audit.list_(session, tenant_id=tenant.id, action="member.erased")
    assert {(r.actor, r.details["via"]) for r in records} == {("retention period", "retention")} and len(records) == 3
    assert verify_cli(db_url, tenant.slug, monkeypatch)["ok"] is True

    # The same day again: nothing more. A year on, the purchase, the sign-in and the enrolment of a year ago
    # are two years old: those members are caught too.
    assert jobs.run_due(factory, now=now, tenant_id=tenant.id).members_anonymised == 0
    assert jobs.run_due(factory, now=now + YEAR + DAY, tenant_id=tenant.id).members_anonymised == 3
    assert erased(factory, tenant.id) == {idle, points, holder, bought, visited, recent}


def test_no_retention_period_anonymises_nobody(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    now = clock.now()
    enrol(client, clock, now - 10 * YEAR, "ancient")
    clock.set(now)
    assert client.get("/v1/program/retention").json() == {"anonymise_inactive_after_years": None}
    assert jobs.run_due(factory, now=now, tenant_id=tenant.id).members_anonymised == 0
    assert erased(factory, tenant.id) == set()


def test_a_sign_in_the_worker_is_about_to_forget_is_kept_on_the_member(factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    from tests.conftest import make_member

    now = clock.now()
    member_id = make_member(factory, tenant.id, now - YEAR)
    with unit_of_work(factory) as session:
        sessions.start(session, kind="member", tenant_id=tenant.id, subject_id=member_id, now=now - 40 * DAY)
        sessions.start(session, kind="member", tenant_id=tenant.id, subject_id=member_id, now=now - 35 * DAY)
    with unit_of_work(factory) as session:
        assert activity.keep_sign_ins(session, now=now) == 1
        assert activity.keep_sign_ins(session, now=now) == 0  # already as late: nothing moves
    with factory() as session:
        assert session.get_one(Member, member_id).last_seen_at == now - 35 * DAY


def test_years_before_a_29_february_is_the_28th() -> None:
    from datetime import UTC

    assert jobs.years_before(datetime(2028, 2, 29, 12, tzinfo=UTC), 1) == datetime(2027, 2, 28, 12, tzinfo=UTC)
    assert jobs.years_before(datetime(2026, 3, 1, 9, tzinfo=UTC), 2) == datetime(2024, 3, 1, 9, tzinfo=UTC)

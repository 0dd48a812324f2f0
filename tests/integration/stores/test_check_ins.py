"""Check-ins against a real database (SQLite and PostgreSQL): near enough, open now, once per store and
store-local day, within the program's velocity limits; each one a `check_in` event that rules award."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_member
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.errors import NotFound
from wafa.events import service as events
from wafa.ledger import service as ledger
from wafa.rules import service as rules
from wafa.rules.schemas import RuleDefinition
from wafa.stores import service
from wafa.stores.models import StoreCheckIn
from wafa.stores.schemas import StoreCreate
from wafa.trust import velocity
from wafa.trust.models import VelocityMark
from wafa.trust.schemas import VelocityLimit

Factory = sessionmaker[Session]
OLAYA = (24.6900, 46.6850)
# About 110 m north of Olaya: inside the default 150 m radius.
NEAR_OLAYA = (24.6910, 46.6850)
# About 1.1 km north: outside it.
FAR_FROM_OLAYA = (24.7000, 46.6850)
ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def add_store(factory: Factory, tenant_id: int, now, code: str = "RUH-01", at: tuple[float, float] = OLAYA,  # type: ignore[no-untyped-def]
              hours: dict | None = None, **fields: object) -> None:
    with unit_of_work(factory) as session:
        store_in = StoreCreate(code=code, name_en=f"Store {code}", name_ar="فرع", latitude=at[0], longitude=at[1], timezone="Asia/Riyadh",
                               hours=hours if hours is not None else ALWAYS,
                               **fields)  # type: ignore[arg-type]
        service.create(session, tenant_id=tenant_id, store_in=store_in, now=now)


def check_in(factory: Factory, tenant_id: int, member_id: int, now, code: str = "RUH-01", at: tuple[float, float] = NEAR_OLAYA):  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        row, result = service.check_in(session, tenant_id=tenant_id, member_id=member_id, store_code=code, latitude=at[0], longitude=at[1],
                                       now=now)
        return row.id, row.local_date, row.distance_m, row.event_id, result.total_points


def test_a_check_in_records_a_check_in_event_with_the_store_and_keeps_no_coordinates(factory: Factory, tenant: TenantCtx,
                                                                                      clock: FrozenClock) -> None:
    add_store(factory, tenant.id, clock.now())
    member_id = make_member(factory, tenant.id, clock.now())
    _, day, distance, event_id, _ = check_in(factory, tenant.id, member_id, clock.now())
    assert day == clock.now().date() and 100 <= distance <= 120
    with factory() as session:
        event = events.get_or_raise(session, tenant_id=tenant.id, event_id=event_id)
        assert (event.type, event.attributes, event.store, event.member_id) == ("check_in", {"store": "RUH-01"}, "RUH-01", member_id)
        columns = set(StoreCheckIn.__table__.columns.keys())
        assert not columns & {"latitude", "longitude"}
        assert service.checked_in(session, tenant_id=tenant.id, member_id=member_id, store_codes=["RUH-01", "RUH-02"], at=clock.now()) == {"RUH-01"}


def test_rules_on_the_check_in_trigger_award_check_ins_at_the_stores_they_name(factory: Factory, tenant: TenantCtx, clock: FrozenClock) -> None:
    add_store(factory, tenant.id, clock.now())
    add_store(factory, tenant.id, clock.now(), code="RUH-02")
    with unit_of_work(factory) as session:
        definition = RuleDefinition.model_validate({
            "name_en": "Visit Olaya", "name_ar": "زر العليا", "trigger": "check_in",
            "conditions": [{"type": "store", "any_of": ["RUH-01"]}], "actions": [{"type": "fixed_points", "points": 25}],
        })
        rules.create(session, tenant_id=tenant.id, definition=definition, status="active", now=clock.now())
    member_id = make_member(factory, tenant.id, clock.now())
    assert check_in(factory, tenant.id, member_id, clock.now())[4] == 25
    assert check_in(factory, tenant.id, member_id, clock.now(), code="RUH-02")[4] == 0
    with factory() as session:
        assert ledger.summary(session, tenant_id=tenant.id, member_id=member_id, now=clock.now())["available"] == 25


def test_too_far_is_refused_with_the_distance(factory: Factory, tenant: TenantCtx, clock: FrozenClock) -> None:
    add_store(factory, tenant.id, clock.now())
    member_id = make_member(factory, tenant.id, clock.now())
    with pytest.raises(service.StoreTooFar) as refused:
        check_in(factory, tenant.id, member_id, clock.now(), at=FAR_FROM_OLAYA)
    assert 1_100 <= refused.value.extra["distance_m"] <= 1_130 and refused.value.extra["radius_m"] == 150
    add_store(factory, tenant.id, clock.now(), code="WIDE", radius_m=2_000)
    assert check_in(factory, tenant.id, member_id, clock.now(), code="WIDE", at=FAR_FROM_OLAYA)[2] < 2_000


def test_a_closed_store_refuses_check_ins_by_its_own_clock(factory: Factory, tenant: TenantCtx, clock: FrozenClock) -> None:
    # START is Sunday 1 March 2026, 09:00 UTC: 12:00 in Riyadh.
    add_store(factory, tenant.id, clock.now(), hours={"sun": [["13:00", "23:00"]]})
    member_id = make_member(factory, tenant.id, clock.now())
    with pytest.raises(service.StoreClosed):
        check_in(factory, tenant.id, member_id, clock.now())
    assert check_in(factory, tenant.id, member_id, clock.now() + timedelta(hours=1))[0]
    with factory() as session:
        assert session.execute(select(func.count()).select_from(StoreCheckIn).where(StoreCheckIn.tenant_id == tenant.id)).scalar_one() == 1


def test_once_per_store_and_store_local_day(factory: Factory, tenant: TenantCtx, clock: FrozenClock) -> None:
    add_store(factory, tenant.id, clock.now())
    add_store(factory, tenant.id, clock.now(), code="RUH-02")
    member_id = make_member(factory, tenant.id, clock.now())
    late = clock.now().replace(hour=20, minute=30)  # 23:30 in Riyadh, Sunday
    check_in(factory, tenant.id, member_id, late)
    with pytest.raises(service.AlreadyCheckedIn):
        check_in(factory, tenant.id, member_id, late + timedelta(minutes=20))  # 23:50, the same day
    check_in(factory, tenant.id, member_id, late, code="RUH-02")  # another store, the same day
    other = make_member(factory, tenant.id, clock.now())
    check_in(factory, tenant.id, other, late)  # another member
    # 00:30 in Riyadh is Monday there, although it is still Sunday in UTC.
    _, day, *_ = check_in(factory, tenant.id, member_id, late + timedelta(hours=1))
    assert day.isoformat() == "2026-03-02"
    with factory() as session:
        assert service.checked_in(session, tenant_id=tenant.id, member_id=member_id, store_codes={"RUH-01", "RUH-02"},
                                  at=late + timedelta(hours=1)) == {"RUH-01"}
        both = service.checked_in(session, tenant_id=tenant.id, member_id=member_id, store_codes={"RUH-01", "RUH-02"}, at=late)
        assert both == {"RUH-01", "RUH-02"}


def test_a_velocity_limit_on_check_ins_refuses_past_it_and_refused_ones_do_not_count(factory: Factory, tenant: TenantCtx, clock: FrozenClock) -> None:
    for code in ("A", "B", "C", "D"):
        add_store(factory, tenant.id, clock.now(), code=code)
    with unit_of_work(factory) as session:
        velocity.replace_limits(session, tenant_id=tenant.id, now=clock.now(),
                                limits=[VelocityLimit(subject="member", action="check_in", window="hour", max_count=2)])
    member_id = make_member(factory, tenant.id, clock.now())
    check_in(factory, tenant.id, member_id, clock.now(), code="A")
    check_in(factory, tenant.id, member_id, clock.now() + timedelta(minutes=1), code="B")
    with pytest.raises(service.TooManyCheckIns) as refused:
        check_in(factory, tenant.id, member_id, clock.now() + timedelta(minutes=2), code="C")
    assert refused.value.status == 429 and refused.value.extra["limit"]["max_count"] == 2
    with factory() as session:
        marks = session.execute(select(func.count()).select_from(VelocityMark).where(VelocityMark.tenant_id == tenant.id)).scalar_one()
        assert marks == 2  # the refused check-in left nothing
        assert service.checked_in(session, tenant_id=tenant.id, member_id=member_id, store_codes=["C"], at=clock.now()) == set()
    # An hour after the first, there is room again.
    check_in(factory, tenant.id, member_id, clock.now() + timedelta(minutes=61), code="C")


def test_nearby_stores_nearest_first_with_open_now_and_radius(factory: Factory, tenant: TenantCtx, clock: FrozenClock) -> None:
    add_store(factory, tenant.id, clock.now(), code="NEAR")
    add_store(factory, tenant.id, clock.now(), code="CLOSED", at=(24.6895, 46.6850), hours={})
    add_store(factory, tenant.id, clock.now(), code="MID", at=(24.7000, 46.6850))
    add_store(factory, tenant.id, clock.now(), code="JEDDAH", at=(21.4858, 39.1925))
    add_store(factory, tenant.id, clock.now(), code="GONE", at=OLAYA, active=False)
    with factory() as session:
        found = service.nearby(session, tenant_id=tenant.id, latitude=NEAR_OLAYA[0], longitude=NEAR_OLAYA[1], at=clock.now())
    assert [(n.store.code, n.open_now, n.within_radius, n.can_check_in) for n in found] == [
        ("NEAR", True, True, True), ("CLOSED", False, False, False), ("MID", True, False, False),
    ]
    assert [n.distance_m for n in found] == sorted(n.distance_m for n in found)


def test_a_suspended_member_and_an_inactive_store_cannot_check_in(factory: Factory, tenant: TenantCtx, clock: FrozenClock) -> None:
    add_store(factory, tenant.id, clock.now())
    add_store(factory, tenant.id, clock.now(), code="GONE", active=False)
    member_id = make_member(factory, tenant.id, clock.now())
    with pytest.raises(NotFound):
        check_in(factory, tenant.id, member_id, clock.now(), code="GONE")
    with pytest.raises(NotFound):
        check_in(factory, tenant.id, member_id, clock.now(), code="NOPE")

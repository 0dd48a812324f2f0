"""Stores and check-ins: adding and changing stores, which are near a point and open now, and a member's
check-in at one (near enough, open, once per store and store-local day, within the program's velocity
limits), recorded as a `check_in` custom event so that rules, badges and challenges can use it."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wafa.db import insert_unless_exists
from wafa.errors import Conflict, InvalidInput, MemberNotActive, NotFound, WafaError
from wafa.events import member_events
from wafa.events import types as event_types
from wafa.events.schemas import CustomEventIn, EventResult, MemberRef
from wafa.members import service as members
from wafa.stores import hours
from wafa.stores.models import Store, StoreCheckIn
from wafa.stores.schemas import StoreCreate, StoreUpdate
from wafa.trust import velocity

CHECK_IN = "check_in"  # the custom event type each check-in records, and the velocity limits' action
CHECK_IN_SCHEMA = {
    "type": "object",
    "properties": {"store": {"type": "string", "description": "the store's code"}},
    "required": ["store"],
}
_WINDOWS = {"hour": "an hour", "day": "a day", "week": "a week"}
NEARBY_M = 5_000  # how far nearby stores are looked for by default
MOST_NEARBY = 50


class StoreTooFar(InvalidInput):
    """The member is farther from the store than its check-in radius."""

    slug = "store-too-far"
    title = "Too far from the store"


class StoreClosed(InvalidInput):
    """The store is closed now, by its opening hours in its time zone."""

    slug = "store-closed"
    title = "The store is closed"


class AlreadyCheckedIn(Conflict):
    """The member checked in at this store on this store-local day already."""

    slug = "already-checked-in"
    title = "Already checked in today"


class TooManyCheckIns(WafaError):
    """A check-in past one of the program's velocity limits on check-ins: refused (nothing is held for review)."""

    status = 429
    slug = "too-many-check-ins"
    title = "Too many check-ins"


@dataclass(frozen=True, slots=True)
class Nearby:
    """A store near a point: how far, and whether it is open now and near enough to check in."""

    store: Store
    distance_m: int
    open_now: bool
    within_radius: bool

    @property
    def can_check_in(self) -> bool:
        return self.open_now and self.within_radius


# --- stores ----------------------------------------------------------------------------------------


def get_by_code(session: Session, *, tenant_id: int, code: str) -> Store | None:
    """A store by its code, or None."""
    return session.execute(select(Store).where(Store.tenant_id == tenant_id, Store.code == code)).scalar_one_or_none()


def get_by_code_or_raise(session: Session, *, tenant_id: int, code: str) -> Store:
    """A store by its code, or NotFound."""
    found = get_by_code(session, tenant_id=tenant_id, code=code)
    if found is None:
        raise NotFound(f"no store {code!r}", field="store")
    return found


def list_(session: Session, *, tenant_id: int, after_id: int | None = None, limit: int = 50, active: bool | None = None) -> list[Store]:
    """Stores in id order after a cursor (only active ones, or inactive ones, when `active` says)."""
    query = select(Store).where(Store.tenant_id == tenant_id)
    if after_id is not None:
        query = query.where(Store.id > after_id)
    if active is not None:
        query = query.where(Store.active == active)
    return list(session.execute(query.order_by(Store.id).limit(limit)).scalars())


def declare_check_in_type(session: Session, *, tenant_id: int, now: datetime) -> None:
    """Declare the `check_in` custom event type unless the tenant has it, so rules can use trigger `check_in`."""
    if event_types.get_by_name(session, tenant_id=tenant_id, name=CHECK_IN) is None:
        event_types.create(
            session, tenant_id=tenant_id, name=CHECK_IN, schema=CHECK_IN_SCHEMA, now=now,
            description="A member checked in at a store (attributes.store: its code); declared with the first store",
        )


def create(session: Session, *, tenant_id: int, store_in: StoreCreate, now: datetime) -> Store:
    """Add a store (Conflict if its code is taken); the first one declares the `check_in` event type."""
    if get_by_code(session, tenant_id=tenant_id, code=store_in.code) is not None:
        raise Conflict(f"store {store_in.code!r} exists already", field="code")
    store = Store(tenant_id=tenant_id, **store_in.model_dump(), created_at=now, updated_at=now)
    session.add(store)
    session.flush()
    declare_check_in_type(session, tenant_id=tenant_id, now=now)
    return store


def update_(session: Session, *, tenant_id: int, code: str, store_in: StoreUpdate, now: datetime) -> Store:
    """Change the fields given (deactivate with `active: false`); check-ins already made stay as they were."""
    store = get_by_code_or_raise(session, tenant_id=tenant_id, code=code)
    for name, value in store_in.model_dump(exclude_unset=True).items():
        if value is None and name != "name_ar":
            continue
        setattr(store, name, value)
    store.updated_at = now
    session.flush()
    return store


def deactivate(session: Session, *, tenant_id: int, code: str, now: datetime) -> Store:
    """Take a store out of check-ins and nearby lists (its check-ins stay)."""
    return update_(session, tenant_id=tenant_id, code=code, store_in=StoreUpdate(active=False), now=now)


def is_open(store: Store, at: datetime) -> bool:
    """Whether the store is open at `at`, by its hours in its time zone."""
    return hours.is_open(store.hours, store.timezone, at)


def nearby(
    session: Session, *, tenant_id: int, latitude: float, longitude: float, at: datetime, within_m: int = NEARBY_M, limit: int = MOST_NEARBY,
) -> list[Nearby]:
    """Active stores within `within_m` metres of a point, nearest first, each with whether it is open at `at`."""
    # A latitude band first (an index reads it), then the exact distance of the stores in it.
    band = within_m / 111_000 + 0.01
    query = select(Store).where(
        Store.tenant_id == tenant_id, Store.active.is_(True), Store.latitude >= latitude - band, Store.latitude <= latitude + band,
    )
    found = []
    for store in session.execute(query).scalars():
        distance = round(hours.distance_m(latitude, longitude, store.latitude, store.longitude))
        if distance <= within_m:
            found.append(Nearby(store, distance, is_open(store, at), distance <= store.radius_m))
    return sorted(found, key=lambda near: (near.distance_m, near.store.code))[:limit]


# --- check-ins -------------------------------------------------------------------------------------


def _check_point(latitude: float, longitude: float) -> None:
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise InvalidInput("latitude is from -90 to 90", field="latitude")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise InvalidInput("longitude is from -180 to 180", field="longitude")


def check_in(
    session: Session, *, tenant_id: int, member_id: int, store_code: str, latitude: float, longitude: float, now: datetime,
    channel: str = "api",
) -> tuple[StoreCheckIn, EventResult]:
    """Check a member in at a store from where they are now: refused when farther than the store's radius
    (StoreTooFar, with the distance), when the store is closed (StoreClosed), a second time the same
    store-local day (AlreadyCheckedIn, also under concurrent requests) or past a velocity limit on
    check-ins (TooManyCheckIns). Records a `check_in` event (attributes.store, and its store) whose rules
    award what they give; the coordinates are used for the distance and not kept."""
    _check_point(latitude, longitude)
    member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
    if member.status != "active":
        raise MemberNotActive(f"member is {member.status}")
    store = get_by_code_or_raise(session, tenant_id=tenant_id, code=store_code)
    if not store.active:
        raise NotFound(f"store {store_code!r} is closed for check-ins", field="store")
    distance = round(hours.distance_m(latitude, longitude, store.latitude, store.longitude))
    if distance > store.radius_m:
        raise StoreTooFar(
            f"you are {distance} m from {store.code}: check in within {store.radius_m} m", field="store", distance_m=distance,
            radius_m=store.radius_m,
        )
    if not is_open(store, now):
        raise StoreClosed(f"{store.code} is closed now", field="store")
    day = hours.local_date(store.timezone, now)
    if _made(session, tenant_id=tenant_id, member_id=member_id, store_id=store.id, day=day):
        raise AlreadyCheckedIn(f"already checked in at {store.code} on {day.isoformat()}", field="store")
    breach = velocity.refusal(session, tenant_id=tenant_id, action=CHECK_IN, subjects=velocity.Subjects(member=member_id, store=store.code), now=now)
    if breach is not None:
        limit = breach.limit
        most = min(value for value in (limit.get("max_count"), limit.get("max_value")) if value is not None)
        raise TooManyCheckIns(
            f"at most {most} check-ins per {limit['subject']} in {_WINDOWS[limit['window']]}: try again later", limit=limit,
            observed=breach.observed,
        )
    # The day is claimed first: of two concurrent check-ins, the second waits here and finds it taken.
    claimed = insert_unless_exists(
        session, StoreCheckIn, {
            "tenant_id": tenant_id, "member_id": member_id, "store_id": store.id, "local_date": day, "checked_in_at": now,
            "distance_m": distance, "event_id": None,
        }, conflict=["tenant_id", "member_id", "store_id", "local_date"], returning=[StoreCheckIn.id],
    ).first()
    if claimed is None:
        raise AlreadyCheckedIn(f"already checked in at {store.code} on {day.isoformat()}", field="store")
    declare_check_in_type(session, tenant_id=tenant_id, now=now)
    reference = f"check-in:{claimed[0]}"
    result, _ = member_events.record_custom(
        session, tenant_id=tenant_id, now=now, request_hash=hashlib.sha256(reference.encode()).hexdigest(),
        event_in=CustomEventIn(
            type=CHECK_IN, member=MemberRef(id=member_id), reference=reference, attributes={"store": store.code}, channel=channel,
            store=store.code,
        ),
    )
    session.execute(update(StoreCheckIn).where(StoreCheckIn.tenant_id == tenant_id, StoreCheckIn.id == claimed[0]).values(event_id=result.event_id))
    row = session.execute(select(StoreCheckIn).where(StoreCheckIn.tenant_id == tenant_id, StoreCheckIn.id == claimed[0])
                          .execution_options(populate_existing=True)).scalar_one()
    return row, result


def _made(session: Session, *, tenant_id: int, member_id: int, store_id: int, day: date) -> bool:
    return session.execute(select(StoreCheckIn.id).where(
        StoreCheckIn.tenant_id == tenant_id, StoreCheckIn.member_id == member_id, StoreCheckIn.store_id == store_id,
        StoreCheckIn.local_date == day,
    )).first() is not None


def checked_in(session: Session, *, tenant_id: int, member_id: int, store_codes: list[str] | set[str], at: datetime) -> set[str]:
    """Which of these stores the member checked in at on each store's own calendar day of `at`."""
    if not store_codes:
        return set()
    stores = session.execute(select(Store.id, Store.code, Store.timezone).where(
        Store.tenant_id == tenant_id, Store.code.in_(sorted(set(store_codes))))).all()
    days = {store_id: hours.local_date(timezone, at) for store_id, _, timezone in stores}
    if not days:
        return set()
    made = session.execute(select(StoreCheckIn.store_id, StoreCheckIn.local_date).where(
        StoreCheckIn.tenant_id == tenant_id, StoreCheckIn.member_id == member_id, StoreCheckIn.store_id.in_(list(days)),
        StoreCheckIn.local_date.in_(sorted(set(days.values()))),
    )).all()
    codes = {store_id: code for store_id, code, _ in stores}
    return {codes[store_id] for store_id, day in made if days[store_id] == day}


def check_ins_of(session: Session, *, tenant_id: int, member_id: int, before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """A member's check-ins, newest first, each with its store's code."""
    query = select(StoreCheckIn, Store.code).join(Store, (Store.tenant_id == StoreCheckIn.tenant_id) & (Store.id == StoreCheckIn.store_id)).where(
        StoreCheckIn.tenant_id == tenant_id, StoreCheckIn.member_id == member_id)
    if before_id is not None:
        query = query.where(StoreCheckIn.id < before_id)
    rows = session.execute(query.order_by(StoreCheckIn.id.desc()).limit(limit)).all()
    return [as_dict(row, code) for row, code in rows]


def as_dict(row: StoreCheckIn, code: str) -> dict[str, Any]:
    """A check-in as the API shows it."""
    return {
        "id": row.id, "member_id": row.member_id, "store": code, "local_date": row.local_date, "checked_in_at": row.checked_in_at,
        "distance_m": row.distance_m, "event_id": row.event_id,
    }


def today_counts(session: Session, *, tenant_id: int, stores: list[Store], now: datetime) -> dict[int, int]:
    """How many members checked in at each store on its own calendar day of `now`."""
    days = {store.id: hours.local_date(store.timezone, now) for store in stores}
    if not days:
        return {}
    counts: dict[int, int] = dict.fromkeys(days, 0)
    rows = session.execute(select(StoreCheckIn.store_id, StoreCheckIn.local_date, func.count()).where(
        StoreCheckIn.tenant_id == tenant_id, StoreCheckIn.store_id.in_(list(days)), StoreCheckIn.local_date.in_(sorted(set(days.values()))),
    ).group_by(StoreCheckIn.store_id, StoreCheckIn.local_date)).all()
    for store_id, day, count in rows:
        if days[store_id] == day:
            counts[store_id] = int(count)
    return counts

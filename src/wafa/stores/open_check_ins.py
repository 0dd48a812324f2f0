"""Where a member is checked in now: which of some stores they checked in at on the store's own day and which
are open at that moment. Read by location offers on the purchase path (so it imports no other domain: the
stores' service records check-ins as events, which read offers)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.stores import hours
from wafa.stores.models import Store, StoreCheckIn


def open_check_ins(session: Session, *, tenant_id: int, member_id: int, store_codes: Collection[str], at: datetime) -> set[str]:
    """The codes among these of active stores open at `at` where the member checked in on the store's day of `at` (two reads)."""
    if not store_codes:
        return set()
    stores = session.execute(select(Store).where(Store.tenant_id == tenant_id, Store.code.in_(sorted(set(store_codes))),
                                                 Store.active.is_(True))).scalars().all()
    open_now = {store.id: store for store in stores if hours.is_open(store.hours, store.timezone, at)}
    if not open_now:
        return set()
    days = {store_id: hours.local_date(store.timezone, at) for store_id, store in open_now.items()}
    made = session.execute(select(StoreCheckIn.store_id, StoreCheckIn.local_date).where(
        StoreCheckIn.tenant_id == tenant_id, StoreCheckIn.member_id == member_id, StoreCheckIn.store_id.in_(sorted(days)),
        StoreCheckIn.local_date.in_(sorted(set(days.values()))),
    )).all()
    return {open_now[store_id].code for store_id, day in made if days[store_id] == day}

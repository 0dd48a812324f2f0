"""A realistic demo program: a tenant, members and six months of purchases, returns and redemptions."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from wafa.db import unit_of_work
from wafa.errors import WafaError
from wafa.events import service as events
from wafa.events.idempotency import request_hash
from wafa.events.schemas import Item, MemberRef, PurchaseIn, ReturnIn
from wafa.jobs.service import run_due
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.members.schemas import Consent, MemberCreate
from wafa.tenants import service as tenants

FIRST = ["Ahmed", "Fatima", "Omar", "Layla", "Yousef", "Noura", "Khalid", "Sara", "Ali", "Huda", "Faisal", "Reem", "Hassan", "Mona"]
FIRST_AR = ["أحمد", "فاطمة", "عمر", "ليلى", "يوسف", "نورة", "خالد", "سارة", "علي", "هدى", "فيصل", "ريم", "حسن", "منى"]
LAST = ["Al-Saud", "Haddad", "Khoury", "Nasser", "Mansour", "Qasim", "Farouk", "Hamdan", "Aziz", "Saleh"]
CATALOG = [
    ("COF-ESP", "coffee", "Wafa Roasters", "12.00"),
    ("COF-LAT", "coffee", "Wafa Roasters", "16.50"),
    ("BAK-CRO", "bakery", "Al Noor Bakery", "9.00"),
    ("DAT-AJW", "dates", "Madinah Farms", "45.00"),
    ("DAT-SKR", "dates", "Qassim Farms", "38.00"),
    ("GRO-RIC", "grocery", "Basmati Gold", "29.95"),
    ("GRO-OIL", "grocery", "Zaytoun", "54.00"),
    ("PER-OUD", "perfume", "Oud House", "320.00"),
]


@dataclass
class DemoResult:
    tenant_slug: str
    api_key: str
    members: int
    purchases: int
    returns: int
    redemptions: int


def seed(
    factory: sessionmaker[Session],
    *,
    now: datetime,
    slug: str = "demo",
    members_count: int = 200,
    months: int = 6,
    seed_value: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Create (or reuse) the demo tenant, fill it with history if empty, and return a fresh admin key."""
    rng = random.Random(seed_value)
    with unit_of_work(factory) as session:
        tenant = tenants.get_by_slug(session, slug=slug)
        fresh = tenant is None
        if tenant is None:
            tenant = tenants.create(
                session,
                name="Al Noor Stores (demo)",
                slug=slug,
                currency="SAR",
                now=now - timedelta(days=31 * months + 1),
                points_name={"en": "Noor points", "ar": "نقاط النور"},
                earn_rates={"SAR": "1", "USD": "3.75", "JOD": "5"},
                pending_days=14,
                expiry={"policy": "end_of_year", "periods": 1},
                timezone="Asia/Riyadh",
                default_region="SA",
                min_redemption=100,
            )
        key = tenants.create_key(session, tenant_id=tenant.id, name=f"demo admin {now:%Y-%m-%d %H:%M}", scopes=["admin"], now=now)
        tenant_id = tenant.id
    result = DemoResult(slug, key.secret, 0, 0, 0, 0)
    if not fresh:
        return result

    start = now - timedelta(days=31 * months)
    ids: list[int] = []
    with unit_of_work(factory) as session:
        for n in range(members_count):
            i = rng.randrange(len(FIRST))
            arabic = rng.random() < 0.6
            name = f"{FIRST_AR[i]}" if arabic else f"{FIRST[i]} {rng.choice(LAST)}"
            member = members.create(
                session,
                tenant_id=tenant_id,
                member_in=MemberCreate(
                    external_id=f"C{10000 + n}",
                    name=name,
                    email=f"member{n}@example.com",
                    phone=f"+96655{rng.randrange(1_000_000, 9_999_999)}",
                    locale="ar" if arabic else "en",
                    consent=Consent(email=rng.random() < 0.7, sms=rng.random() < 0.4),
                ),
                region="SA",
                now=start + timedelta(days=rng.random() * 31 * months * 0.7),
            )
            ids.append(member.id)
    result.members = len(ids)
    # Some members shop weekly, most now and then: a skewed activity weight each.
    weight = {mid: rng.paretovariate(1.5) for mid in ids}
    days = (now - start).days
    order = 0
    for day in range(days):
        today = start + timedelta(days=day)
        with unit_of_work(factory) as session:
            for _ in range(rng.randrange(10, 22)):
                order += 1
                at = today + timedelta(hours=rng.uniform(8, 22))
                member_id = rng.choices(ids, weights=[weight[m] for m in ids])[0] if rng.random() < 0.75 else None
                lines = [rng.choice(CATALOG) for _ in range(rng.randrange(1, 5))]
                items = [Item(sku=s, category=c, brand=b, quantity=rng.randrange(1, 3), unit_price=p) for s, c, b, p in lines]
                total = sum(Decimal(i.unit_price) * i.quantity for i in items)
                purchase = PurchaseIn(
                    type="purchase",
                    member=MemberRef(id=member_id) if member_id else None,
                    order_id=f"D{order:06d}",
                    amount=str(total),
                    currency="SAR",
                    occurred_at=at,
                    items=items,
                    channel=rng.choice(["store", "store", "app", "web"]),
                    store=rng.choice(["RUH-01", "RUH-02", "JED-01"]),
                )
                events.record_purchase(session, tenant_id=tenant_id, event_in=purchase, request_hash=request_hash("POST", "/v1/events", purchase.model_dump(mode="json")), now=at)
                result.purchases += 1
                if member_id and rng.random() < 0.04:
                    ret = ReturnIn(type="return", order_id=purchase.order_id, items=[{"sku": items[0].sku, "quantity": 1}], occurred_at=at + timedelta(hours=30))
                    events.record_return(session, tenant_id=tenant_id, event_in=ret, now=at + timedelta(hours=30))
                    result.returns += 1
        if day % 7 == 6:
            run_due(factory, now=today, tenant_id=tenant_id)
            with unit_of_work(factory) as session:
                for member_id in rng.sample(ids, 6):
                    available = ledger.balances(session, tenant_id=tenant_id, member_id=member_id)["available"]
                    if available >= 300:
                        try:
                            ledger.debit(
                                session, tenant_id=tenant_id, member_id=member_id, points=(available // 200) * 100,
                                kind="redeem", destination="redeemed", idempotency_key=f"demo:redeem:{day}:{member_id}",
                                reason="demo: discount at the till", now=today,
                            )
                            result.redemptions += 1
                        except WafaError:
                            pass
        if progress:
            progress(day + 1, days)
    run_due(factory, now=now, tenant_id=tenant_id)
    return result

"""What badges, challenges and streaks cost a purchase, on SQLite and PostgreSQL.

Three tenants in one database take the same purchases through the events service, one after another
(one transaction each, as the API does): a plain program (a purchase is one statement on PostgreSQL),
one with a tier (the transactional path: accounts locked, tier re-measured), and one with the tier and
six badges (three over order lines), two challenges and a weekly streak. The references are the first
two, measured in the same run: the ratios are what achievements cost. A second pass measures members
with a long history (the goals read it), since that is where the cost grows.

Run: .venv/bin/python bench/achievements.py [--purchases 2000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from wafa.db import make_engine, unit_of_work
from wafa.engagement import achievements
from wafa.engagement.schemas import BadgeIn, ChallengeIn, StreakIn
from wafa.events import service as events
from wafa.events import types as event_types
from wafa.events.idempotency import request_hash
from wafa.events.schemas import Item, MemberRef, PurchaseIn
from wafa.members import service as members
from wafa.members.schemas import MemberCreate
from wafa.migrate import upgrade
from wafa.tenants import service as tenants
from wafa.tiers import service as tiers
from wafa.tiers.schemas import TierIn

START = datetime(2026, 1, 5, 9, tzinfo=UTC)
CATALOG = [("COF", "coffee", "12.00"), ("BAK", "bakery", "9.00"), ("DAT", "dates", "45.00"), ("GRO", "grocery", "29.95")]


def with_achievements(session: Session, tenant_id: int) -> None:
    event_types.create(session, tenant_id=tenant_id, name="review_written", description=None, schema={"type": "object"}, now=START)
    for key, criterion in (
        ("regular", {"metric": "purchases", "at_least": "20"}),
        ("big", {"metric": "spend", "at_least": "2000.00"}),
        ("coffee", {"metric": "spend", "at_least": "500.00", "category": "coffee"}),
        ("explorer", {"metric": "categories", "at_least": "5"}),
        ("large-orders", {"metric": "purchases", "at_least": "10", "min_amount": "60.00"}),
        ("critic", {"metric": "events", "event_type": "review_written", "at_least": "3"}),
    ):
        achievements.create_badge(session, tenant_id=tenant_id, now=START, badge_in=BadgeIn(
            key=key, name_en=key, name_ar=key, points=50, criterion=criterion))
    for key, goal in (("five", {"metric": "purchases", "at_least": "5"}), ("three-kinds", {"metric": "categories", "at_least": "3"})):
        achievements.create_challenge(session, tenant_id=tenant_id, now=START, challenge_in=ChallengeIn(
            key=key, name_en=key, name_ar=key, goal=goal, starts_at=START, ends_at=START + timedelta(days=365), points=100))
    achievements.create_streak(session, tenant_id=tenant_id, now=START, streak_in=StreakIn(
        key="weekly", name_en="weekly", name_ar="weekly", period="week", starts_at=START,
        milestones=[{"length": 4, "points": 40}, {"length": 8, "points": 80}]))


def setup(factory: sessionmaker[Session], *, achieving: bool, members_count: int, tiered: bool = False) -> tuple[int, list[int]]:
    with unit_of_work(factory) as session:
        tenant_id = tenants.create(session, name="Bench", slug=f"b{uuid.uuid4().hex[:8]}", currency="SAR", now=START,
                                   pending_days=14).id
        if tiered or achieving:
            tiers.create(session, tenant_id=tenant_id, now=START, tier_in=TierIn(
                key="gold", name_en="Gold", name_ar="ذهبي", rank=1, threshold="100000"))
        if achieving:
            with_achievements(session, tenant_id)
        ids = [
            members.create(session, tenant_id=tenant_id, member_in=MemberCreate(external_id=f"m{n}"), region="SA", now=START).id
            for n in range(members_count)
        ]
    return tenant_id, ids


def buy(factory: sessionmaker[Session], tenant_id: int, member_id: int, order: str, at: datetime, rng: random.Random) -> None:
    lines = [rng.choice(CATALOG) for _ in range(rng.randrange(1, 4))]
    items = [Item(sku=sku, category=category, quantity=1, unit_price=price) for sku, category, price in lines]
    total = sum(float(i.unit_price) for i in items)
    purchase = PurchaseIn(type="purchase", member=MemberRef(id=member_id), order_id=order, amount=f"{total:.2f}",
                          currency="SAR", occurred_at=at, items=items)
    with unit_of_work(factory) as session:
        events.record_purchase(session, tenant_id=tenant_id, event_in=purchase,
                               request_hash=request_hash("POST", "/v1/events", purchase.model_dump(mode="json")), now=at)


def run(factory: sessionmaker[Session], *, achieving: bool, purchases: int, tiered: bool = False) -> tuple[float, float]:
    """Purchases per second over many members with short histories, and ms per purchase for members
    with 300 orders behind them."""
    rng = random.Random(1)
    tenant_id, ids = setup(factory, achieving=achieving, members_count=200, tiered=tiered)
    start = time.perf_counter()
    for n in range(purchases):
        buy(factory, tenant_id, rng.choice(ids), f"o{n}", START + timedelta(hours=n), rng)
    rate = purchases / (time.perf_counter() - start)
    long_ids = ids[:5]
    for n in range(300 * len(long_ids)):
        buy(factory, tenant_id, long_ids[n % len(long_ids)], f"h{n}", START + timedelta(hours=n), rng)
    start = time.perf_counter()
    for n in range(100):
        buy(factory, tenant_id, long_ids[n % len(long_ids)], f"t{n}", START + timedelta(days=100, hours=n), rng)
    return rate, (time.perf_counter() - start) * 1000 / 100


def report(name: str, factory: sessionmaker[Session], purchases: int) -> None:
    plain, plain_long = run(factory, achieving=False, purchases=purchases)
    tier, tier_long = run(factory, achieving=False, purchases=purchases, tiered=True)
    rich, rich_long = run(factory, achieving=True, purchases=purchases)
    print(f"{name}:")
    print(f"  plain program        {plain:8,.0f} purchases/s   {plain_long:5.1f} ms each with 300 orders behind")
    print(f"  with a tier          {tier:8,.0f} purchases/s   {tier_long:5.1f} ms")
    print(f"  tier + achievements  {rich:8,.0f} purchases/s   {rich_long:5.1f} ms")
    print(f"  achievements / tier: {rich / tier:.2f}x ({tier_long / rich_long:.2f}x with long histories); "
          f"achievements / plain: {rich / plain:.2f}x ({plain_long / rich_long:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--purchases", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(f"environment: cpus={os.cpu_count()} python={platform.python_version()} sqlalchemy={sqlalchemy.__version__} "
          f"sqlite={sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        report("SQLite", sessionmaker(engine, expire_on_commit=False), args.purchases)
        engine.dispose()
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"wafa_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
        version = conn.execute(text("SHOW server_version")).scalar_one()
    try:
        engine = make_engine(args.postgres.rsplit("/", 1)[0] + f"/{name}")
        upgrade(engine)
        report(f"PostgreSQL {version}", sessionmaker(engine, expire_on_commit=False), args.purchases)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    main()

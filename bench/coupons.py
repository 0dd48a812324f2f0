"""Coupon campaign benchmark: generate 100,000 codes and export them as CSV, on SQLite and PostgreSQL.

The reference, measured in the same run on the same database: the database inserting 100,000 rows of
the same shape by itself (PostgreSQL: one INSERT ... SELECT over generate_series; SQLite: one
executemany of prepared tuples), i.e. the floor any generator sits on.

Run: .venv/bin/python bench/coupons.py [--count 100000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from wafa.db import make_engine, unit_of_work
from wafa.migrate import upgrade
from wafa.rewards import coupons
from wafa.rewards.discounts import Discount
from wafa.rewards.routes import csv_lines
from wafa.tenants import service as tenants

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def campaign(url: str, count: int) -> tuple[float, float]:
    """Seconds to generate `count` codes, and to export them as CSV."""
    engine = make_engine(url)
    upgrade(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with unit_of_work(factory) as session:
        tenant_id = tenants.create(session, name="Bench", currency="SAR", now=NOW, pending_days=0).id
    start = time.perf_counter()
    with unit_of_work(factory) as session:
        made = coupons.create_campaign(
            session, tenant_id=tenant_id, name="bench", discount=Discount(type="percent", currency="SAR", percent="10"),
            count=count, max_uses=1, prefix="", length=12, valid_from=None, valid_until=None, now=NOW,
        )
        campaign_id = made.id
    generated = time.perf_counter() - start
    start = time.perf_counter()
    with unit_of_work(factory) as session:
        size = sum(len(chunk) for chunk in csv_lines(coupons.campaign_codes(session, tenant_id=tenant_id, campaign_id=campaign_id), NOW))
    exported = time.perf_counter() - start
    assert size > count * 12
    engine.dispose()
    return generated, exported


def reference_postgres(url: str, count: int) -> float:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE ref (id bigserial primary key, tenant_id bigint, code varchar(40), discount json, "
                          "max_uses int, uses int, status varchar(16), created_at timestamptz, UNIQUE (tenant_id, code))"))
        start = time.perf_counter()
        conn.execute(text(
            "INSERT INTO ref (tenant_id, code, discount, max_uses, uses, status, created_at) "
            "SELECT 1, md5(g::text), '{\"type\": \"percent\"}', 1, 0, 'active', now() FROM generate_series(1, :n) g"
        ), {"n": count})
        took = time.perf_counter() - start
    engine.dispose()
    return took


def reference_sqlite(count: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(os.path.join(folder, "ref.db"))
        conn.execute("CREATE TABLE ref (id integer primary key, tenant_id int, code text, discount text, max_uses int, uses int, "
                     "status text, created_at text, UNIQUE (tenant_id, code))")
        rows = [(1, uuid.uuid4().hex[:12], '{"type": "percent"}', 1, 0, "active", NOW.isoformat()) for _ in range(count)]
        start = time.perf_counter()
        conn.executemany("INSERT INTO ref (tenant_id, code, discount, max_uses, uses, status, created_at) VALUES (?,?,?,?,?,?,?)", rows)
        conn.commit()
        took = time.perf_counter() - start
        conn.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(f"environment: cpus={os.cpu_count()} python={platform.python_version()} sqlalchemy={sqlalchemy.__version__} "
          f"sqlite={sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory() as folder:
        generated, exported = campaign(f"sqlite:///{folder}/bench.db", args.count)
    floor = reference_sqlite(args.count)
    print(f"SQLite: {args.count} codes generated in {generated:.2f} s ({args.count / generated:,.0f}/s), "
          f"exported in {exported:.2f} s; raw insert {floor:.2f} s; ratio {generated / floor:.1f}x")
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"wafa_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
        version = conn.execute(text("SHOW server_version")).scalar_one()
    url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
    try:
        generated, exported = campaign(url, args.count)
        floor = reference_postgres(url, args.count)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
    print(f"PostgreSQL {version}: {args.count} codes generated in {generated:.2f} s ({args.count / generated:,.0f}/s), "
          f"exported in {exported:.2f} s; raw INSERT ... SELECT {floor:.2f} s; ratio {generated / floor:.1f}x")


if __name__ == "__main__":
    main()

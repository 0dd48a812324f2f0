"""KPI benchmark: the full KPI set (a year, compared with the year before) over one million purchases on
PostgreSQL, against pgbench's tps in the same run.

The history is generated as a CSV over two years, a tenth as many customers as rows, and loaded with
`wafa import purchases`; then a tenth of the purchases are made non-member ones. Then the KPI report is timed five times
(the first one cold), and the cohort matrix once.

Run: .venv/bin/python bench/kpis.py [--rows 1000000]   (needs pgbench: apt-get install postgresql-client)
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
sys.path.insert(0, str(Path(__file__).parent))
from imports import pgbench_tps  # noqa: E402


def generate(path: Path, rows: int) -> None:
    rng = random.Random(2)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "date", "amount", "order_id"])
        for n in range(rows):
            year = rng.choice((2024, 2025))
            writer.writerow([f"C{rng.randrange(rows // 10)}", f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                             f"{rng.uniform(5, 500):.2f}", f"O{n}"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
    print(f"environment: cpus={os.cpu_count()} python={platform.python_version()} postgresql={version} rows={args.rows}")
    run = uuid.uuid4().hex[:8]
    db, pgb = f"wafa_kpi_{run}", f"pgbench_kpi_{run}"
    url = ADMIN.rsplit("/", 1)[0] + f"/{db}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {db}"))
        conn.execute(text(f"CREATE DATABASE {pgb}"))
    try:
        env = dict(os.environ, WAFA_DATABASE_URL=url)
        wafa = [sys.executable, "-m", "wafa.cli.main"]
        subprocess.run([*wafa, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run([*wafa, "tenant", "create", "KPI", "--currency", "SAR", "--slug", "kpi", "--pending-days", "0", "--json"], env=env, check=True,
                       capture_output=True)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "history.csv"
            generate(path, args.rows)
            started = time.perf_counter()
            subprocess.run([*wafa, "import", "purchases", str(path), "--tenant", "kpi", "--json"], env=env, check=True, capture_output=True)
            print(f"loaded in {time.perf_counter() - started:.1f} s")
        engine = create_engine(url)
        with engine.begin() as conn:  # a tenth of the purchases made without a member
            conn.execute(text("UPDATE events SET member_id = NULL WHERE type = 'purchase' AND id % 10 = 0"))
            conn.execute(text("ANALYZE"))
        from sqlalchemy.orm import sessionmaker

        from wafa.analytics import kpis
        from wafa.db import make_engine
        from wafa.tenants import service as tenants

        factory = sessionmaker(make_engine(url), expire_on_commit=False)
        timings = []
        for _ in range(5):
            with factory() as session:
                tenant_id = tenants.get_by_slug(session, slug="kpi").id  # type: ignore[union-attr]
                started = time.perf_counter()
                report = kpis.report(session, tenant_id=tenant_id, first=date(2025, 1, 1), last=date(2025, 12, 31), compare=True)
                timings.append(time.perf_counter() - started)
        with factory() as session:
            started = time.perf_counter()
            kpis.cohorts(session, tenant_id=tenant_id, first=date(2024, 1, 1), last=date(2025, 12, 31))
            cohort_seconds = time.perf_counter() - started
        tps = pgbench_tps(pgb)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            conn.execute(text(f"DROP DATABASE IF EXISTS {pgb} WITH (FORCE)"))
    period = report["period"]
    print(f"2025 against 2024: {period['orders']} orders, {period['active_members']} active members")
    print(f"full KPI set with comparison: first {timings[0]:.2f} s, median {statistics.median(timings):.2f} s, best {min(timings):.2f} s")
    print(f"cohort matrix (24 months): {cohort_seconds:.2f} s")
    print(f"pgbench (2 clients, scale 10): {tps:.0f} tps; KPI median = {statistics.median(timings) * tps:.0f} pgbench transactions")


if __name__ == "__main__":
    main()

"""Bulk import benchmark: `wafa import purchases` of a generated CSV on PostgreSQL (and SQLite), against
pgbench's tps on the same machine in the same run.

Rows: 10% of the row count as distinct customers, dates over a year, amounts, order ids. The import runs
as a user would run it, the CLI in its own process; then again (every row already there). pgbench
(TPC-B-like, scale 10, 2 clients) runs for 15 s after.

Run: .venv/bin/python bench/imports.py [--rows 500000]   (needs pgbench: apt-get install postgresql-client)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
WAFA = [sys.executable, "-m", "wafa.cli.main"]


def generate(path: Path, rows: int) -> None:
    rng = random.Random(1)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "date", "amount", "order_id"])
        for n in range(rows):
            writer.writerow([f"C{rng.randrange(max(1, rows // 10))}", f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                             f"{rng.uniform(5, 500):.2f}", f"O{n}"])


def wafa(url: str, *args: str) -> dict:
    env = dict(os.environ, WAFA_DATABASE_URL=url)
    done = subprocess.run([*WAFA, *args], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}


def imported(url: str, csv_path: Path) -> tuple[dict, dict]:
    subprocess.run([*WAFA, "db", "upgrade"], env=dict(os.environ, WAFA_DATABASE_URL=url), check=True, capture_output=True)
    slug = f"bench-{uuid.uuid4().hex[:6]}"
    wafa(url, "tenant", "create", "Bench", "--currency", "SAR", "--slug", slug, "--pending-days", "0", "--json")
    first = wafa(url, "import", "purchases", str(csv_path), "--tenant", slug, "--json")
    again = wafa(url, "import", "purchases", str(csv_path), "--tenant", slug, "--json")
    return first, again


def pgbench_tps(db: str, seconds: int = 15) -> float:
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", "-h", "127.0.0.1", "-U", "postgres", db], check=True, capture_output=True)
    out = subprocess.run(["pgbench", "-n", "-c", "2", "-j", "2", "-T", str(seconds), "-h", "127.0.0.1", "-U", "postgres", db],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args()
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
    print(f"environment: cpus={os.cpu_count()} python={platform.python_version()} postgresql={version} rows={args.rows}")
    run = uuid.uuid4().hex[:8]
    wafa_db, pgb_db = f"wafa_import_{run}", f"pgbench_import_{run}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.csv"
        generate(path, args.rows)
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {wafa_db}"))
            conn.execute(text(f"CREATE DATABASE {pgb_db}"))
        try:
            first, again = imported(ADMIN.rsplit("/", 1)[0] + f"/{wafa_db}", path)
            tps = pgbench_tps(pgb_db)
            sqlite_first, _ = imported(f"sqlite:///{folder}/bench.db", path)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {wafa_db} WITH (FORCE)"))
                conn.execute(text(f"DROP DATABASE IF EXISTS {pgb_db} WITH (FORCE)"))
    print(f"PostgreSQL: {first['imported']} purchases, {first['members_enrolled']} members in {first['seconds']} s = "
          f"{first['rows_per_second']} rows/s; again (all there) {again['rows_per_second']} rows/s")
    print(f"pgbench (2 clients, scale 10): {tps:.0f} tps; import rows/s / pgbench tps = {first['rows_per_second'] / tps:.1f}")
    print(f"SQLite: {sqlite_first['rows_per_second']} rows/s")


if __name__ == "__main__":
    main()

"""Member export benchmark: GET /v1/members/{id}/export (JSON, and the zip of one CSV per section) for a
member with 10,000 ledger entries, through a real `wafa serve` on PostgreSQL, against /healthz and
pgbench's tps measured in the same run.

The member's history is written by the ledger's own service (10,000 hand adjustments, each an entry,
two postings, a lot and its outbox message), plus purchases; `wafa ledger verify` must pass on it. Then
each export is fetched 10 times (the first one cold) and /healthz 200 times.

Run: .venv/bin/python bench/member_export.py [--entries 10000]   (needs pgbench: apt-get install postgresql-client)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
sys.path.insert(0, str(Path(__file__).parent))
from imports import pgbench_tps  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(http: httpx.Client, path: str, times: int, **kw: object) -> tuple[list[float], int]:
    out, size = [], 0
    for _ in range(times):
        started = time.perf_counter()
        answer = http.get(path, **kw)  # type: ignore[arg-type]
        out.append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        size = len(answer.content)
    return out, size


def history(url: str, slug: str, entries: int) -> int:
    """A member with `entries` adjustments and a few purchases, through the ledger and event services; its id."""
    from sqlalchemy.orm import sessionmaker

    from wafa.db import make_engine, unit_of_work
    from wafa.events import service as events
    from wafa.events.schemas import MemberRef, PurchaseIn
    from wafa.ledger import service as ledger
    from wafa.members import service as members
    from wafa.members.schemas import MemberCreate
    from wafa.tenants import service as tenants

    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        tenant_id = tenants.get_by_slug(session, slug=slug).id  # type: ignore[union-attr]
        member_id = members.create(session, tenant_id=tenant_id, member_in=MemberCreate(external_id="busy", name="Busy Bee",
                                   email="busy@example.com"), region="SA", now=now).id
    for start in range(0, entries, 1000):
        with unit_of_work(factory) as session:
            for n in range(start, min(entries, start + 1000)):
                if n % 100 == 0:
                    purchase = PurchaseIn(type="purchase", member=MemberRef(id=member_id), order_id=f"B-{n}", amount="25.00", currency="SAR")
                    events.record_purchase(session, tenant_id=tenant_id, event_in=purchase, request_hash=f"h{n}", now=now)
                else:
                    ledger.adjust(session, tenant_id=tenant_id, member_id=member_id, points=1 + n % 10, reason="bench",
                                  idempotency_key=f"bench:{n}", now=now, expires_at=None)
    return member_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    args = parser.parse_args()
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
    print(f"environment: cpus={os.cpu_count()} python={platform.python_version()} postgresql={version} entries={args.entries}")
    run = uuid.uuid4().hex[:8]
    db, pgb = f"wafa_export_{run}", f"pgbench_export_{run}"
    url = ADMIN.rsplit("/", 1)[0] + f"/{db}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {db}"))
        conn.execute(text(f"CREATE DATABASE {pgb}"))
    server = None
    try:
        env = dict(os.environ, WAFA_DATABASE_URL=url, WAFA_LOG_LEVEL="warning")
        wafa = [sys.executable, "-m", "wafa.cli.main"]
        subprocess.run([*wafa, "db", "upgrade"], env=env, check=True, capture_output=True)
        made = subprocess.run([*wafa, "tenant", "create", "Export", "--currency", "SAR", "--slug", "export", "--pending-days", "0",
                                             "--json"], env=env, check=True,
                              capture_output=True, text=True)
        key = json.loads(made.stdout)["api_key"]
        started = time.perf_counter()
        member_id = history(url, "export", args.entries)
        print(f"history written in {time.perf_counter() - started:.1f} s")
        verified = subprocess.run([*wafa, "ledger", "verify", "--tenant", "export", "--json"], env=env, capture_output=True, text=True,
                                  check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        with create_engine(url).begin() as conn:
            conn.execute(text("ANALYZE"))
        port = free_port()
        server = subprocess.Popen([*wafa, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        http = httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {key}"})
        as_json, json_size = timed(http, f"/v1/members/{member_id}/export", 10)
        as_zip, zip_size = timed(http, f"/v1/members/{member_id}/export", 10, params={"format": "zip"})
        counted = http.get(f"/v1/members/{member_id}/export").json()["sections"]
        health, _ = timed(http, "/healthz", 200)
        tps = pgbench_tps(pgb)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            conn.execute(text(f"DROP DATABASE IF EXISTS {pgb} WITH (FORCE)"))
    hz = statistics.median(health)
    print(f"exported: {len(counted['entries'])} entries, {len(counted['postings'])} postings, {len(counted['lots'])} lots, "
          f"{len(counted['events'])} events")
    for name, times, size in (("export, JSON", as_json, json_size), ("export, zip", as_zip, zip_size)):
        median = statistics.median(times)
        print(f"{name}: median {median * 1000:.0f} ms (first {times[0] * 1000:.0f} ms, best {min(times) * 1000:.0f} ms), "
              f"{size / 1e6:.1f} MB; {median / hz:.0f}x /healthz, {median * tps:.0f} pgbench transactions")
    print(f"/healthz: median {hz * 1000:.2f} ms; pgbench (2 clients, scale 10): {tps:.0f} tps")


if __name__ == "__main__":
    main()

"""Console and portal benchmark: how long the pages people look at take over a big program, through a
real `wafa serve` on PostgreSQL, against pgbench's tps and the server's own /healthz in the same run.

A year and a half of purchases is generated as a CSV (a tenth as many customers as rows) and loaded
with `wafa import purchases`; an admin user and a member's portal session are made. Then, over HTTP
with the session cookies: the dashboard for 30 days and for 12 months (each five times, the first one
cold), a member's profile and the member's card page (each 50 times), and /healthz (200 times).

Run: .venv/bin/python bench/web.py [--rows 200000]   (needs pgbench: apt-get install postgresql-client)
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
sys.path.insert(0, str(Path(__file__).parent))
from imports import pgbench_tps  # noqa: E402
from kpis import generate  # noqa: E402

PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(http: httpx.Client, path: str, times: int, **kw: object) -> list[float]:
    out = []
    for _ in range(times):
        started = time.perf_counter()
        answer = http.get(path, **kw)  # type: ignore[arg-type]
        out.append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
    print(f"environment: cpus={os.cpu_count()} python={platform.python_version()} postgresql={version} rows={args.rows}")
    run = uuid.uuid4().hex[:8]
    db, pgb = f"wafa_web_{run}", f"pgbench_web_{run}"
    url = ADMIN.rsplit("/", 1)[0] + f"/{db}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {db}"))
        conn.execute(text(f"CREATE DATABASE {pgb}"))
    server = None
    try:
        # Many sign-ins from one address, as fast as the server goes: the sign-in throttles set out of reach.
        env = dict(os.environ, WAFA_DATABASE_URL=url, WAFA_LOG_LEVEL="warning", WAFA_ADMIN_PASSWORD=PASSWORD,
                   **{f"WAFA_{name}": "1000000/second" for name in ("RATE_READS", "SIGNIN_PER_IP", "SIGNIN_PER_ORG", "SIGNIN_FAILURES_PER_IP")})
        wafa = [sys.executable, "-m", "wafa.cli.main"]
        subprocess.run([*wafa, "tenant", "create", "Web", "--currency", "SAR", "--slug", "web", "--pending-days", "0",
                                             "--json"], env=env, check=True, capture_output=True)
        subprocess.run([*wafa, "admin", "create-user", "admin@bench.example", "--tenant", "web", "--name", "Bench"], env=env, check=True,
                       capture_output=True)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "history.csv"
            generate(path, args.rows)
            subprocess.run([*wafa, "import", "purchases", str(path), "--tenant", "web", "--json"], env=env, check=True, capture_output=True)
        with create_engine(url).begin() as conn:
            conn.execute(text("UPDATE events SET member_id = NULL WHERE type = 'purchase' AND id % 10 = 0"))
            conn.execute(text("ANALYZE"))
        from sqlalchemy.orm import sessionmaker

        from wafa.clock import SystemClock
        from wafa.db import make_engine, unit_of_work
        from wafa.members import service as members
        from wafa.tenants import service as tenants
        from wafa.web import sessions

        factory = sessionmaker(make_engine(url), expire_on_commit=False)
        with unit_of_work(factory) as session:
            tenant_id = tenants.get_by_slug(session, slug="web").id  # type: ignore[union-attr]
            member = members.find_recent(session, tenant_id=tenant_id, limit=1)[0]
            member_token, _ = sessions.start(session, kind="member", tenant_id=tenant_id, subject_id=member.id, now=SystemClock().now())
        port = free_port()
        server = subprocess.Popen([*wafa, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        console = httpx.Client(base_url=base, timeout=120)
        login = console.get("/admin/login")
        token = login.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        signed = console.post("/admin/login", data={"tenant": "web", "email": "admin@bench.example", "password": PASSWORD, "csrf": token})
        assert signed.status_code in (200, 303), signed.text[:300]
        month = timed(console, "/admin?period=30d", 5)
        year = timed(console, "/admin?period=365d", 5)
        profile = timed(console, f"/admin/members/{member.id}", 50)
        phone = httpx.Client(base_url=base, cookies={"wafa_member": member_token})
        card = timed(phone, "/m/web/", 50)
        health = timed(phone, "/healthz", 200)
        tps = pgbench_tps(pgb)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            conn.execute(text(f"DROP DATABASE IF EXISTS {pgb} WITH (FORCE)"))
    hz = statistics.median(health)
    for name, times in (("dashboard, 30 days", month), ("dashboard, 12 months", year), ("member profile", profile), ("portal card", card)):
        median = statistics.median(times)
        print(f"{name}: median {median * 1000:.1f} ms (first {times[0] * 1000:.1f} ms, best {min(times) * 1000:.1f} ms); "
              f"{median / hz:.0f}x /healthz, {median * tps:.0f} pgbench transactions")
    print(f"/healthz: median {hz * 1000:.2f} ms; pgbench (2 clients, scale 10): {tps:.0f} tps")


if __name__ == "__main__":
    main()

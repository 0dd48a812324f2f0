"""Next-best-offer benchmark: training time and ranking latency for 100,000 members and 200 rewards on
PostgreSQL (target: training under 60 s, GET /v1/members/{id}/recommendations p99 under 20 ms), then
GET /v1/members/{id}/offers once a few offers are given to every member, beside pgbench's SELECT-only tps
measured in the same run.

Run: .venv/bin/python bench/offers.py [--members 100000] [--rewards 200] [--seconds 15] [--clients 8] [--offers 4] [--keep]
     smoke run: .venv/bin/python bench/offers.py --members 2000 --seconds 3
(uses wrk and pgbench when installed: apt-get install wrk postgresql-client; without wrk an httpx loop drives
the load, without pgbench only the absolute figures are printed). Not part of the test suite.

A scratch database is migrated and given a tenant (`wafa tenant create`) and its rewards (POST /v1/rewards);
members and their history are bulk-loaded with COPY, not through the services: each member belongs to one
of a few planted taste groups that favour some categories and rewards, and one in ten has no history at all
(a cold start). Training is `wafa offers train --json`; the load is random members' recommendations (k=5)
through `wafa serve --workers 2`, after one warm-up request per process (the first decodes the model), with
8 clients and then one. Then `--offers` reward offers (half about a category) are written and activated for
every member through the API (POST /v1/offers, POST /v1/offers/{key}:activate) and random members' offers
are loaded the same way. Each load also reports the server's CPU time per request (its workers' user and
system time from /proc): latencies depend on whatever else the machine runs, that figure much less.

What a request costs, and why (measured with this benchmark and cProfile on 2 CPUs):
- A full garbage collection scanned every object the process holds (~400,000: the app, its modules and
  the model) and stalled a request for 170-280 ms every few hundred requests: the one-client p99.
  Loading a model now ends with gc.freeze(), which takes them out of the collector's view.
- The route loaded every ranked reward as an ORM object (200 rows, four JSON columns each) to leave out
  retired ones: ~6 ms and most of the garbage. offers.service.top_active looks up only the rewards that
  can make the cut, four columns each (wafa.rewards.active_names), when the route calls it.
- The SQL is indexed (the member by key, the rewards by tenant and status, a cold member's RFM score by
  key); the model is decoded once per process and kept until a newer one commits (LISTEN/NOTIFY), and
  scoring a member is one 236×16 matrix-vector product: none of them is where the time went.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

WAFA = str(Path(sys.executable).parent / "wafa")
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# The per-key rate limits (wafa.trust) are still counted on every request, set far above what the run reaches.
UNLIMITED = {f"WAFA_RATE_{name}": "1000000/second" for name in ("EVENTS", "REDEMPTIONS", "WRITES", "READS")}
GROUPS = 12  # planted taste groups
CATEGORIES = [f"cat-{n:02d}" for n in range(36)]
COLD_SHARE = 0.1  # members with no history: ranked from the popular items

# The two endpoints loaded, each after /v1/members/{id}.
RECOMMENDATIONS = "/recommendations?k=5"
MEMBER_OFFERS = "/offers"

LOAD_LUA = r"""
function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
request = function()
  local m = math.random(__FIRST__, __LAST__)
  return wrk.format("GET", "/v1/members/" .. m .. "__PATH__", {["Authorization"] = "Bearer __KEY__"})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_rows(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def add_rewards(url: str, key: str, count: int) -> list[int]:
    """`count` active privilege rewards through POST /v1/rewards; their ids."""
    ids = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for n in range(count):
            made = client.post("/v1/rewards", json={"key": f"bench-{n}", "name_en": f"Bench reward {n}", "name_ar": f"مكافأة {n}",
                                                    "points": 100 + n, "gives": {"type": "privilege", "valid_days": 30}})
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
    return ids


def load_members(dsn: str, tenant_id: int, count: int, reward_ids: list[int], rng: random.Random) -> dict[str, Any]:
    """`count` members, each with a year of category days and rewards drawn mostly from their taste group's
    favourites, written with COPY. Returns the member id range and the row counts."""
    now = datetime.now(UTC)
    member_cols = ("tenant_id", "external_id", "locale", "consent_email", "consent_sms", "consent_push", "consent_whatsapp", "status",
                   "referral_code", "card_token", "enrolled_at", "updated_at")
    members = [(tenant_id, f"nbo-{n}", "ar" if n % 2 else "en", False, False, False, False, "active", f"R{n:09d}",
                f"bench-{n}-{secrets.token_hex(8)}", now - timedelta(days=400), now) for n in range(count)]
    groups = [{"categories": rng.sample(CATEGORIES, 4), "rewards": rng.sample(reward_ids, min(15, len(reward_ids)))} for _ in range(GROUPS)]
    days: list[tuple[Any, ...]] = []
    redemptions: list[tuple[Any, ...]] = []
    with psycopg.connect(dsn) as conn:
        copy_rows(conn, "members", member_cols, members)
        first, last = conn.execute("SELECT min(id), max(id) FROM members WHERE tenant_id = %s", (tenant_id,)).fetchone()  # type: ignore[misc]
        for member_id in range(first, last + 1):
            if rng.random() < COLD_SHARE:
                continue
            group = groups[member_id % GROUPS]
            seen: set[tuple[Any, ...]] = set()
            for _ in range(rng.randint(2, 8)):
                category = rng.choice(group["categories"]) if rng.random() < 0.8 else rng.choice(CATEGORIES)
                day = (now - timedelta(days=rng.randint(1, 365))).date()
                if (day, category) not in seen:
                    seen.add((day, category))
                    days.append((tenant_id, member_id, day, "SAR", category, rng.randint(500, 20000), rng.randint(1, 3)))
            for _ in range(rng.randint(0, 4)):
                reward = rng.choice(group["rewards"]) if rng.random() < 0.8 else rng.choice(reward_ids)
                at = now - timedelta(days=rng.randint(1, 365), seconds=rng.randint(0, 86399))
                redemptions.append((tenant_id, member_id, reward, "privilege", "points", f"bench:{len(redemptions)}", 100, 0, "used", 0, at, at))
        copy_rows(conn, "member_category_days", ("tenant_id", "member_id", "day", "currency", "category", "kept", "orders"), days)
        copy_rows(conn, "reward_redemptions", ("tenant_id", "member_id", "reward_id", "kind", "source", "source_key", "points", "money",
                                               "status", "wallet_amount", "created_at", "updated_at"), redemptions)
        conn.commit()
        conn.execute("ANALYZE members")
        conn.execute("ANALYZE member_category_days")
        conn.execute("ANALYZE reward_redemptions")
    return {"first": first, "last": last, "category_days": len(days), "redemptions": len(redemptions)}


def add_offers(url: str, key: str, count: int) -> dict[str, Any]:
    """`count` reward offers for every member through the API (POST /v1/offers, then :activate, which gives
    each member a copy): the first rewards, half of them about a category; how long activating took."""
    timings = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600) as client:
        for n in range(count):
            made = client.post("/v1/offers", json={
                "key": f"bench-offer-{n}", "name_en": f"Bench offer {n}", "name_ar": f"عرض {n}", "kind": "reward",
                "reward_key": f"bench-{n}", "points": 50 + n, "audience": {"all": True}, "valid_days": 30,
                **({"category": CATEGORIES[n]} if n % 2 == 0 else {}),
            })
            assert made.status_code == 201, made.text
            started = time.perf_counter()
            activated = client.post(f"/v1/offers/bench-offer-{n}:activate")
            timings.append(time.perf_counter() - started)
            assert activated.status_code == 200, activated.text
    return {"offers": count, "activate_seconds": timings}


def run_wrk(url: str, key: str, first: int, last: int, clients: int, seconds: int, path: str = RECOMMENDATIONS) -> dict[str, float]:
    script = LOAD_LUA.replace("__FIRST__", str(first)).replace("__LAST__", str(last)).replace("__KEY__", key).replace("__PATH__", path)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        threads = min(clients, os.cpu_count() or 1)
        out = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s", "--timeout", "10s", "-s", f.name, url],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    found = json.loads(re.search(r"RESULT (\{.*\})", out).group(1))  # type: ignore[union-attr]
    return {"requests": found["requests"], "rate": found["requests"] / (found["duration_us"] / 1e6), "p50_ms": found["p50_us"] / 1000,
            "p99_ms": found["p99_us"] / 1000, "errors": found["errors"]}


def run_httpx(url: str, key: str, first: int, last: int, clients: int, seconds: int, path: str = RECOMMENDATIONS) -> dict[str, float]:
    """The same load from `clients` asyncio loops sharing one process (slower than wrk: it may be the bottleneck)."""

    async def go() -> tuple[list[float], int]:
        latencies: list[float] = []
        errors = 0
        stop = time.perf_counter() + seconds
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10,
                                     limits=httpx.Limits(max_connections=clients)) as client:
            async def one() -> None:
                nonlocal errors
                while time.perf_counter() < stop:
                    started = time.perf_counter()
                    answer = await client.get(f"/v1/members/{random.randint(first, last)}{path}")
                    latencies.append(time.perf_counter() - started)
                    errors += answer.status_code != 200

            await asyncio.gather(*(one() for _ in range(clients)))
        return latencies, errors

    started = time.perf_counter()
    latencies, errors = asyncio.run(go())
    wall = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "rate": len(latencies) / wall, "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000, "errors": errors}


def pgbench_select(db: str, clients: int, seconds: int) -> float | None:
    tool = shutil.which("pgbench") or next((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin/pgbench")), None)
    if tool is None:
        return None
    subprocess.run([tool, "-i", "-q", "-s", "10", "-h", "127.0.0.1", "-U", "postgres", db], check=True, capture_output=True)
    out = subprocess.run([tool, "-n", "-S", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)), "-T", str(seconds),
                          "-h", "127.0.0.1", "-U", "postgres", db], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time so far of a process and its children (the server's workers), from /proc:
    the server's own cost, whatever else the machine runs meanwhile."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def timed(server: subprocess.Popen[bytes], drive: Any, *args: Any) -> dict[str, float]:
    """`drive(*args)` with the server's CPU milliseconds per request added."""
    before = cpu_seconds(server.pid)
    found = drive(*args)
    found["cpu_ms"] = (cpu_seconds(server.pid) - before) * 1000 / max(found["requests"], 1)
    return found


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([WAFA, "serve", "--port", str(port), "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("wafa serve did not answer /healthz")


def warm(url: str, key: str, first: int, last: int, path: str = RECOMMENDATIONS) -> list[float]:
    """Enough requests on fresh connections that every server process has decoded the model; the first few latencies."""
    times = []
    for n in range(40):
        started = time.perf_counter()
        answer = httpx.get(f"{url}/v1/members/{first + n % (last - first + 1)}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=120)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text[:300]
        if path == RECOMMENDATIONS:
            assert answer.json()["model"] is not None, answer.text[:300]
        else:
            assert answer.json()["items"], answer.text[:300]
    return times


def table(results: dict[str, Any]) -> str:
    r = results
    load, tps = r["load"], r["pgbench_tps"]
    ratio = f"{load['rate'] / tps:.3f}" if tps else "n/a (pgbench missing)"
    metrics = r["metrics"]
    scores = ", ".join(f"{name} {metrics[name][s]:.3f}" for name in ("model", "baseline") if metrics.get(name)
                       for s in metrics[name] if s.startswith("ndcg")) or metrics.get("reason", "not evaluated")
    lines = [
        f"Next-best offers, {r['date']}: {r['cpus']} CPUs, PostgreSQL {r['postgresql']}, Python {r['python']}, "
        f"`wafa serve --workers 2`, load from {r['driver']}",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| members (of which with history) | {r['members']:,} ({r['trained_members']:,}) |",
        f"| rewards / items in the model | {r['rewards']} / {r['items']} |",
        f"| interactions (category days + redemptions rows) | {r['category_days'] + r['redemptions']:,} |",
        f"| bulk load (COPY) | {r['load_seconds']:.1f} s |",
        f"| training wall time (`wafa offers train`, incl. process start) | {r['train_seconds']:.1f} s (target < 60 s) |",
        f"| holdout ndcg | {scores} |",
        f"| first request after start (decodes the model) | {r['first_request_ms']:.0f} ms |",
        f"| recommendations/s ({r['clients']} clients, {r['seconds']} s) | {load['rate']:.0f} |",
        f"| p50 / p99 | {load['p50_ms']:.1f} ms / {load['p99_ms']:.1f} ms (target p99 < 20 ms) |",
        f"| errors | {load['errors']} |",
        f"| server CPU per recommendation (both workers, user + system) | {load['cpu_ms']:.2f} ms |",
        f"| one client: recommendations/s, p50 / p99 | {r['single']['rate']:.0f}, {r['single']['p50_ms']:.1f} ms / "
        f"{r['single']['p99_ms']:.1f} ms |",
        f"| pgbench -S tps ({r['clients']} clients, 10 s) | {tps:.0f} |" if tps else "| pgbench -S tps | not installed |",
        f"| recommendations/s ÷ pgbench tps | {ratio} |",
    ]
    if r.get("offers_load"):
        offers, single = r["offers_load"], r["offers_single"]
        lines += [
            f"| offers given (`POST /v1/offers/{{key}}:activate`, audience all) | {r['offers']} × {r['members']:,} copies, "
            f"{sum(r['activate_seconds']):.1f} s |",
            f"| member's offers/s (`GET /v1/members/{{id}}/offers`, {r['clients']} clients) | {offers['rate']:.0f} |",
            f"| member's offers p50 / p99 | {offers['p50_ms']:.1f} ms / {offers['p99_ms']:.1f} ms |",
            f"| member's offers errors | {offers['errors']} |",
            f"| server CPU per member's offers request | {offers['cpu_ms']:.2f} ms |",
            f"| member's offers, one client: /s, p50 / p99 | {single['rate']:.0f}, {single['p50_ms']:.1f} ms / {single['p99_ms']:.1f} ms |",
            f"| member's offers/s ÷ pgbench tps | {offers['rate'] / tps:.3f} |" if tps else "| member's offers/s ÷ pgbench tps | n/a |",
        ]
    elif "offers_skipped" in r:
        lines.append(f"| member's offers | not measured: {r['offers_skipped']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--rewards", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=15, help="duration of the load")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--offers", type=int, default=4,
                        help="reward offers given to every member before loading GET /v1/members/{id}/offers (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep Wafa's database after the run")
    args = parser.parse_args()
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    driver = "wrk" if shutil.which("wrk") else "httpx (wrk not installed)"
    results: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(), "python": platform.python_version(),
                               "postgresql": pg_version, "members": args.members, "rewards": args.rewards, "clients": args.clients,
                               "seconds": args.seconds, "driver": driver}
    print(f"environment: cpus={os.cpu_count()} python={platform.python_version()} postgresql={pg_version} members={args.members} "
          f"rewards={args.rewards} clients={args.clients} driver={driver}", flush=True)
    run = uuid.uuid4().hex[:8]
    db, pgb = f"wafa_offers_{run}", f"pgbench_offers_{run}"
    dsn = ADMIN.rsplit("/", 1)[0] + f"/{db}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
        conn.execute(f'CREATE DATABASE "{pgb}"')
    env = {**os.environ, **UNLIMITED, "WAFA_DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg://"), "WAFA_LOG_LEVEL": "warning"}
    server = None
    try:
        subprocess.run([WAFA, "db", "upgrade"], env=env, check=True, capture_output=True)
        made = json.loads(subprocess.run([WAFA, "tenant", "create", "Offers Bench", "--currency", "SAR", "--slug", "offers", "--pending-days", "0",
                                          "--json"], env=env, check=True, capture_output=True, text=True).stdout)
        key = made["api_key"]
        with psycopg.connect(dsn) as conn:
            tenant_id = conn.execute("SELECT id FROM tenants WHERE slug = 'offers'").fetchone()[0]  # type: ignore[index]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = serve(env, port)
        reward_ids = add_rewards(url, key, args.rewards)
        started = time.perf_counter()
        loaded = load_members(dsn, tenant_id, args.members, reward_ids, random.Random(7))
        results["load_seconds"] = time.perf_counter() - started
        results.update(category_days=loaded["category_days"], redemptions=loaded["redemptions"])
        print(f"loaded {args.members} members, {loaded['category_days']} category days, {loaded['redemptions']} redemptions "
              f"in {results['load_seconds']:.1f} s", flush=True)

        started = time.perf_counter()
        trained = json.loads(subprocess.run([WAFA, "offers", "train", "--tenant", "offers", "--json"], env=env, check=True,
                                            capture_output=True, text=True).stdout)
        results["train_seconds"] = time.perf_counter() - started
        results.update(trained_members=trained["members"], items=trained["items"], metrics=trained["metrics"])
        print(f"trained in {results['train_seconds']:.1f} s: {trained['members']} members, {trained['items']} items; "
              f"metrics {json.dumps(trained['metrics'])}", flush=True)

        first_times = warm(url, key, loaded["first"], loaded["last"])
        results["first_request_ms"] = first_times[0] * 1000
        drive = run_wrk if driver == "wrk" else run_httpx
        drive(url, key, loaded["first"], loaded["last"], args.clients, 2)  # warm-up: connections, pools
        results["load"] = timed(server, drive, url, key, loaded["first"], loaded["last"], args.clients, args.seconds)
        # One client: the latency of a request that waits for no other (the loaded p99 includes queueing).
        results["single"] = timed(server, drive, url, key, loaded["first"], loaded["last"], 1, max(3, args.seconds // 3))
        print(f"recommendations: {json.dumps(results['load'])}; one client: {json.dumps(results['single'])}", flush=True)

        if args.offers:
            started = time.perf_counter()
            given = add_offers(url, key, min(args.offers, args.rewards))
            results.update(offers=given["offers"], activate_seconds=given["activate_seconds"])
            print(f"gave {given['offers']} offers to every member in {time.perf_counter() - started:.1f} s", flush=True)
            results["offers_first_request_ms"] = warm(url, key, loaded["first"], loaded["last"], MEMBER_OFFERS)[0] * 1000
            drive(url, key, loaded["first"], loaded["last"], args.clients, 2, MEMBER_OFFERS)  # warm-up
            results["offers_load"] = timed(server, drive, url, key, loaded["first"], loaded["last"], args.clients, args.seconds, MEMBER_OFFERS)
            results["offers_single"] = timed(server, drive, url, key, loaded["first"], loaded["last"], 1, max(3, args.seconds // 3), MEMBER_OFFERS)
            print(f"member offers: {json.dumps(results['offers_load'])}; one client: {json.dumps(results['offers_single'])}", flush=True)
        else:
            results["offers_skipped"] = "--offers 0"
        server.terminate()
        server.wait(timeout=30)
        server = None
        results["pgbench_tps"] = pgbench_select(pgb, args.clients, 10)
        if results["pgbench_tps"] is None:
            print("pgbench not found (apt-get install postgresql-client): absolute figures only")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            if args.keep:
                print(f"kept (drop it when done): {dsn}", file=sys.stderr)
            else:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'DROP DATABASE IF EXISTS "{pgb}" WITH (FORCE)')
    report = table(results)
    print()
    print(report)
    Path("/tmp/bench-offers.md").write_text(report)  # noqa: S108 (the path the issue names)
    print("JSON:", json.dumps(results, default=str))


if __name__ == "__main__":
    main()

"""Earn benchmark: purchase events through the real HTTP server on PostgreSQL, against pgbench.

Run:  .venv/bin/python bench/earn.py [--quick]   (needs wrk and pgbench: apt-get install wrk postgresql-client)
It creates two scratch databases on the local PostgreSQL (dropped afterwards), starts `wafa serve`
with several worker processes, drives POST /v1/events (purchases of random members) with wrk at
several client counts, reads balances, runs pgbench (TPC-B-like) at the same client counts, then
repeats the earn load with 0, 10 and 50 active purchase rules, and prints the environment, the
absolute figures and the ratios. Not part of the test suite.

Then "the realistic program": the first 10 of those rules (the others paused), three tiers by points
earned over a rolling 12 months (silver, gold, platinum, with earn multipliers and welcome points),
six badges, two challenges and a weekly streak, all made through the public API. Purchases now carry
one to three order lines (the badges and challenges count categories and a category's spend) and a
channel. It is measured three ways, each next to its own pgbench run at the same clients:
random members of the same 2,000 (who by then have the purchases of the earlier runs behind them),
random members of 500 with 10 past purchases, and random members of 50 with 1,000 past purchases
(seeded at the start with POST /v1/events:batch, 1,000 events a call, occurred_at spread over the
past year). The table gives each group's mean past purchases before and after its run.

History is seeded before any rule, tier or achievement exists, so it takes the one-statement path; the
program's state for it (tiers reached, badges, challenge progress, streak runs and their milestones)
is all measured from the history, and is brought up to date by one purchase per member under the
realistic program ("settle", through POST /v1/events:batch) before anything is measured: the measured
purchases are ordinary ones, not a member's first under the program.

The summary table at the end holds the four rows of the goal (no rules; 10 rules; the realistic
program; the realistic program for members with 1,000 past purchases against 10), then a JSON blob.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
WAFA = str(Path(sys.executable).parent / "wafa")


PURCHASE_LUA = r"""
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(tid * 7919 + os.time())
  run = args[1]
end
request = function()
  counter = counter + 1
  local m = math.random(1, __MEMBERS__)
  local body = string.format('{"type":"purchase","member":{"external_id":"b-%d"},"order_id":"%s-%d-%d","amount":"%d.%02d","currency":"SAR"}',
    m, run, tid, counter, math.random(5, 500), math.random(0, 99))
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer __KEY__"}, body)
end
"""

BALANCE_LUA = r"""
function init(args) math.randomseed(os.time()) end
request = function()
  local m = math.random(__FIRST__, __LAST__)
  return wrk.format("GET", "/v1/members/" .. m .. "/balance", {["Authorization"] = "Bearer __KEY__"})
end
"""

# Pacing: each connection waits between requests so that all of them together offer a set rate.
PACED_LUA = r"""
function delay()
  return math.random(__LOW__, __HIGH__)
end
"""

DONE_LUA = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"socket_errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


# A benchmark drives one API key as fast as the server goes: the per-key rate limits (wafa.trust) are
# still counted on every request, set far above what it can reach.
UNLIMITED = {f"WAFA_RATE_{name}": "1000000/second" for name in ("EVENTS", "REDEMPTIONS", "WRITES", "READS")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The `wafa serve` process whose tree counts as "server" in the CPU split (set by main).
SERVER_PID: list[int] = []


def cpu_snapshot() -> dict[str, float]:
    """CPU seconds so far: of the server's process tree, of PostgreSQL's processes, of this process's
    finished children (wrk, pgbench), and of the whole machine (busy and all, from /proc/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[str, int, float]] = {}
    titles: dict[int, str] = {}  # PostgreSQL's processes name their role in their title
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        comm, rest = raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()
        procs[int(name)] = (comm, int(rest[1]), (int(rest[11]) + int(rest[12])) / tick)
        if comm.startswith("postgres"):
            try:
                titles[int(name)] = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                titles[int(name)] = ""
    tree = set(SERVER_PID)
    grew = True
    while grew:
        grew = False
        for pid, (_, ppid, _) in procs.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    children = os.times()
    return {
        "server": sum(cpu for pid, (_, _, cpu) in procs.items() if pid in tree),
        "postgres": sum(cpu for comm, _, cpu in procs.values() if comm.startswith("postgres")),
        # Of which autovacuum, the checkpointer, the WAL and background writers (not the connections'
        # backends): so a run can tell query work from housekeeping the seeding left behind.
        "postgres_background": sum(cpu for pid, (_, _, cpu) in procs.items() if _BACKGROUND.search(titles.get(pid, "-"))),
        "load_generator": children.children_user + children.children_system,
        "machine_busy": (total - idle) / tick,
        "machine_all": total / tick,
    }


_BACKGROUND = re.compile(r"postgres: (?:[^:]+: )?(autovacuum|checkpointer|background writer|walwriter|logical replication|archiver|stats)")


def cpu_split(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """CPU ms per request by process group, and how many CPUs each kept busy, between two snapshots."""
    wall = (after["machine_all"] - before["machine_all"]) / (os.cpu_count() or 1)
    used = {k: after[k] - before[k] for k in ("server", "postgres", "postgres_background", "load_generator", "machine_busy")}
    used["other"] = used["machine_busy"] - used["server"] - used["postgres"] - used["load_generator"]
    out: dict[str, float] = {}
    for k, v in used.items():
        out[f"{k}_ms_per_request"] = v * 1000 / max(requests, 1)
        out[f"{k}_cpus"] = v / wall if wall else 0.0
    return out


def run_wrk(script: str, url: str, connections: int, seconds: int) -> dict:
    """One wrk run; each gets its own order-id prefix so no two runs repeat an order. With the CPU
    split: CPU ms per request of the server, PostgreSQL, wrk and the rest of the machine."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script + DONE_LUA)
    threads = min(connections, 2)
    before = cpu_snapshot()
    proc = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s", "-s", f.name, url, "--", uuid.uuid4().hex[:8]],
        capture_output=True, text=True, check=True,
    )
    after = cpu_snapshot()
    os.unlink(f.name)
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    data = json.loads(line[len("RESULT "):])
    data["rate"] = data["requests"] / (data["duration_us"] / 1e6)
    data["cpu"] = cpu_split(before, after, data["requests"])
    return data


def run_pgbench(admin_dsn: str, db: str, clients: int, seconds: int) -> float:
    out = subprocess.run(
        ["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds), "-h", "127.0.0.1", "-U", "postgres", db],
        capture_output=True, text=True, check=True,
    ).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]


# The realistic program ---------------------------------------------------------------------------

# (sku, category, price in halalas): five categories, so the explorer badge can be earned.
CATALOG = [("COF-1", "coffee", 1200), ("COF-2", "coffee", 1850), ("BAK-1", "bakery", 900), ("DAT-1", "dates", 4500),
           ("GRO-1", "grocery", 2995), ("TEA-1", "tea", 2200)]

# Purchases of the realistic rows: one to three lines of the catalog, quantity 1 to 3, half of them in the app.
BASKET_LUA = r"""
local counter = 0
local threads = {}
local catalog = {__CATALOG__}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(tid * 7919 + os.time())
  run = args[1]
end
request = function()
  counter = counter + 1
  local m = math.random(1, __MEMBERS__)
  local lines, total = {}, 0
  for i = 1, math.random(1, 3) do
    local p = catalog[math.random(1, #catalog)]
    local q = math.random(1, 3)
    total = total + p[3] * q
    lines[i] = string.format('{"sku":"%s","category":"%s","quantity":%d,"unit_price":"%d.%02d"}',
      p[1], p[2], q, math.floor(p[3] / 100), p[3] % 100)
  end
  local channel = "store"
  if math.random(1, 2) == 1 then channel = "app" end
  local body = string.format('{"type":"purchase","member":{"external_id":"__PREFIX__%d"},"order_id":"%s-%d-%d",'
    .. '"amount":"%d.%02d","currency":"SAR","channel":"%s","items":[%s]}',
    m, run, tid, counter, math.floor(total / 100), total % 100, channel, table.concat(lines, ","))
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer __KEY__"}, body)
end
"""


def basket_script(prefix: str, members: int, key: str) -> str:
    catalog = ", ".join(f'{{"{sku}", "{category}", {cents}}}' for sku, category, cents in CATALOG)
    return (BASKET_LUA.replace("__CATALOG__", catalog).replace("__PREFIX__", prefix).replace("__MEMBERS__", str(members))
            .replace("__KEY__", key))


def basket(rng: random.Random) -> tuple[str, list[dict[str, Any]]]:
    """An order as BASKET_LUA makes them: (amount, lines)."""
    lines, total = [], 0
    for _ in range(rng.randint(1, 3)):
        sku, category, cents = rng.choice(CATALOG)
        quantity = rng.randint(1, 3)
        total += cents * quantity
        lines.append({"sku": sku, "category": category, "quantity": quantity, "unit_price": f"{cents // 100}.{cents % 100:02d}"})
    return f"{total // 100}.{total % 100:02d}", lines


def purchase_body(external_id: str, order_id: str, rng: random.Random, occurred_at: datetime | None = None) -> dict[str, Any]:
    amount, lines = basket(rng)
    body: dict[str, Any] = {"type": "purchase", "member": {"external_id": external_id}, "order_id": order_id, "amount": amount,
                            "currency": "SAR", "channel": rng.choice(["app", "store"]), "items": lines}
    if occurred_at is not None:
        body["occurred_at"] = occurred_at.isoformat()
    return body


TIERS = [  # key, rank, points earned over a rolling 12 months, earn multiplier, welcome points
    ("silver", 1, "500", "1.25", 100),
    ("gold", 2, "5000", "1.5", 250),
    ("platinum", 3, "25000", "2", 500),
]
BADGES = [  # the six of bench/achievements.py: three over order lines, one that no purchase moves
    ("regular", {"metric": "purchases", "at_least": "20"}),
    ("big", {"metric": "spend", "at_least": "2000.00"}),
    ("coffee", {"metric": "spend", "at_least": "500.00", "category": "coffee"}),
    ("explorer", {"metric": "categories", "at_least": "5"}),
    ("large-orders", {"metric": "purchases", "at_least": "10", "min_amount": "60.00"}),
    ("critic", {"metric": "events", "event_type": "review_written", "at_least": "3"}),
]


def realistic_program(client: Any, rule_ids: list[int], now: datetime) -> dict[str, Any]:
    """Make the realistic program through the public API (`client`: an httpx or TestClient client with an
    admin key): exactly the first 10 bench rules active, 3 tiers, 6 badges, 2 challenges, a weekly streak.
    `rule_ids` holds the ids of the bench rules made so far (in bench_rule order); missing ones are made."""

    def ok(response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
        return response.json()

    while len(rule_ids) < 10:
        rule_ids.append(ok(client.post("/v1/rules", json=bench_rule(len(rule_ids))))["id"])
    for rule_id in rule_ids[10:]:
        ok(client.post(f"/v1/rules/{rule_id}/status", json={"status": "paused"}))
    ok(client.put("/v1/tier-policy", json={"metric": "points_earned", "window": "rolling", "months": 12, "grace_days": 30, "max_drop": 1}))
    for key, rank, threshold, multiplier, welcome in TIERS:
        ok(client.post("/v1/tiers", json={"key": key, "name_en": key.title(), "name_ar": key, "rank": rank, "threshold": threshold,
                                          "benefits": {"earn_multiplier": multiplier, "welcome_points": welcome}}))
    ok(client.post("/v1/event-types", json={"name": "review_written", "attributes_schema": {"type": "object"}}))
    for key, criterion in BADGES:
        ok(client.post("/v1/badges", json={"key": key, "name_en": key.title(), "name_ar": "شارة", "points": 50, "criterion": criterion}))
    for key, goal in (("five", {"metric": "purchases", "at_least": "5"}), ("three-kinds", {"metric": "categories", "at_least": "3"})):
        # A quarter-long challenge that opened a month ago.
        ok(client.post("/v1/challenges", json={
            "key": key, "name_en": key.title(), "name_ar": "تحدي", "goal": goal, "points": 100,
            "starts_at": (now - timedelta(days=30)).isoformat(), "ends_at": (now + timedelta(days=60)).isoformat(),
        }))
    # Counting from before the oldest seeded purchase.
    ok(client.post("/v1/streaks", json={
        "key": "weekly", "name_en": "Weekly", "name_ar": "أسبوعي", "period": "week", "starts_at": (now - timedelta(days=366)).isoformat(),
        "milestones": [{"length": 4, "points": 40}, {"length": 8, "points": 80}, {"length": 12, "points": 150}],
    }))
    return {"active_rules": 10, "paused_rules": len(rule_ids) - 10, "tiers": [t[0] for t in TIERS], "badges": [b[0] for b in BADGES],
            "challenges": ["five", "three-kinds"], "streaks": ["weekly"]}


def history_events(external_id: str, orders: int, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    """`orders` past purchases of a member, occurred_at spread over the past year, oldest first."""
    span = timedelta(days=365).total_seconds() - 3600
    offsets = sorted(rng.uniform(0, span) for _ in range(orders))
    start = now - timedelta(days=365)
    return [purchase_body(external_id, f"seed-{external_id}-{n}", rng, start + timedelta(seconds=offset))
            for n, offset in enumerate(offsets)]


def post_batches(url: str, key: str, batches: list[list[dict[str, Any]]], workers: int) -> float:
    """POST /v1/events:batch, `workers` calls at a time; every event must be recorded. Returns the seconds taken."""

    def one(events: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=1800) as client:
            response = client.post("/v1/events:batch", json={"events": events})
            response.raise_for_status()
            result = response.json()
            if result["recorded"] != len(events):
                refused = next((item for item in result["items"] if item["status"] >= 400), None)
                raise RuntimeError(f"batch: {result['recorded']} of {len(events)} recorded; first refusal: {refused}")

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, batches))
    return time.perf_counter() - start


def chunked(events: list[dict[str, Any]], size: int = 1000) -> list[list[dict[str, Any]]]:
    return [events[i:i + size] for i in range(0, len(events), size)]


def seed_history(url: str, key: str, prefix: str, count: int, orders: int, workers: int, rng: random.Random) -> dict[str, Any]:
    """`count` members `<prefix>1..count`, each with `orders` past purchases."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        for n in range(1, count + 1):
            client.post("/v1/members", json={"external_id": f"{prefix}{n}"}).raise_for_status()
    now = datetime.now(UTC)
    events = [event for n in range(1, count + 1) for event in history_events(f"{prefix}{n}", orders, rng, now)]
    seconds = post_batches(url, key, chunked(events), workers)
    return {"members": count, "orders_each": orders, "events": len(events), "seconds": seconds, "events_per_s": len(events) / seconds}


def past_orders(dsn: str, prefix: str) -> dict[str, float]:
    """Purchases per member of the members whose external id starts with `prefix`: mean, min, max."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT avg(n), min(n), max(n) FROM (SELECT m.id, count(e.id) AS n FROM members m "
            "LEFT JOIN events e ON e.member_id = m.id AND e.type = 'purchase' WHERE m.external_id LIKE %s GROUP BY m.id) AS counts",
            (prefix + "%",),
        ).fetchone()
    assert row is not None
    return {"mean": float(row[0]), "min": int(row[1]), "max": int(row[2])}


def measure(script: str, url: str, admin: str, pgb_db: str, clients: int, seconds: int) -> dict[str, Any]:
    """A 3 s warm-up, the earn load, then pgbench at the same clients for as long."""
    run_wrk(script, url, clients, 3)
    earn = run_wrk(script, url, clients, seconds)
    tps = run_pgbench(admin, pgb_db, clients, seconds)
    return {"clients": clients, "events_per_s": earn["rate"], "p50_ms": earn["p50_us"] / 1000, "p90_ms": earn["p90_us"] / 1000,
            "p99_ms": earn["p99_us"] / 1000, "errors": earn["socket_errors"] + earn["non2xx"], "pgbench_tps": tps,
            "ratio": earn["rate"] / tps, "cpu": earn["cpu"]}


def bench_rule(i: int) -> dict:
    """The i-th of 50 rules a busy program might run at once: a mix of what fires and what does not."""
    name = {"name_en": f"Bench rule {i}", "name_ar": f"قاعدة {i}", "trigger": "purchase", "status": "active"}
    kind = i % 5
    if kind == 0:
        return {**name, "actions": [{"type": "multiplier", "factor": "1.5"}], "window": {"days_of_week": [(i // 5) % 7]}}
    if kind == 1:
        return {**name, "actions": [{"type": "points_per_unit", "points": "2", "match": {"categories": [f"cat-{i}"]}}]}
    if kind == 2:
        return {**name, "conditions": [{"type": "order_amount", "at_least": f"{100 + i}.00"}], "actions": [{"type": "fixed_points", "points": 10}]}
    if kind == 3:
        return {**name, "conditions": [{"type": "channel", "any_of": ["app"]}], "actions": [{"type": "cashback", "percent": "1"}]}
    return {**name, "actions": [{"type": "fixed_points", "points": 5}], "caps": {"per_member_day": 20}}


def rules_effect(url: str, key: str, purchase: str, admin: str, pgb_db: str, counts: list[int], clients: int, seconds: int,
                 rule_ids: list[int]) -> list[dict]:
    """Events/s with 0, 10, 50 ... active purchase rules, each beside a pgbench run at the same clients.
    The ids of the rules made are appended to `rule_ids`."""
    rows = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        for count in counts:
            while len(rule_ids) < count:
                response = client.post("/v1/rules", json=bench_rule(len(rule_ids)))
                response.raise_for_status()
                rule_ids.append(response.json()["id"])
            time.sleep(31)  # every server process drops its cached rule set within 30 s
            rows.append({"rules": count, **measure(purchase, url, admin, pgb_db, clients, seconds)})
    return rows


# The goal: (row, what the ratio to pgbench must reach); the history row compares two rows instead.
TARGETS = {"no rules, no tiers": 0.35, "10 active purchase rules": 0.25, "realistic program": 0.20}


def summary_rows(with_rules: list[dict], realistic: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    by_count = {r["rules"]: r for r in with_rules}
    for label, count in (("no rules, no tiers", 0), ("10 active purchase rules", 10)):
        if count in by_count:
            out.append({"row": label, **by_count[count], "target": f">= {TARGETS[label]:.2f}x",
                        "met": by_count[count]["ratio"] >= TARGETS[label]})
    if realistic:
        out.append({"row": "realistic program", **realistic["random"], "target": ">= 0.20x",
                    "met": realistic["random"]["ratio"] >= TARGETS["realistic program"]})
        short, long_ = realistic["history_10"], realistic["history_1000"]
        out.append({"row": "realistic, 10 past orders", **short, "target": "(reference)", "met": None})
        change = long_["events_per_s"] / short["events_per_s"]
        out.append({"row": "realistic, 1,000 past orders", **long_, "target": "within 10% of 10 past orders",
                    "met": abs(change - 1) <= 0.10, "vs_10_past": change})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="an existing database to connect to for CREATE DATABASE")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--clients", default="4,8,16,32", help="client counts to run")
    parser.add_argument("--seconds", type=int, default=15, help="duration of each run")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--rules", default="0,10,50", help="active rule counts for the rules run ('' to skip it)")
    parser.add_argument("--rules-clients", type=int, default=8, help="clients for the rules run and the realistic program")
    parser.add_argument("--history-members", type=int, default=50, help="members with 1,000 past purchases")
    parser.add_argument("--short-members", type=int, default=500,
                        help="members with 10 past purchases (many, so that the run adds few purchases to each)")
    parser.add_argument("--realistic-clients", default="",
                        help="client counts for the realistic rows (default: --rules-clients; the first one makes the goal rows)")
    parser.add_argument("--no-realistic", action="store_true", help="skip the realistic program")
    parser.add_argument("--keep-database", action="store_true", help="keep Wafa's database after the run (to EXPLAIN its statements)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 3 s runs, 8 clients, 200 members, rules 0,10, 8 members with 1,000 past purchases, 50 with 10")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.clients, args.members, args.rules, args.history_members, args.short_members = 3, "8", 200, "0,10", 8, 50
    for tool in ("wrk", "pgbench"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed: apt-get install wrk postgresql-client")

    started = time.perf_counter()
    run = uuid.uuid4().hex[:8]
    wafa_db, pgb_db = f"wafa_bench_{run}", f"pgbench_{run}"
    admin = args.postgres
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{wafa_db}"')
        conn.execute(f'CREATE DATABASE "{pgb_db}"')
        pg_version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    base = admin.rsplit("/", 1)[0]
    wafa_dsn = f"{base}/{wafa_db}"
    env = {**os.environ, **UNLIMITED, "WAFA_DATABASE_URL": wafa_dsn.replace("postgresql://", "postgresql+psycopg://"),
           "WAFA_LOG_LEVEL": "warning", "WAFA_DB_POOL_SIZE": "20"}
    server = None
    seeding: dict[str, Any] = {}
    realistic: dict[str, Any] = {}
    rule_ids: list[int] = []
    try:
        created = json.loads(subprocess.run([WAFA, "tenant", "create", "Bench Stores", "--currency", "SAR", "--pending-days", "0", "--json"],
                                            env=env, capture_output=True, text=True, check=True).stdout)
        key = created["api_key"]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([WAFA, "serve", "--port", str(port), "--workers", str(args.workers)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        SERVER_PID[:] = [server.pid]
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {key}"}
        ids = []
        with httpx.Client(base_url=url, headers=headers) as client:
            for n in range(1, args.members + 1):
                ids.append(client.post("/v1/members", json={"external_id": f"b-{n}"}).json()["id"])
        if not args.no_realistic:
            # Before any rule, tier or achievement: the one-statement path (see the docstring).
            rng = random.Random(7)
            seeding["history_1000"] = seed_history(url, key, "hl-", args.history_members, 1000, args.workers, rng)
            seeding["history_10"] = seed_history(url, key, "hs-", args.short_members, 10, args.workers, rng)
            print(f"seeded: {json.dumps(seeding)}", flush=True)
        purchase = PURCHASE_LUA.replace("__MEMBERS__", str(args.members)).replace("__KEY__", key)
        balance = BALANCE_LUA.replace("__FIRST__", str(min(ids))).replace("__LAST__", str(max(ids))).replace("__KEY__", key)
        run_wrk(purchase, url, 8, 3)  # warm-up: caches, connection pools

        subprocess.run(["pgbench", "-i", "-q", "-s", "10", "-h", "127.0.0.1", "-U", "postgres", pgb_db],
                       capture_output=True, check=True)
        rows = []
        for clients in [int(c) for c in args.clients.split(",")]:
            earn = run_wrk(purchase, url, clients, args.seconds)
            reads = run_wrk(balance, url, clients, max(5, args.seconds // 3))
            tps = run_pgbench(admin, pgb_db, clients, args.seconds)
            rows.append({"clients": clients, "events_per_s": earn["rate"], "p50_ms": earn["p50_us"] / 1000,
                         "p99_ms": earn["p99_us"] / 1000, "errors": earn["socket_errors"] + earn["non2xx"],
                         "balance_reads_per_s": reads["rate"], "reads_p99_ms": reads["p99_us"] / 1000,
                         "pgbench_tps": tps, "ratio": earn["rate"] / tps, "cpu": earn["cpu"]})
        best_rate = max(r["events_per_s"] for r in rows)
        # An open-ish load at 70% of the best rate: 16 connections, each pausing ~16/(0.7 x best) s
        # between requests (less its own latency), so latency is measured below saturation.
        gap_ms = max(1, int(16 / (0.7 * best_rate) * 1000) - 3)
        paced_script = purchase + PACED_LUA.replace("__LOW__", str(max(0, gap_ms // 2))).replace("__HIGH__", str(gap_ms * 3 // 2))
        paced = run_wrk(paced_script, url, 16, args.seconds)
        with_rules = []
        if args.rules:
            with_rules = rules_effect(url, key, purchase, admin, pgb_db, [int(c) for c in args.rules.split(",")],
                                      args.rules_clients, args.seconds, rule_ids)
        if not args.no_realistic:
            with httpx.Client(base_url=url, headers=headers) as client:
                realistic["program"] = realistic_program(client, rule_ids, datetime.now(UTC))
            time.sleep(31)  # every server process drops its cached program within 30 s
            rng = random.Random(11)
            everyone = ([f"b-{n}" for n in range(1, args.members + 1)] + [f"hl-{n}" for n in range(1, args.history_members + 1)]
                        + [f"hs-{n}" for n in range(1, args.short_members + 1)])
            settle = [purchase_body(member, f"settle-{member}", rng) for member in everyone]
            seconds = post_batches(url, key, chunked(settle), args.workers)
            realistic["settle"] = {"events": len(settle), "seconds": seconds, "events_per_s": len(settle) / seconds}
            print(f"settled: {json.dumps(realistic['settle'])}", flush=True)
            for n, clients in enumerate(int(c) for c in (args.realistic_clients or str(args.rules_clients)).split(",")):
                for name, prefix, count in (("random", "b-", args.members), ("history_10", "hs-", args.short_members),
                                            ("history_1000", "hl-", args.history_members)):
                    before = past_orders(wafa_dsn, prefix)
                    row = measure(basket_script(prefix, count, key), url, admin, pgb_db, clients, args.seconds)
                    realistic[name if n == 0 else f"{name}@{clients}"] = {
                        **row, "members": count, "past_orders_before": before, "past_orders_after": past_orders(wafa_dsn, prefix)}
        verify = subprocess.run([WAFA, "ledger", "verify", "--json"], env=env, capture_output=True, text=True, check=False)
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(admin, autocommit=True) as conn:
            if args.keep_database:
                print(f"kept for inspection (drop it when done): {wafa_dsn}", file=sys.stderr)
            else:
                conn.execute(f'DROP DATABASE IF EXISTS "{wafa_db}" WITH (FORCE)')
            conn.execute(f'DROP DATABASE IF EXISTS "{pgb_db}" WITH (FORCE)')

    best = max(rows, key=lambda r: r["events_per_s"])
    # Closed-loop load: the fewest clients that still drive at least 70% of the best rate stand for
    # "serving at 70% of the maximum"; more clients only queue (higher latency, no more throughput).
    near70 = min((r for r in rows if r["events_per_s"] >= 0.7 * best["events_per_s"]), key=lambda r: r["clients"])
    environment = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
                   "python": platform.python_version(), "postgresql": pg_version, "server_workers": args.workers,
                   "members": args.members, "seconds_per_run": args.seconds, "warmup_seconds": 3, "quick": args.quick,
                   "sweep_clients": args.clients, "rules_clients": args.rules_clients, "history_members": args.history_members,
                   "short_members": args.short_members, "realistic_clients": args.realistic_clients or str(args.rules_clients),
                   "wall_seconds": round(time.perf_counter() - started)}
    print("environment:", json.dumps(environment))
    print()
    print("| clients | events/s | p50 ms | p99 ms | errors | balance reads/s | pgbench tps | events/s ÷ pgbench tps |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['clients']} | {r['events_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | "
              f"{r['balance_reads_per_s']:.0f} | {r['pgbench_tps']:.0f} | {r['ratio']:.2f} |")
    print()
    print(f"best: {best['events_per_s']:.0f} events/s at {best['clients']} clients = {best['ratio']:.2f}x pgbench")
    print(f"at >= 70% of best: {near70['events_per_s']:.0f} events/s with {near70['clients']} clients, p99 {near70['p99_ms']:.1f} ms")
    print(f"paced at ~70% of best: {paced['rate']:.0f} events/s ({paced['rate'] / best['events_per_s']:.0%} of best) "
          f"from 16 pacing clients, p50 {paced['p50_us'] / 1000:.1f} ms, p99 {paced['p99_us'] / 1000:.1f} ms")
    if with_rules:
        print()
        print("| active purchase rules | clients | events/s | p50 ms | p99 ms | errors | pgbench tps | events/s ÷ pgbench tps |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in with_rules:
            print(f"| {r['rules']} | {r['clients']} | {r['events_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                  f"{r['errors']} | {r['pgbench_tps']:.0f} | {r['ratio']:.2f} |")
    if realistic:
        print()
        print(f"seeded history: {seeding['history_1000']['events']} + {seeding['history_10']['events']} events through "
              f"POST /v1/events:batch in {seeding['history_1000']['seconds'] + seeding['history_10']['seconds']:.0f} s; "
              f"settle (one purchase per member under the realistic program): {realistic['settle']['events']} events in "
              f"{realistic['settle']['seconds']:.0f} s ({realistic['settle']['events_per_s']:.0f}/s)")
        print()
        print("| realistic program | members | past orders (start → end) | clients | events/s | p50 ms | p99 ms | errors | pgbench tps | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name in [k for k in realistic if k.split("@")[0] in ("random", "history_10", "history_1000")]:
            r = realistic[name]
            print(f"| {name} | {r['members']} | {r['past_orders_before']['mean']:.0f} → {r['past_orders_after']['mean']:.0f} | "
                  f"{r['clients']} | {r['events_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | "
                  f"{r['pgbench_tps']:.0f} | {r['ratio']:.3f} |")
    summary = summary_rows(with_rules, realistic)
    if summary:
        print()
        print("Goal rows (each next to its own pgbench run at the same clients):")
        print()
        print("| row | clients | events/s | p50 ms | p99 ms | errors | pgbench tps | events/s ÷ pgbench tps | target | met |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
        for r in summary:
            met = "" if r["met"] is None else ("yes" if r["met"] else "no")
            extra = f" ({r['vs_10_past']:.2f}x the 10-order rate)" if "vs_10_past" in r else ""
            print(f"| {r['row']} | {r['clients']} | {r['events_per_s']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | "
                  f"{r['pgbench_tps']:.0f} | {r['ratio']:.3f} | {r['target']}{extra} | {met} |")
        print(f"(no rules, best of the client sweep: {best['ratio']:.2f}x at {best['clients']} clients)")
    print()
    print("CPU split of the earn runs (CPU ms per request by process group; the CPUs each kept busy on average):")
    print()
    print("| run | events/s | server ms | PostgreSQL ms | of which background ms | wrk ms | other processes ms | server CPUs | "
          "PostgreSQL CPUs | machine busy CPUs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    labelled = ([(f"no rules, {r['clients']} clients", r) for r in rows] + [(f"{r['rules']} rules, {r['clients']} clients", r) for r in with_rules]
                + [(f"realistic {k}, {v['clients']} clients", v) for k, v in realistic.items() if isinstance(v, dict) and "cpu" in v])
    for label, r in labelled:
        c = r["cpu"]
        print(f"| {label} | {r['events_per_s']:.0f} | {c['server_ms_per_request']:.2f} | {c['postgres_ms_per_request']:.2f} | "
              f"{c.get('postgres_background_ms_per_request', 0.0):.2f} | {c['load_generator_ms_per_request']:.2f} | "
              f"{c['other_ms_per_request']:.2f} | {c['server_cpus']:.2f} | "
              f"{c['postgres_cpus']:.2f} | {c['machine_busy_cpus']:.2f} |")
    print("ledger verify after the run:", json.loads(verify.stdout)["ok"] if verify.stdout else verify.stderr.strip())
    blob = {"environment": environment, "runs": rows, "paced": paced, "rules": with_rules, "seeding": seeding,
            "realistic": realistic, "summary": summary}
    print()
    print("JSON:", json.dumps(blob))
    if args.json:
        args.json.write_text(json.dumps(blob, indent=2))


if __name__ == "__main__":
    main()

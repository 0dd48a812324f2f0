"""Coalition benchmark: purchases at a partner against the single-brand path, and the settlement of a
month of one million entries, on PostgreSQL, next to pgbench in the same run.

Run:  .venv/bin/python bench/coalition.py [--quick]   (needs wrk and pgbench: apt-get install wrk postgresql-client)

It creates two scratch databases on the local PostgreSQL (Wafa's, migrated, and pgbench's, scale 10;
both dropped afterwards) and starts `wafa serve` with two worker processes. Two tenants:
- "single": a single-brand program, no rules: its members' purchases take the one-statement path;
- "souq": a coalition with two partners (a café and a pharmacy, SAR, commissions on both sides); the
  café's API key sends the purchases, so each one also posts the money the café owes the operator in
  the same ledger entry (the partner, the points fund, the commission).
For each client count, wrk drives POST /v1/events with random members of each tenant for the same
time, then pgbench runs at the same clients; the ratio partner / single-brand is the cost of the
coalition on the earn path.

Then the settlement: `--entries` (default 1,000,000) earn entries at the café dated over one past
month are written straight into the ledger in SQL (each with its five postings: the member's points,
the program's issued points, the café's money, the fund and the commission, the way the earn path
posts them; about as many redemptions at the pharmacy, 1 in 4), and `settlement.close` closes that
month; the time is the closing's, from the call to its commit. `wafa ledger verify` is not run on
the synthetic rows (they carry no hash chain); the statements are checked to sum to zero.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from earn import DONE_LUA, UNLIMITED, free_port, run_pgbench, run_wrk  # bench scripts share helpers as plain modules

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
  run = math.random(1, 1000000000)  -- each wrk run numbers its orders afresh: no repeat of an earlier run's order id
end
request = function()
  counter = counter + 1
  local m = math.random(1, __MEMBERS__)
  local body = string.format(
    '{"type":"purchase","member":{"external_id":"__PREFIX__%d"},"order_id":"__RUN__-%d-%d-%d","amount":"%d.%02d","currency":"SAR"}',
    m, run, tid, counter, math.random(5, 500), math.random(0, 99))
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer __KEY__"}, body)
end
"""

CAFE = {"key": "cafe", "name": "Qahwa", "currency": "SAR", "earn_rate": "1", "issue_price": "0.05", "redeem_value": "0.04",
        "issue_fee": "0.1", "redeem_fee": "0.05"}
PHARMACY = {"key": "pharmacy", "name": "Shifa", "currency": "SAR", "earn_rate": "1", "issue_price": "0.06", "redeem_value": "0.05"}


def _script(prefix: str, members: int, key: str, run: str) -> str:
    return (PURCHASE_LUA.replace("__MEMBERS__", str(members)).replace("__KEY__", key).replace("__PREFIX__", prefix)
            .replace("__RUN__", run) + DONE_LUA)


def _enrol(url: str, key: str, prefix: str, members: int) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for n in range(1, members + 1):
            client.post("/v1/members", json={"external_id": f"{prefix}{n}"}).raise_for_status()


def _synthetic_month(dsn: str, tenant_id: int, entries: int, start: datetime, end: datetime) -> float:
    """Write `entries` earn entries at the café (and a redemption at the pharmacy for every fourth) dated in
    [start, end), with their postings, in SQL; return the seconds it took."""
    began = time.perf_counter()
    with psycopg.connect(dsn, autocommit=False) as conn:
        ids = dict(conn.execute(
            "SELECT owner || ':' || kind, id FROM accounts WHERE tenant_id = %s AND unit IN ('SAR', 'PTS') AND member_id IS NULL",
            (tenant_id,),
        ).fetchall())
        partners = dict(conn.execute("SELECT key, id FROM partners WHERE tenant_id = %s", (tenant_id,)).fetchall())
        cafe, pharmacy = partners["cafe"], partners["pharmacy"]
        member_accounts = [row[0] for row in conn.execute(
            "SELECT id FROM accounts WHERE tenant_id = %s AND member_id IS NOT NULL AND kind = 'available' AND unit = 'PTS' ORDER BY id",
            (tenant_id,),
        ).fetchall()]
        span = (end - start).total_seconds()
        conn.execute("CREATE TEMP TABLE synth (n bigint, entry_id bigint, kind text, member_account bigint, points bigint, "
                     "partner_id bigint, created_at timestamptz) ON COMMIT DROP")
        conn.execute(
            """INSERT INTO synth
               SELECT n, nextval(pg_get_serial_sequence('entries', 'id')),
                      CASE WHEN n %% 4 = 0 THEN 'redeem' ELSE 'earn' END,
                      (%(members)s::bigint[])[1 + (n %% array_length(%(members)s::bigint[], 1))],
                      CASE WHEN n %% 4 = 0 THEN -40 ELSE 100 END,
                      CASE WHEN n %% 4 = 0 THEN %(pharmacy)s ELSE %(cafe)s END,
                      %(start)s::timestamptz + make_interval(secs => (n::float8 / %(entries)s) * %(span)s)
               FROM generate_series(1, %(entries)s) AS n""",
            {"members": member_accounts, "pharmacy": pharmacy, "cafe": cafe, "start": start, "entries": entries, "span": span},
        )
        conn.execute(
            """INSERT INTO entries (id, tenant_id, kind, idempotency_key, member_id, points, reason, details, created_at, partner_id)
               SELECT entry_id, %s, kind, 'synth:' || n, NULL, points, 'synthetic', NULL, created_at, partner_id FROM synth""",
            (tenant_id,),
        )
        # Earn at the café, 100 points: member +100, issued -100; money: café -500, fund +450, commission +50.
        # Redemption at the pharmacy, 40 points: member -40, redeemed +40; money: pharmacy +200, fund -200.
        conn.execute(
            """INSERT INTO postings (tenant_id, entry_id, account_id, unit, amount)
               SELECT %(t)s, entry_id, account_id, unit, amount FROM synth, LATERAL (VALUES
                 (member_account, 'PTS', points),
                 (CASE WHEN kind = 'earn' THEN %(issued)s ELSE %(redeemed)s END, 'PTS', -points),
                 (CASE WHEN kind = 'earn' THEN %(cafe_acct)s ELSE %(pharmacy_acct)s END, 'SAR', CASE WHEN kind = 'earn' THEN -500 ELSE 200 END),
                 (%(fund)s, 'SAR', CASE WHEN kind = 'earn' THEN 450 ELSE -200 END),
                 (%(commission)s, 'SAR', CASE WHEN kind = 'earn' THEN 50 ELSE 0 END)
               ) AS p(account_id, unit, amount) WHERE amount <> 0""",
            {"t": tenant_id, "issued": ids["program:issued"], "redeemed": ids["program:redeemed"],
             "cafe_acct": ids[f"partner:{cafe}:settlement"], "pharmacy_acct": ids[f"partner:{pharmacy}:settlement"],
             "fund": ids["program:coalition_fund"], "commission": ids["program:commission"]},
        )
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE entries")
        conn.execute("VACUUM ANALYZE postings")
    return time.perf_counter() - began


def _close(url: str, period: str) -> tuple[float, list[dict[str, Any]]]:
    """Close `period` of the coalition tenant through the service; (seconds, statements)."""
    from wafa.coalition import reads, settlement
    from wafa.db import session_factory, unit_of_work
    from wafa.tenants import service as tenants

    factory = session_factory(url)
    with factory() as session:
        tenant_id = tenants.get_by_slug_or_raise(session, slug="souq").id
    began = time.perf_counter()
    with unit_of_work(factory) as session:
        run, _ = settlement.close(session, tenant_id=tenant_id, period=period, now=datetime.now(UTC), by="bench")
        body = reads.settlement_read(session, run, replayed=False)
    seconds = time.perf_counter() - began
    return seconds, [s.model_dump(mode="json") for s in body.statements]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test", help="a database to connect to for CREATE DATABASE")
    parser.add_argument("--clients", default="8,16", help="client counts")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries in the settled month")
    parser.add_argument("--quick", action="store_true", help="3 s runs, 8 clients, 200 members, 100,000 entries")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.clients, args.members, args.entries = 3, "8", 200, 100_000
    for tool in ("wrk", "pgbench"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed: apt-get install wrk postgresql-client")
    run = uuid.uuid4().hex[:8]
    wafa_db, pgb_db = f"wafa_bench_{run}", f"pgbench_{run}"
    admin = args.postgres
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{wafa_db}"')
        conn.execute(f'CREATE DATABASE "{pgb_db}"')
        pg_version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    wafa_dsn = f"{admin.rsplit('/', 1)[0]}/{wafa_db}"
    sa_url = wafa_dsn.replace("postgresql://", "postgresql+psycopg://")
    env = {**os.environ, **UNLIMITED, "WAFA_DATABASE_URL": sa_url, "WAFA_LOG_LEVEL": "warning", "WAFA_DB_POOL_SIZE": "20"}
    server = None
    rows: list[dict[str, Any]] = []
    settled: dict[str, Any] = {}
    try:
        single = json.loads(subprocess.run([WAFA, "tenant", "create", "Single Brand", "--slug", "single", "--currency", "SAR", "--pending-days", "0",
                                             "--json"],
                                           env=env, capture_output=True, text=True, check=True).stdout)["api_key"]
        operator = json.loads(subprocess.run([WAFA, "tenant", "create", "Souq Rewards", "--slug", "souq", "--currency", "SAR", "--pending-days", "0",
                                             "--json"],
                                             env=env, capture_output=True, text=True, check=True).stdout)["api_key"]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([WAFA, "serve", "--port", str(port), "--workers", "2"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {operator}"}) as client:
            client.put("/v1/coalition", json={"breakage_policy": "operator"}).raise_for_status()
            partner_ids = [client.post("/v1/partners", json=body).raise_for_status().json()["id"] for body in (CAFE, PHARMACY)]
            cafe_key = client.post(f"/v1/partners/{partner_ids[0]}/keys", json={"name": "bench"}).raise_for_status().json()["secret"]
        _enrol(url, single, "s-", args.members)
        _enrol(url, operator, "c-", args.members)
        single_script = _script("s-", args.members, single, f"s{run}")
        partner_script = _script("c-", args.members, cafe_key, f"c{run}")
        run_wrk(single_script, url, 8, 3)  # warm-up: caches, connection pools
        run_wrk(partner_script, url, 8, 3)
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", "-h", "127.0.0.1", "-U", "postgres", pgb_db], capture_output=True, check=True)
        for clients in [int(c) for c in args.clients.split(",")]:
            one = run_wrk(single_script, url, clients, args.seconds)
            at_partner = run_wrk(partner_script, url, clients, args.seconds)
            tps = run_pgbench(admin, pgb_db, clients, args.seconds)
            rows.append({
                "clients": clients, "single_per_s": one["rate"], "partner_per_s": at_partner["rate"], "pgbench_tps": tps,
                "partner_over_single": at_partner["rate"] / one["rate"], "single_over_pgbench": one["rate"] / tps,
                "partner_over_pgbench": at_partner["rate"] / tps, "single_p99_ms": one["p99_us"] / 1000,
                "partner_p99_ms": at_partner["p99_us"] / 1000, "errors": one["socket_errors"] + one["non2xx"] + at_partner["socket_errors"]
                + at_partner["non2xx"],
            })
            print(json.dumps(rows[-1]), flush=True)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {operator}"}) as client:
            # One real redemption at the pharmacy: it opens the pharmacy's money account the synthetic month posts to.
            member = client.get("/v1/members", params={"external_id": "c-1"}).raise_for_status().json()["items"][0]["id"]
            client.post("/v1/events", json={"type": "purchase", "member": {"id": member}, "order_id": f"open-{run}", "amount": "10.00",
                                            "currency": "SAR", "partner": "cafe"}).raise_for_status()
            client.post(f"/v1/members/{member}/redemptions", json={"points": 1, "reason": "bench", "partner": "pharmacy"}).raise_for_status()
        server.terminate()
        server.wait(timeout=30)
        server = None
        with psycopg.connect(wafa_dsn, autocommit=True) as conn:
            tenant_id = conn.execute("SELECT id FROM tenants WHERE slug = 'souq'").fetchone()[0]  # type: ignore[index]
        start, end = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
        settled["entries"] = args.entries
        settled["write_seconds"] = _synthetic_month(wafa_dsn, tenant_id, args.entries, start, end)
        os.environ["WAFA_DATABASE_URL"] = sa_url
        settled["close_seconds"], statements = _close(sa_url, "2026-09")
        settled["statements"] = [{"party": s["party"], "net": s["net"]} for s in statements]
        settled["sum"] = str(sum(Decimal(s["net"]) for s in statements))
        print(json.dumps(settled), flush=True)
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{wafa_db}" WITH (FORCE)')
            conn.execute(f'DROP DATABASE IF EXISTS "{pgb_db}" WITH (FORCE)')

    environment = {"cpus": os.cpu_count(), "python": platform.python_version(), "postgres": pg_version, "server_workers": 2,
                   "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    print("\nenvironment:", json.dumps(environment))
    print(f"\n{'clients':>7} {'single/s':>9} {'partner/s':>9} {'pgbench':>8} {'partner÷single':>14} {'single÷pgb':>10} {'partner÷pgb':>11}")
    for row in rows:
        print(f"{row['clients']:>7} {row['single_per_s']:>9.0f} {row['partner_per_s']:>9.0f} {row['pgbench_tps']:>8.0f} "
              f"{row['partner_over_single']:>14.3f} {row['single_over_pgbench']:>10.3f} {row['partner_over_pgbench']:>11.3f}")
    print(f"\nsettlement of a month of {settled['entries']:,} entries: {settled['close_seconds']:.2f} s "
          f"(writing them took {settled['write_seconds']:.1f} s); statements sum to {settled['sum']}")
    if args.json:
        args.json.write_text(json.dumps({"environment": environment, "earn": rows, "settlement": settled}, indent=2))


if __name__ == "__main__":
    main()

"""Profile one purchase of the realistic program in process, on PostgreSQL, for members with 10 and
with 1,000 past purchases.

Run:  .venv/bin/python bench/profile_purchase.py [--purchases 100] [--long-members 20]
      (needs pyinstrument: .venv/bin/pip install pyinstrument)

It creates a scratch database on the local PostgreSQL (dropped afterwards), a tenant, members with
1,000 past purchases (`--long-members` of them) and members with 10 (one per measured purchase, so
each buys once per phase and stays near 10), seeded through POST /v1/events:batch in process (the
app on a TestClient) before the program exists, with 2,000 other members of 25 purchases each
(tables about the size bench/earn.py's have when it measures the program; ANALYZE after seeding),
then the realistic program of bench/earn.py (10 purchase rules, 3 tiers, 6 badges, 2 challenges, a weekly streak) through the same API calls, and one
purchase per member under it (so the measured purchases are ordinary ones). Then it calls, for each
purchase, what POST /v1/events calls (no HTTP, no authentication): the one-statement attempt in an
autocommit session (which raises NeedsTransaction with purchase rules), then record_purchase in one
transaction and the answer's JSON. Three phases per group of members, interleaving the two groups:

- timed: wall time per purchase, no instrumentation;
- counted: SQL statements per purchase (SQLAlchemy's before/after_cursor_execute on the engine), by
  table and by the calling function (the innermost frame in src/wafa outside wafa/db.py), with the
  time spent inside cursor.execute (round trip and server time);
- profiled: pyinstrument over the purchases, the time split by domain (see DOMAINS) and the top
  functions by cumulative time.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from psycopg import sql as psql
from pyinstrument import Profiler
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from earn import chunked, cpu_snapshot, history_events, purchase_body, realistic_program

from wafa.api.app import create_app
from wafa.api.metrics import count_on_commit
from wafa.db import autocommit_session, make_engine, unit_of_work
from wafa.events import service as events
from wafa.events.idempotency import request_hash
from wafa.events.schemas import PurchaseIn
from wafa.migrate import upgrade
from wafa.tenants import service as tenants

# Time under record_purchase goes to the first of these met on the way down from it (so what
# achievements read of the history counts as achievements, not as the events module they call).
DOMAINS: list[tuple[str, set[str] | None, str]] = [
    ("wafa/events/service.py", {"earn_multiplier", "tier_points"}, "tiers (earn multiplier, upgrade)"),
    ("wafa/events/service.py", {"balance_of"}, "balance read"),
    ("wafa/events/service.py", {"keep_outcome"}, "event outcome insert"),
    ("wafa/events/awards.py", {"evaluate", "member_facts", "lines_of"}, "rules evaluation (facts, caps, engine)"),
    ("wafa/events/awards.py", {"post"}, "ledger writes (entry, postings, lot, rule awards)"),
    ("wafa/rules/", None, "rules evaluation (facts, caps, engine)"),
    ("wafa/tiers/", None, "tiers (earn multiplier, upgrade)"),
    ("wafa/memberships/", None, "membership plans"),
    ("wafa/engagement/", None, "achievements (badges, challenges, streaks)"),
    ("wafa/ledger/service.py", {"member_accounts", "lock_accounts"}, "account lookup and lock"),
    ("wafa/ledger/service.py", {"balances"}, "balance read"),
    ("wafa/ledger/", None, "ledger writes (entry, postings, lot, rule awards)"),
    ("wafa/programs/", None, "program settings"),
    ("wafa/members/", None, "member lookup"),
    ("wafa/db.py", {"insert_unless_exists"}, "event insert"),
]


def classify(frame: Any) -> str | None:
    path = (frame.file_path or "").replace("\\", "/")
    for fragment, functions, domain in DOMAINS:
        if fragment in path and (functions is None or frame.function in functions):
            return domain
    return None


def short_path(path: str | None) -> str:
    path = (path or "").replace("\\", "/")
    for marker in ("/src/wafa/", "/site-packages/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path.rsplit("/", 1)[-1]


def breakdown(root: Any, purchases: int) -> tuple[dict[str, float], list[tuple[str, float, float]]]:
    """(ms per purchase by domain, top functions: (name, cumulative ms, self ms) per purchase)."""
    domains: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    own: Counter[str] = Counter()

    def walk(frame: Any, domain: str | None, on_stack: frozenset[str]) -> None:
        name = f"{short_path(frame.file_path)}:{frame.function}"
        if domain is None and frame.function == "fast_attempt":
            domain = "one-statement attempt (raises NeedsTransaction)"
        elif domain is None and frame.function == "transactional":
            domain = "transaction: session, commit, answer JSON"
        elif domain == "transaction: session, commit, answer JSON" and frame.function == "record_purchase":
            domain = "record_purchase itself"
        elif domain == "record_purchase itself":
            domain = classify(frame) or domain
        self_time = frame.total_self_time
        domains[domain or "harness"] += self_time
        own[name] += self_time
        if name not in on_stack:
            cumulative[name] += frame.time
        for child in frame.children:
            if not child.is_synthetic:
                walk(child, domain, on_stack | {name})

    walk(root, None, frozenset())
    per = 1000 / purchases
    top = [(name, ms * per, own[name] * per) for name, ms in cumulative.most_common()]
    return {domain: ms * per for domain, ms in domains.most_common()}, top


class Statements:
    """SQL statements sent through the engine while `on`: count and time by (caller, table, kind)."""

    def __init__(self, engine: Any) -> None:
        self.on = False
        self.count: Counter[tuple[str, str, str]] = Counter()
        self.ms: Counter[tuple[str, str, str]] = Counter()
        self.commits = 0
        # One (statement, parameters) per key, to EXPLAIN ANALYZE afterwards.
        self.samples: dict[tuple[str, str, str], tuple[str, Any]] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)

    def _commit(self, _conn: Any) -> None:
        if self.on:
            self.commits += 1

    def _before(self, conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool) -> None:
        if self.on:
            conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, _many: bool) -> None:
        if not self.on:
            return
        elapsed = time.perf_counter() - conn.info["bench_started"].pop()
        key = (caller(), table_of(statement), statement.lstrip().split(None, 1)[0].upper())
        self.samples.setdefault(key, (statement, dict(params) if isinstance(params, dict) else params))
        self.count[key] += 1
        self.ms[key] += elapsed * 1000


def caller() -> str:
    """The innermost frame in src/wafa outside wafa/db.py (marked when an ORM flush sent the statement)."""
    frame = sys._getframe(2)
    flush = False
    while frame is not None:
        path = frame.f_code.co_filename.replace("\\", "/")
        if "sqlalchemy/orm/unitofwork.py" in path:
            flush = True
        if "/src/wafa/" in path and not path.endswith("/wafa/db.py"):
            return f"{short_path(path)}:{frame.f_code.co_name}" + (" (flush)" if flush else "")
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


def table_of(statement: str) -> str:
    match = re.search(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|FROM)\s+\"?(\w+)", statement, re.IGNORECASE)
    return match.group(1) if match else statement.split(None, 1)[0].lower()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="an existing database to connect to for CREATE DATABASE")
    parser.add_argument("--purchases", type=int, default=100, help="purchases per phase and group")
    parser.add_argument("--long-members", type=int, default=20, help="members with 1,000 past purchases")
    parser.add_argument("--filler-members", type=int, default=2000,
                        help="other members, so the tables are about the size bench/earn.py's are when it measures the program")
    parser.add_argument("--filler-orders", type=int, default=25, help="past purchases of each other member")
    parser.add_argument("--no-prepare", action="store_true",
                        help="psycopg never prepares statements server-side (so PostgreSQL never uses generic plans)")
    parser.add_argument("--interval", type=float, default=0.0002, help="pyinstrument's sampling interval (s)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()), help="where the pyinstrument text and HTML go")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"wafa_profile_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        version = conn.execute(text("SHOW server_version")).scalar_one()
    try:
        engine = make_engine(args.postgres.rsplit("/", 1)[0] + f"/{name}", pool_size=5)
        if args.no_prepare:  # every statement planned for its own parameters (custom plans), as psycopg does before its 5th run
            event.listen(engine, "connect", lambda dbapi_conn, _record: setattr(dbapi_conn, "prepare_threshold", None))
        upgrade(engine)
        results = run(engine, args)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    results["environment"] = {"postgresql": version, "python": sys.version.split()[0], "purchases_per_phase": args.purchases,
                              "long_members": args.long_members, "short_members": args.purchases, "interval_s": args.interval,
                              "filler_members": args.filler_members, "filler_orders": args.filler_orders, "no_prepare": args.no_prepare}
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def run(engine: Any, args: argparse.Namespace) -> dict[str, Any]:
    factory = sessionmaker(engine, expire_on_commit=False)
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        tenant = tenants.create(session, name="Profile", currency="SAR", now=now, pending_days=0, slug=f"p{uuid.uuid4().hex[:8]}")
        tenant_id = tenant.id
        key = tenants.create_key(session, tenant_id=tenant_id, name="bench", scopes=["admin"], now=now).secret
    rng = random.Random(5)
    groups = {"10 past orders": [f"ps-{n}" for n in range(1, args.purchases + 1)],
              "1,000 past orders": [f"pl-{n}" for n in range(1, args.long_members + 1)]}
    filler = [f"pf-{n}" for n in range(1, args.filler_members + 1)]
    with TestClient(create_app(factory=factory)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        started = time.perf_counter()
        for external_ids, orders in ((groups["1,000 past orders"], 1000), (groups["10 past orders"], 10), (filler, args.filler_orders)):
            for external_id in external_ids:
                client.post("/v1/members", json={"external_id": external_id}).raise_for_status()
            seeded = [e for external_id in external_ids for e in history_events(external_id, orders, rng, datetime.now(UTC))]
            for batch in chunked(seeded):
                result = client.post("/v1/events:batch", json={"events": batch}).json()
                assert result["recorded"] == len(batch), result["items"][:3]
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
        program = realistic_program(client, [], datetime.now(UTC))
        started = time.perf_counter()
        for external_id in groups["1,000 past orders"] + groups["10 past orders"]:
            client.post("/v1/events", json=purchase_body(external_id, f"settle-{external_id}", rng)).raise_for_status()
        print(f"settled in {time.perf_counter() - started:.0f} s", flush=True)
    with engine.connect() as conn:  # the statistics autovacuum would have gathered by now
        conn.execute(text("ANALYZE"))
        conn.commit()

    counter = Statements(engine)
    serial = iter(range(10**9))

    def purchase(external_id: str) -> None:
        body = purchase_body(external_id, f"prof-{external_id}-{next(serial)}", rng)
        event_in = PurchaseIn.model_validate(body)
        fingerprint = request_hash("POST", "/v1/events", event_in.model_dump(mode="json"))
        at = datetime.now(UTC)
        fast_attempt(factory, tenant_id, event_in, fingerprint, at)
        transactional(factory, tenant_id, event_in, fingerprint, at)

    def past(group: str) -> float:
        with factory() as session:
            return session.execute(text(
                "SELECT avg(n) FROM (SELECT count(e.id) AS n FROM members m LEFT JOIN events e ON e.member_id = m.id "
                "AND e.type = 'purchase' WHERE m.external_id LIKE :p GROUP BY m.id) AS c"
            ), {"p": "pl-%" if group.startswith("1,000") else "ps-%"}).scalar_one()

    out: dict[str, Any] = {"program": program, "groups": {}}
    for group in groups:
        out["groups"][group] = {"past_orders_before": float(past(group))}
    pick = {group: cycle(members) for group, members in groups.items()}
    for _ in range(10):  # warm-up
        for group in groups:
            purchase(next(pick[group]))

    timings: dict[str, list[float]] = defaultdict(list)
    samples: dict[str, dict[tuple[str, str, str], tuple[str, Any]]] = {}
    for _ in range(args.purchases):  # the two groups interleaved: the same machine conditions for both
        for group in groups:
            started = time.perf_counter()
            purchase(next(pick[group]))
            timings[group].append((time.perf_counter() - started) * 1000)

    for group in groups:
        counter.count.clear()
        counter.ms.clear()
        counter.samples.clear()
        counter.commits = 0
        counter.on = True
        cpu_before, python_before = cpu_snapshot(), time.process_time()
        for _ in range(args.purchases):
            purchase(next(pick[group]))
        python_cpu, cpu_after = time.process_time() - python_before, cpu_snapshot()
        counter.on = False
        n = args.purchases
        by_caller: Counter[str] = Counter()
        by_caller_ms: Counter[str] = Counter()
        by_table: Counter[str] = Counter()
        by_table_ms: Counter[str] = Counter()
        for (who, table, kind), count in counter.count.items():
            by_caller[f"{who} [{kind} {table}]"] += count
            by_caller_ms[f"{who} [{kind} {table}]"] += counter.ms[(who, table, kind)]
            by_table[f"{kind} {table}"] += count
            by_table_ms[f"{kind} {table}"] += counter.ms[(who, table, kind)]
        values = timings[group]
        out["groups"][group].update({
            "ms_per_purchase": {"median": statistics.median(values), "mean": statistics.fmean(values),
                                "p90": statistics.quantiles(values, n=10)[-1], "min": min(values)},
            "statements_per_purchase": sum(counter.count.values()) / n,
            "commits_per_purchase": counter.commits / n,
            "python_cpu_ms_per_purchase": python_cpu * 1000 / n,
            "postgres_cpu_ms_per_purchase": (cpu_after["postgres"] - cpu_before["postgres"]) * 1000 / n,
            "sql_ms_per_purchase": sum(counter.ms.values()) / n,
            "by_table": {k: {"statements": by_table[k] / n, "ms": by_table_ms[k] / n} for k, _ in by_table_ms.most_common()},
            "by_caller": {k: {"statements": by_caller[k] / n, "ms": by_caller_ms[k] / n} for k, _ in by_caller_ms.most_common()},
        })
        samples[group] = dict(counter.samples)
    out["prepared"] = prepared_statements(engine)
    out["plans"] = explain(engine, samples, args.out / f"profile_purchase_plans{'_unprepared' if args.no_prepare else ''}.txt")

    for group in groups:
        profiler = Profiler(interval=args.interval)
        profiler.start()
        for _ in range(args.purchases):
            purchase(next(pick[group]))
        profiler.stop()
        session = profiler.last_session
        assert session is not None
        domains, top = breakdown(session.root_frame(), args.purchases)
        slug = ("long" if group.startswith("1,000") else "short") + ("_unprepared" if args.no_prepare else "")
        (args.out / f"profile_purchase_{slug}.txt").write_text(profiler.output_text(unicode=True, show_all=False))
        (args.out / f"profile_purchase_{slug}.html").write_text(profiler.output_html())
        out["groups"][group].update({
            "profiled_ms_per_purchase": session.duration * 1000 / args.purchases,
            "domains_ms": domains,
            "top": [{"function": f, "cumulative_ms": c, "self_ms": s} for f, c, s in top[:300]],
            "past_orders_after": float(past(group)),
        })
    return out


def explain(engine: Any, samples: dict[str, dict[tuple[str, str, str], tuple[str, Any]]], path: Path) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of one sample of every SELECT each group sent, in a transaction rolled
    back; the plans go to `path`. Returns, per caller, each group's execution time and scans."""
    keys = sorted({k for found in samples.values() for k in found if k[2] in ("SELECT", "WITH")})
    rows, text_out = [], []
    with engine.connect() as conn:
        for key in keys:
            row: dict[str, Any] = {"caller": f"{key[0]} [{key[2]} {key[1]}]"}
            for group, found in samples.items():
                if key not in found:
                    continue
                statement, params = found[key]
                transaction = conn.begin()
                try:
                    plan = [line for (line,) in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)]
                finally:
                    transaction.rollback()
                generic = generic_plan(conn, statement, params)
                row[group] = {**summary_of(plan), "generic": summary_of(generic)}
                text_out += [f"== {row['caller']} ({group})", statement, repr(params), *plan, "-- generic plan (as a prepared statement may use):",
                             *generic, ""]
            rows.append(row)
    path.write_text("\n".join(text_out))
    return rows


def prepared_statements(engine: Any) -> list[dict[str, Any]]:
    """The statements psycopg prepared on the pooled connections, with how often PostgreSQL ran each on
    its generic plan and on a custom one (pg_prepared_statements, summed over the connections)."""
    found: dict[str, list[int]] = {}
    connections = [engine.connect() for _ in range(engine.pool.size())]
    try:
        for conn in connections:
            for statement, generic, custom in conn.exec_driver_sql(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE NOT from_sql"
            ):
                counts = found.setdefault(statement, [0, 0])
                counts[0] += generic
                counts[1] += custom
    finally:
        for conn in connections:
            conn.close()
    return sorted(({"statement": k, "generic_plans": g, "custom_plans": c} for k, (g, c) in found.items()),
                  key=lambda row: -row["generic_plans"])


def summary_of(plan: list[str]) -> dict[str, Any]:
    executed = next((float(line.split(":")[1].split()[0]) for line in plan if line.startswith("Execution Time")), 0.0)
    scans = sorted({re.sub(r"\s+\(cost.*", "", line.strip().lstrip("-> ")) for line in plan if " Scan " in line or "Scan on" in line})
    return {"execution_ms": executed, "scans": scans}


def generic_plan(conn: Any, statement: str, params: Any) -> list[str]:
    """EXPLAIN ANALYZE of the statement as a server-side prepared statement on its generic plan (psycopg
    prepares a statement after 5 executions on a connection; PostgreSQL may then plan it once for any
    parameters). Empty if the statement's parameters are not named ones."""
    if not isinstance(params, dict):
        return []
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
    prepared = statement
    for n, name in enumerate(names, 1):
        prepared = prepared.replace(f"%({name})s", f"${n}")
    raw = conn.connection.driver_connection
    query = psql.SQL("EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_generic ({})").format(
        psql.SQL(", ").join(psql.Literal(params[name]) for name in names))
    transaction = conn.begin()
    try:
        raw.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        raw.execute("PREPARE bench_generic AS " + prepared.replace("%%", "%"))
        lines = [line for (line,) in raw.execute(query).fetchall()]
        raw.execute("DEALLOCATE bench_generic")
        return lines
    except psycopg.Error as exc:
        transaction.rollback()
        try:  # PREPARE outlives a rollback: drop it if it was made
            with conn.begin():
                raw.execute("DEALLOCATE bench_generic")
        except psycopg.Error:
            pass
        return [f"(could not explain the generic plan: {exc})"]
    finally:
        if transaction.is_active:
            transaction.rollback()


def fast_attempt(factory: Any, tenant_id: int, event_in: PurchaseIn, fingerprint: str, now: datetime) -> None:
    """What POST /v1/events tries first: the one-statement path in autocommit (refused with purchase rules)."""
    try:
        with autocommit_session(factory) as session:
            events.record_purchase(session, tenant_id=tenant_id, event_in=event_in, request_hash=fingerprint, now=now, fast_only=True)
            count_on_commit(session, "event_types", "purchase")
        raise RuntimeError("the realistic program took the one-statement path")
    except events.NeedsTransaction:
        pass


def transactional(factory: Any, tenant_id: int, event_in: PurchaseIn, fingerprint: str, now: datetime) -> bytes:
    """Then what run_idempotent does without an Idempotency-Key: record_purchase in one transaction, the answer's JSON."""
    with unit_of_work(factory) as session:
        result, _ = events.record_purchase(session, tenant_id=tenant_id, event_in=event_in, request_hash=fingerprint, now=now)
        count_on_commit(session, "event_types", "purchase")
        content = result.model_dump_json().encode()
    return content


def cycle(values: list[str]) -> Any:
    while True:
        yield from values


WAFA_PARTS = ("api/", "db.py", "engagement/", "events/", "ledger/", "members/", "memberships/", "programs/", "rules/", "tiers/")


def is_wafa(function: str) -> bool:
    return function.startswith(WAFA_PARTS)


def report(results: dict[str, Any]) -> None:
    groups = results["groups"]
    names = list(groups)
    print("environment:", json.dumps(results["environment"]))
    print()
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))

    def row(label: str, get: Callable[[dict[str, Any]], Any]) -> None:
        print(f"| {label} | " + " | ".join(str(get(groups[n])) for n in names) + " |")

    row("past orders (before → after)", lambda g: f"{g['past_orders_before']:.0f} → {g['past_orders_after']:.0f}")
    row("ms per purchase, median (uninstrumented)", lambda g: f"{g['ms_per_purchase']['median']:.2f}")
    row("ms per purchase, mean / p90", lambda g: f"{g['ms_per_purchase']['mean']:.2f} / {g['ms_per_purchase']['p90']:.2f}")
    row("ms per purchase under pyinstrument", lambda g: f"{g['profiled_ms_per_purchase']:.2f}")
    row("SQL statements per purchase", lambda g: f"{g['statements_per_purchase']:.1f}")
    row("commits per purchase", lambda g: f"{g['commits_per_purchase']:.1f}")
    row("CPU ms per purchase: this process (Python)", lambda g: f"{g['python_cpu_ms_per_purchase']:.2f}")
    row("CPU ms per purchase: PostgreSQL processes", lambda g: f"{g['postgres_cpu_ms_per_purchase']:.2f}")
    row("ms inside cursor.execute per purchase", lambda g: f"{g['sql_ms_per_purchase']:.2f}")

    print()
    print("Time per purchase by domain (pyinstrument, ms):")
    print()
    all_domains = sorted({d for g in groups.values() for d in g["domains_ms"]}, key=lambda d: -groups[names[-1]]["domains_ms"].get(d, 0))
    print("| domain | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for domain in all_domains:
        print(f"| {domain} | " + " | ".join(f"{groups[n]['domains_ms'].get(domain, 0):.2f}" for n in names) + " |")
    print("| total | " + " | ".join(f"{sum(groups[n]['domains_ms'].values()):.2f}" for n in names) + " |")

    for n in names:
        for label, items in (("", groups[n]["top"]), (" in src/wafa", [t for t in groups[n]["top"] if is_wafa(t["function"])])):
            print()
            print(f"Top 15 functions{label} by cumulative time, {n} (ms per purchase, under pyinstrument):")
            print()
            print("| function | cumulative | self |")
            print("|---|---:|---:|")
            for item in items[:15]:
                print(f"| {item['function']} | {item['cumulative_ms']:.2f} | {item['self_ms']:.2f} |")

    for n in names:
        print()
        print(f"SQL per purchase by statement and table, {n}:")
        print()
        print("| statement | count | ms |")
        print("|---|---:|---:|")
        for k, v in groups[n]["by_table"].items():
            print(f"| {k} | {v['statements']:.2f} | {v['ms']:.3f} |")

    print()
    print("SQL per purchase by calling function (both groups; sorted by the 1,000-order time):")
    print()
    keys = sorted({k for n in names for k in groups[n]["by_caller"]}, key=lambda k: -groups[names[-1]]["by_caller"].get(k, {}).get("ms", 0))
    print("| caller [statement table] | " + " | ".join(f"count, {n}" for n in names) + " | " + " | ".join(f"ms, {n}" for n in names) + " |")
    print("|---|" + "---:|" * (2 * len(names)))
    for k in keys:
        counts = [groups[n]["by_caller"].get(k, {}).get("statements", 0) for n in names]
        ms = [groups[n]["by_caller"].get(k, {}).get("ms", 0) for n in names]
        print(f"| {k} | " + " | ".join(f"{c:.2f}" for c in counts) + " | " + " | ".join(f"{m:.3f}" for m in ms) + " |")

    print()
    print("EXPLAIN ANALYZE of one sample of each SELECT (server execution ms; the scans of the plan):")
    print()
    print("| caller [statement table] | " + " | ".join(f"ms, {n}" for n in names) + " | " + " | ".join(f"generic plan ms, {n}" for n in names)
          + f" | scans ({names[-1]}) | scans, generic plan ({names[-1]}) |")
    print("|---|" + "---:|" * (2 * len(names)) + "---|---|")
    for plan in sorted(results["plans"], key=lambda p: -p.get(names[-1], {}).get("execution_ms", 0)):
        cells = [f"{plan[n]['execution_ms']:.3f}" if n in plan else "–" for n in names]
        generic = [f"{plan[n]['generic']['execution_ms']:.3f}" if n in plan else "–" for n in names]
        last = plan.get(names[-1], {})
        print(f"| {plan['caller']} | " + " | ".join(cells) + " | " + " | ".join(generic)
              + f" | {'; '.join(last.get('scans', []))} | {'; '.join(last.get('generic', {}).get('scans', []))} |")
    print()
    print("Statements psycopg prepared (after 5 runs on a connection) that PostgreSQL ran on a generic plan, "
          "summed over the pool's connections:")
    print()
    print("| statement (start) | generic plans | custom plans |")
    print("|---|---:|---:|")
    for row in results["prepared"]:
        if row["generic_plans"]:
            print(f"| {' '.join(row['statement'].split())[:140]} | {row['generic_plans']} | {row['custom_plans']} |")
    print()
    print("Functions whose cumulative time grows with history (1,000-order minus 10-order, ms per purchase, > 0.1):")
    print()
    short, long_ = ({t["function"]: t["cumulative_ms"] for t in groups[n]["top"]} for n in names)
    growth = sorted(((f, long_[f] - short.get(f, 0), short.get(f, 0), long_[f]) for f in long_), key=lambda x: -x[1])
    print("| function | 10 past | 1,000 past | difference |")
    print("|---|---:|---:|---:|")
    for f, diff, a, b in growth:
        if diff > 0.1:
            print(f"| {f} | {a:.2f} | {b:.2f} | {diff:.2f} |")
    print()
    print("JSON:", json.dumps(results))


if __name__ == "__main__":
    main()

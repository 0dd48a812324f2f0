"""Webhook deliveries per second: `wafa worker --deliveries-only` (1, then 2 processes) sending the outbox
to a local receiver on 127.0.0.1, against pgbench on the same machine in the same run.

Run:  .venv/bin/python bench/outbox.py [--messages 20000] [--members 2000]
      (needs `apt-get install postgresql-client` for pgbench)

It creates two scratch databases on the local PostgreSQL (Wafa's, migrated, and pgbench's, scale 10;
both dropped afterwards), a tenant and an endpoint subscribed to everything, and writes `--messages`
points.earned messages into the outbox over `--members` members in one statement (as committed
purchases would have). Then, for each worker count, the workers number the messages, owe them to the
endpoint and deliver them; the time runs from starting the workers to the last delivery recorded.
The receiver is its own process (a threaded http.server keeping connections alive, answering 200 at
once, checking nothing), so
what is measured is Wafa's side: leasing, building and signing envelopes, sending, recording.
Between the rows the deliveries are forgotten and the messages made new again.

`--broadcast N` (default 100,000; 0 skips it) adds the e-mail broadcast rows: N members who consented
to e-mail, a campaign to all of them (no holdout, no quiet hours, no caps), its audience and messages
made at the send time (timed on its own), then `wafa worker --deliveries-only` (1, then 2 processes)
sending them through SMTP to an aiosmtpd server in its own process that accepts and counts, each row
timed from starting the workers to the last message recorded as sent.

`--earn` (on by default; `--no-earn` skips it) adds the cost of the outbox on the purchase path:
bench/earn.py's no-rules run (8 clients) on this tree, then on the last revision without the outbox
(`--without-outbox`, default e12840f, checked out in a temporary git worktree and run from its own
sources with this virtual environment), each next to its own pgbench run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.orm import sessionmaker

from wafa.config import get_settings
from wafa.db import make_engine, unit_of_work
from wafa.migrate import upgrade
from wafa.notify import webhooks
from wafa.tenants import service as tenants

sys.path.insert(0, str(Path(__file__).parent))
from earn import free_port, run_pgbench  # bench scripts share helpers as plain modules


def _serve(port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy would be

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def _reset(dsn: str, tenant_id: int) -> None:
    """Forget the deliveries and the numbering: the same messages, owed anew."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM webhook_attempts")
        conn.execute("DELETE FROM webhook_deliveries")
        conn.execute("UPDATE outbox_messages SET seq = NULL WHERE tenant_id = %s", (tenant_id,))
        conn.execute("DELETE FROM outbox_sequences")
        conn.execute("UPDATE webhook_endpoints SET from_seq = 1, failing_since = NULL")
        conn.execute("VACUUM ANALYZE")


def _delivered(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return int(conn.execute("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'").fetchone()[0])  # type: ignore[index]


def timed_workers(url: str, count: int, finished: Any, total: int, *, limit: float = 3600) -> float:
    """Seconds from starting `count` processes of `wafa worker --deliveries-only` until `finished()` reaches `total`."""
    env = {**os.environ, "WAFA_DATABASE_URL": url, "WAFA_WEBHOOK_ALLOW_PRIVATE": "1", "WAFA_DELIVERY_INTERVAL_SECONDS": "0.05",
           "WAFA_LOG_LEVEL": "warning", "WAFA_PUBLIC_URL": "https://loyalty.example"}
    wafa = str(Path(sys.executable).parent / "wafa")
    started = time.perf_counter()
    workers = [subprocess.Popen([wafa, "worker", "--deliveries-only"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(count)]
    try:
        done = 0
        while done < total:
            time.sleep(0.2)
            done = finished()
            if time.perf_counter() - started > limit:
                raise SystemExit(f"{count} workers: only {done} of {total} done after {limit:.0f} s")
        return time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)


def run_workers(url: str, dsn: str, count: int, messages: int) -> dict[str, float]:
    seconds = timed_workers(url, count, lambda: _delivered(dsn), messages, limit=1800)
    return {"workers": count, "messages": messages, "seconds": seconds, "deliveries_per_s": messages / seconds}


def _smtp_sink(port: int) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's name
            return "250 2.0.0 Ok: queued"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    asyncio.run(asyncio.sleep(10**9))


def _sent(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return int(conn.execute("SELECT count(*) FROM member_messages WHERE status = 'sent'").fetchone()[0])  # type: ignore[index]


def broadcast(url: str, dsn: str, members: int, workers: list[int], postgres: str, pgb_db: str) -> list[dict[str, float]]:
    """The e-mail broadcast rows (see the module's docstring)."""
    from wafa.messages import campaigns, policy
    from wafa.messages import service as messaging

    port = free_port()
    sink = multiprocessing.Process(target=_smtp_sink, args=(port,), daemon=True)
    sink.start()
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    now = datetime.now(UTC)
    try:
        with unit_of_work(factory) as session:
            tenant = tenants.create(session, name="Broadcast", slug="broadcast", currency="SAR", now=now, pending_days=0)
            messaging.save_channel(session, tenant_id=tenant.id, channel="email", enabled=True, now=now, config={
                "provider": "smtp", "host": "127.0.0.1", "port": port, "starttls": False, "sender": "Bench <bench@example.com>"})
            policy.save(session, tenant_id=tenant.id, policy=policy.Policy("00:00", "00:00", 0, 0), now=now)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                """INSERT INTO members (tenant_id, external_id, name, email, locale, consent_email, consent_sms, consent_push,
                                        consent_whatsapp, status, referral_code, card_token, enrolled_at, updated_at)
                   SELECT %(t)s, 'B' || n, 'Member ' || n, 'm' || n || '@example.com', CASE WHEN n %% 2 = 0 THEN 'ar' ELSE 'en' END,
                          true, false, false, false, 'active', substr(md5('r' || n), 1, 12), md5('c' || n), now(), now()
                   FROM generate_series(1, %(n)s) AS n""", {"t": tenant.id, "n": members})
        with unit_of_work(factory) as session:
            campaign = campaigns.create(
                session, tenant_id=tenant.id, name="Bench", audience={"all": True}, channel="email", subject={"en": "Hello", "ar": "مرحباً"},
                body={"en": "Hello {{ name }}, double points tonight.", "ar": "مرحباً {{ name }}، نقاط مضاعفة الليلة."},
                send_at=now, holdout_percent=0, lift_days=30, now=now)
        started = time.perf_counter()
        campaigns.start_due(factory, now=datetime.now(UTC))
        queued = time.perf_counter() - started
        print(f"campaign {campaign.id}: {members:,} messages queued in {queued:.1f} s", flush=True)
        rows = []
        for count in workers:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("UPDATE member_messages SET status = 'queued', sent_at = NULL, attempts = 0, leased_until = NULL, "
                             "reason = NULL, due_at = now() - interval '1 second'")
                conn.execute("VACUUM ANALYZE member_messages")
            seconds = timed_workers(url, count, lambda: _sent(dsn), members)
            row: dict[str, float] = {"workers": count, "messages": members, "seconds": seconds, "messages_per_s": members / seconds,
                                     "queued_seconds": queued}
            row["pgbench_tps"] = run_pgbench(postgres, pgb_db, clients=8, seconds=15)
            row["ratio"] = row["messages_per_s"] / row["pgbench_tps"]
            rows.append(row)
            print(f"{count} worker(s): {members:,} e-mails in {seconds:.1f} s = {row['messages_per_s']:.0f}/s; "
                  f"pgbench {row['pgbench_tps']:.0f} tps; ratio {row['ratio']:.3f}", flush=True)
        return rows
    finally:
        engine.dispose()
        sink.terminate()


def earn_rows(postgres: str, without: str, seconds: int) -> list[dict[str, Any]]:
    """Purchases per second with the outbox (this tree) and without it (`without`), each against pgbench."""
    import tempfile

    here = Path(__file__).resolve().parent.parent
    rows = []
    with tempfile.TemporaryDirectory(prefix="wafa-without-outbox-") as folder:
        old = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", str(old), without], check=True, capture_output=True)
        try:
            for label, tree in (("with the outbox", here), (f"without it ({without})", old)):
                out = Path(folder) / "earn.json"
                env = {**os.environ, "PYTHONPATH": str(tree / "src")}  # the `wafa` script then runs that tree's code
                subprocess.run([sys.executable, str(tree / "bench" / "earn.py"), "--postgres", postgres, "--clients", "8", "--rules", "",
                                "--no-realistic", "--seconds", str(seconds), "--json", str(out)], env=env, check=True,
                               stdout=subprocess.DEVNULL)
                [run] = json.loads(out.read_text())["runs"]
                rows.append({"row": label, "events_per_s": run["events_per_s"], "pgbench_tps": run["pgbench_tps"],
                             "ratio": run["events_per_s"] / run["pgbench_tps"]})
                print(f"earn {label}: {run['events_per_s']:.0f} events/s; pgbench {run['pgbench_tps']:.0f} tps; "
                      f"ratio {rows[-1]['ratio']:.3f}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(old)], check=False, capture_output=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test", help="a database to connect to for CREATE DATABASE")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--workers", default="1,2", help="worker process counts to run")
    parser.add_argument("--broadcast", type=int, default=100_000, help="members of the e-mail broadcast rows (0: skip them)")
    parser.add_argument("--no-earn", action="store_true", help="skip the earn rows with and without the outbox")
    parser.add_argument("--without-outbox", default="e12840f", help="the revision measured without the outbox")
    parser.add_argument("--earn-seconds", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    wafa_db, pgb_db = f"wafa_outbox_{run}", f"pgbench_{run}"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{wafa_db}"')
        conn.execute(f'CREATE DATABASE "{pgb_db}"')
        pg_version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    dsn = f"{args.postgres.rsplit('/', 1)[0]}/{wafa_db}"
    url = dsn.replace("postgresql://", "postgresql+psycopg://")
    port = free_port()
    receiver = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    receiver.start()
    try:
        engine = make_engine(url)
        upgrade(engine)
        os.environ["WAFA_WEBHOOK_ALLOW_PRIVATE"] = "1"
        get_settings.cache_clear()
        factory = sessionmaker(engine, expire_on_commit=False)
        now = datetime.now(UTC)
        with unit_of_work(factory) as session:
            tenant = tenants.create(session, name="Bench", slug="bench", currency="SAR", now=now, pending_days=0)
            webhooks.create(session, tenant_id=tenant.id, url=f"http://127.0.0.1:{port}/hooks", event_types=None, description=None,
                            enabled=True, now=now)
        engine.dispose()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                """INSERT INTO outbox_messages (tenant_id, message_id, type, version, member_id, occurred_at, created_at, payload)
                   SELECT %(t)s, 'msg_' || md5(n::text), 'points.earned', 1, 1 + n %% %(members)s, now(), now(),
                          json_build_object('points', 40, 'status', 'pending', 'available_at', now(), 'expires_at', null,
                                            'kind', 'earn', 'reason', 'bench', 'entry_id', n, 'event_id', n, 'order_id', 'B-' || n)
                   FROM generate_series(1, %(n)s) AS n""",
                {"t": tenant.id, "members": args.members, "n": args.messages},
            )
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", "-h", "127.0.0.1", "-U", "postgres", pgb_db], check=True, capture_output=True)
        rows = []
        for count in [int(c) for c in args.workers.split(",")]:
            _reset(dsn, tenant.id)
            found = run_workers(url, dsn, count, args.messages)
            found["pgbench_tps"] = run_pgbench(args.postgres, pgb_db, clients=8, seconds=15)
            found["ratio"] = found["deliveries_per_s"] / found["pgbench_tps"]
            rows.append(found)
            print(f"{count} worker(s): {args.messages} deliveries in {found['seconds']:.1f} s = {found['deliveries_per_s']:.0f}/s; "
                  f"pgbench {found['pgbench_tps']:.0f} tps; ratio {found['ratio']:.3f}", flush=True)
        print()
        print("| workers | deliveries | seconds | deliveries/s | pgbench tps (8 clients) | deliveries/s ÷ pgbench tps |")
        print("|---:|---:|---:|---:|---:|---:|")
        for row in rows:
            print(f"| {row['workers']} | {row['messages']:,} | {row['seconds']:.1f} | {row['deliveries_per_s']:.0f} | "
                  f"{row['pgbench_tps']:.0f} | {row['ratio']:.3f} |")
        mails = broadcast(url, dsn, args.broadcast, [int(c) for c in args.workers.split(",")], args.postgres, pgb_db) if args.broadcast else []
        if mails:
            print()
            print("| workers | e-mails | seconds | e-mails/s | pgbench tps (8 clients) | e-mails/s ÷ pgbench tps |")
            print("|---:|---:|---:|---:|---:|---:|")
            for row in mails:
                print(f"| {row['workers']} | {row['messages']:,} | {row['seconds']:.1f} | {row['messages_per_s']:.0f} | "
                      f"{row['pgbench_tps']:.0f} | {row['ratio']:.3f} |")
        earn = [] if args.no_earn else earn_rows(args.postgres, args.without_outbox, args.earn_seconds)
        if earn:
            print()
            print("| purchases (no rules, 8 clients) | events/s | pgbench tps (8 clients) | events/s ÷ pgbench tps |")
            print("|---|---:|---:|---:|")
            for row in earn:
                print(f"| {row['row']} | {row['events_per_s']:.0f} | {row['pgbench_tps']:.0f} | {row['ratio']:.3f} |")
            print(f"with ÷ without: {earn[0]['ratio'] / earn[1]['ratio']:.3f} (of the ratios to pgbench)")
        result = {"environment": {"date": now.isoformat(timespec="seconds"), "cpus": os.cpu_count(), "postgresql": pg_version,
                                  "python": sys.version.split()[0], "members": args.members}, "rows": rows, "broadcast": mails,
                  "earn": earn}
        print("JSON:", json.dumps(result))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
    finally:
        receiver.terminate()
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{wafa_db}" WITH (FORCE)')
            conn.execute(f'DROP DATABASE IF EXISTS "{pgb_db}" WITH (FORCE)')


if __name__ == "__main__":
    main()

"""Abuse benchmark: a sign-in flood on the console, with and without the protection, side by side.

Run:  .venv/bin/python bench/abuse.py [--clients 80] [--seconds 20] [--quick]

For each of two servers (`wafa serve --workers 2` on a fresh SQLite file, one with the default limits
and one with them out of reach: sign-in throttles at a million a second and as many hashing slots as
clients, which is how Wafa behaved before), the run:
1. measures the API alone: one client reading a member's balance in a loop, for `--seconds`
   (p50, p99, max latency);
2. starts `--clients` threads posting /admin/login with unknown e-mails, each on its own connection and
   from its own address (X-Forwarded-For, which the server trusts from 127.0.0.1 as uvicorn does), and
   measures the same API reads meanwhile, plus the sign-in answers by status;
3. samples the resident memory of the worker processes (the largest, from /proc) every 0.2 s.
The numbers are printed as a table and as JSON (the README's Security section quotes the latest).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from earn import UNLIMITED, free_port  # bench scripts share helpers as plain modules

WAFA = str(Path(sys.executable).parent / "wafa")
UNPROTECTED = {f"WAFA_{name}": "1000000/second" for name in ("SIGNIN_PER_IP", "SIGNIN_PER_ORG", "SIGNIN_FAILURES_PER_IP")}


def children_rss(pid: int) -> int:
    """The largest resident set (bytes) among the server's worker processes."""
    largest = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = re.search(r"^PPid:\s+(\d+)", text, re.MULTILINE)
        rss = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
        if ppid and rss and int(ppid.group(1)) == pid:
            largest = max(largest, int(rss.group(1)) * 1024)
    return largest


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def api_reads(url: str, key: str, member: int, stop: threading.Event) -> list[float]:
    """Latencies (ms) of balance reads made one after another until `stop`."""
    out: list[float] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        while not stop.is_set():
            start = time.perf_counter()
            answer = http.get(f"/v1/members/{member}/balance")
            out.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, answer.text
    return out


def flood(url: str, slug: str, n: int, stop: threading.Event, statuses: Counter[int]) -> None:
    """One attacker: sign-in attempts with unknown e-mails from its own address until `stop`."""
    with httpx.Client(base_url=url, timeout=60, headers={"X-Forwarded-For": f"10.{n // 250}.{n % 250}.1"}) as http:
        page = http.get("/admin/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        i = 0
        while not stop.is_set():
            i += 1
            try:
                answer = http.post("/admin/login", data={"tenant": slug, "email": f"x{n}-{i}@example.com", "password": "guess-guess-guess",
                                                         "csrf": csrf})
                statuses[answer.status_code] += 1
            except httpx.HTTPError:
                statuses[0] += 1


def run(label: str, extra_env: dict[str, str], clients: int, seconds: float) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="wafa-abuse-"))
    env = {**os.environ, **UNLIMITED, **extra_env, "WAFA_DATABASE_URL": f"sqlite:///{folder / 'wafa.db'}", "WAFA_LOG_LEVEL": "warning",
           "FORWARDED_ALLOW_IPS": "127.0.0.1"}
    env.pop("WAFA_REDIS_URL", None)
    subprocess.run([WAFA, "db", "upgrade"], env=env, check=True, capture_output=True)
    made = json.loads(subprocess.run([WAFA, "tenant", "create", "Flooded", "--currency", "SAR", "--slug", "flooded", "--pending-days", "0", "--json"],
                                     env=env, check=True, capture_output=True, text=True).stdout)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([WAFA, "serve", "--port", str(port), "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {made['api_key']}"}) as http:
            member = http.post("/v1/members", json={"external_id": "M-1"}).json()["id"]
        memory: list[int] = []
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                memory.append(children_rss(server.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        stop = threading.Event()
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        quiet = api_reads(url, made["api_key"], member, stop)
        quiet_memory = max(memory)
        statuses: Counter[int] = Counter()
        stop = threading.Event()
        attackers = [threading.Thread(target=flood, args=(url, "flooded", n, stop, statuses)) for n in range(clients)]
        for attacker in attackers:
            attacker.start()
        time.sleep(1.0)  # the flood under way
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        flooded = api_reads(url, made["api_key"], member, stop)
        for attacker in attackers:
            attacker.join()
        sampling.set()
        sampler.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "server": label,
        "api_alone_ms": {"p50": round(statistics.median(quiet), 2), "p99": round(percentile(quiet, 0.99), 2), "max": round(max(quiet), 1)},
        "api_flooded_ms": {"p50": round(statistics.median(flooded), 2), "p99": round(percentile(flooded, 0.99), 2),
                           "max": round(max(flooded), 1)},
        "api_requests": {"alone": len(quiet), "flooded": len(flooded)},
        "worker_rss_mb": {"alone": round(quiet_memory / 2**20), "flooded_peak": round(max(memory) / 2**20)},
        "sign_in_answers": dict(sorted(statuses.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=80)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="20 clients for 5 s: a check that the benchmark runs")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds = 20, 5.0
    print(f"environment: cpus={os.cpu_count()} python={platform.python_version()} clients={args.clients} seconds={args.seconds}")
    results = [
        run("protected (defaults)", {}, args.clients, args.seconds),
        run("unprotected (no throttles, a hashing slot per client)", {**UNPROTECTED, "WAFA_PASSWORD_HASH_SLOTS": str(args.clients)},
            args.clients, args.seconds),
    ]
    print(f"\n{'':<58}{'API p50':>10}{'API p99':>10}{'API max':>10}{'worker MB':>11}  sign-in answers")
    for r in results:
        for phase in ("alone", "flooded"):
            ms = r[f"api_{phase}_ms"]
            rss = r["worker_rss_mb"]["alone" if phase == "alone" else "flooded_peak"]
            answers = "" if phase == "alone" else " ".join(f"{k}:{v}" for k, v in r["sign_in_answers"].items())
            print(f"{r['server'] + ', ' + phase:<58}{ms['p50']:>10}{ms['p99']:>10}{ms['max']:>10}{rss:>11}  {answers}")
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()

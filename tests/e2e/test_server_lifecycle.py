"""Real `wafa serve` processes over their whole life: first start on an empty database, a till's
hold and capture over HTTP, a clean stop, a restart that finds everything, and several worker
processes whose metrics add up. (tests/e2e/test_server.py drives the everyday purchase flow.)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

WAFA = str(Path(sys.executable).parent / "wafa")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(env: dict[str, str], *extra: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A `wafa serve` process until the block ends; then SIGTERM, and it must stop cleanly."""
    port = free_port()
    process = subprocess.Popen([WAFA, "serve", "--port", str(port), *extra], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}: {process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 30 s")
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM the server and return everything it printed: it must shut down in order, without a traceback."""
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    # uvicorn re-raises the signal once it has shut down, so a clean stop may report -SIGTERM.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output, output
    assert "Traceback" not in output and "ERROR" not in output, output
    return output


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("WAFA_", "PROMETHEUS_"))}
    return {**environ, "WAFA_DATABASE_URL": f"sqlite:///{tmp_path / 'wafa.db'}", "WAFA_LOG_LEVEL": "info"}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WAFA, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_first_start_migrates_serves_a_till_stops_cleanly_and_restarts_with_everything(env: dict[str, str]) -> None:
    with serving(env) as (url, process):
        assert httpx.get(f"{url}/healthz").json()["database"] == "ok"
        # A tenant made by the CLI while the server runs is usable at once (no return window: the till holds points at once).
        made = cli(env, "tenant", "create", "Al Noor Stores", "--currency", "SAR", "--pending-days", "0", "--json")
        assert made.returncode == 0, made.stderr
        key = json.loads(made.stdout)["api_key"]
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
            member = http.post("/v1/members", json={"external_id": "L-1", "name": "ليلى", "locale": "ar"}).json()
            bought = http.post("/v1/events", json={"type": "purchase", "member": {"id": member["id"]}, "order_id": "L-O1",
                                                   "amount": "400.00", "currency": "SAR"})
            assert bought.status_code == 201 and bought.json()["award"]["points"] == 400

            held = http.post(f"/v1/members/{member['id']}/holds", json={"points": 300, "reason": "till 3"},
                             headers={"Idempotency-Key": "till-3-hold"})
            assert held.status_code == 201
            hold = held.json()
            assert http.get(f"/v1/members/{member['id']}/balance").json()["available"] == 100

            captured = http.post(f"/v1/holds/{hold['id']}/capture", json={"points": 250}, headers={"Idempotency-Key": "till-3-cap"})
            assert captured.status_code == 200
            again = http.post(f"/v1/holds/{hold['id']}/capture", json={"points": 250}, headers={"Idempotency-Key": "till-3-cap"})
            assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true" and again.json() == captured.json()
            assert http.post(f"/v1/holds/{hold['id']}/void", headers={"Idempotency-Key": "till-3-void"}).status_code == 409
            assert http.get(f"/v1/members/{member['id']}/balance").json()["available"] == 150

            bad = http.post(f"/v1/holds/{hold['id']}/capture", content=b"{not json", headers={"Content-Type": "application/json"})
            assert bad.status_code in (400, 422) and bad.headers["content-type"].startswith("application/problem+json")
            wrong_method = http.delete("/v1/members")
            assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET, POST"
        output = stop(process)
        assert "Wafa is serving on" in output

    with serving(env) as (url, process):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
            assert http.get(f"/v1/members/{member['id']}/balance").json()["available"] == 150
            assert http.get(f"/v1/holds/{hold['id']}").json()["status"] == "captured"
            assert http.get(f"/v1/members/{member['id']}").json()["name"] == "ليلى"
        stop(process)
    verified = cli(env, "ledger", "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True


def _sample(metrics: str, line_start: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_several_worker_processes_report_one_sum_of_metrics(env: dict[str, str]) -> None:
    made = cli(env, "tenant", "create", "Al Noor Stores", "--currency", "SAR", "--json")
    key = json.loads(made.stdout)["api_key"]
    with serving(env, "--workers", "2") as (url, process):
        for n in range(30):  # a fresh connection each, so both processes take some
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
                purchase = {"type": "purchase", "order_id": f"W-{n}", "amount": "10.00", "currency": "SAR"}
                assert http.post("/v1/events", json=purchase).status_code == 201
        metrics = httpx.get(f"{url}/metrics").text
        assert _sample(metrics, 'wafa_http_requests_total{method="POST",route="/v1/events",status="201"}') == 30
        assert _sample(metrics, 'wafa_events_total{type="purchase"}') == 30
        stop(process)


def test_worker_on_a_served_database_runs_its_passes_and_exits_0(env: dict[str, str]) -> None:
    cli(env, "tenant", "create", "Al Noor Stores", "--currency", "SAR")
    with serving(env) as (_, process):
        done = cli(env, "worker", "--passes", "2", "--interval", "0.1")
        assert done.returncode == 0, done.stderr
        assert "pass 1:" in done.stderr and "pass 2:" in done.stderr and done.stdout == ""
        stop(process)


@pytest.fixture(params=["sqlite", "postgresql"])
def env_on(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """`env` on SQLite, or on a fresh PostgreSQL database (revocations travel differently: a version
    table on SQLite, a NOTIFY on PostgreSQL)."""
    if request.param == "sqlite":
        yield env
        return
    from tests.conftest import PG_ENV, drop_postgres_database, new_postgres_database

    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    url = new_postgres_database(base, "wafa_serve")
    yield {**env, "WAFA_DATABASE_URL": url}
    drop_postgres_database(url)


def test_a_revoked_key_is_refused_at_once_by_every_worker_process(env_on: dict[str, str]) -> None:
    """Each process caches the keys it has seen; a revocation made through one process (or the CLI's
    database) must reach the other's cache before the next request, not within 30 s."""
    made = cli(env_on, "tenant", "create", "Al Noor Stores", "--currency", "SAR", "--json")
    admin = json.loads(made.stdout)["api_key"]
    with serving(env_on, "--workers", "2") as (url, process):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}) as http:
            till = http.post("/v1/api-keys", json={"name": "till 4", "scopes": ["read"]}).json()

        def fresh_get(secret: str) -> int:
            """A read on a new connection, so that both processes take some (and cache the key)."""
            return httpx.get(f"{url}/v1/tenant", headers={"Authorization": f"Bearer {secret}", "Connection": "close"}).status_code

        assert {fresh_get(till["secret"]) for _ in range(40)} == {200}
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}) as http:
            assert http.delete(f"/v1/api-keys/{till['id']}").status_code == 204
        # The very next requests, on whichever process: refused.
        assert [fresh_get(till["secret"]) for _ in range(40)] == [401] * 40
        stop(process)

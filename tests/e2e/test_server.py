"""A real `wafa serve` process on a SQLite file, driven over HTTP by httpx."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

WAFA = str(Path(sys.executable).parent / "wafa")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "WAFA_DATABASE_URL": f"sqlite:///{folder / 'wafa.db'}", "WAFA_LOG_LEVEL": "warning"}
    # No return window: the test spends a purchase's points at once.
    created = subprocess.run([WAFA, "tenant", "create", "E2E Stores", "--currency", "SAR", "--pending-days", "0", "--json"],
                             env=env, capture_output=True, text=True, check=True)
    key = json.loads(created.stdout)["api_key"]
    port = free_port()
    process = subprocess.Popen([WAFA, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        yield url, key, env
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_enrol_purchase_return_redeem_over_real_http(server) -> None:  # type: ignore[no-untyped-def]
    url, key, _ = server
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
        member = http.post("/v1/members", json={"external_id": "E-1", "name": "Sara", "locale": "en"}).json()
        bought = http.post("/v1/events", json={
            "type": "purchase", "member": {"external_id": "E-1"}, "order_id": "E-O1", "amount": "250.00", "currency": "SAR",
            "items": [{"sku": "PER-OUD", "quantity": 1, "unit_price": "250.00"}],
        })
        assert bought.status_code == 201 and bought.json()["award"]["points"] == 250
        back = http.post("/v1/events", json={"type": "return", "order_id": "E-O1", "amount": "50.00"})
        assert back.json()["reversal"]["points"] == 50
        spent = http.post(f"/v1/members/{member['id']}/redemptions", json={"points": 150, "reason": "gift card"},
                          headers={"Idempotency-Key": "e2e-1"})
        assert spent.status_code == 201 and spent.json()["balance"] == 50
        assert http.get(f"/v1/members/{member['id']}/balance").json()["available"] == 50
        assert http.post("/v1/events", json={"type": "purchase", "amount": "x"}).status_code == 422
        metrics = http.get("/metrics").text
    assert 'wafa_http_requests_total{method="POST",route="/v1/events",status="201"}' in metrics
    assert 'wafa_ledger_entries_total{kind="earn"} 1.0' in metrics
    assert 'wafa_ledger_entries_total{kind="reverse"} 1.0' in metrics
    assert 'wafa_events_total{type="purchase"} 1.0' in metrics
    assert "wafa_http_request_duration_seconds_bucket" in metrics


def test_openapi_and_health(server) -> None:  # type: ignore[no-untyped-def]
    url, _, _ = server
    assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
    spec = httpx.get(f"{url}/v1/openapi.json").json()
    assert "/v1/events" in spec["paths"] and "Problem" in spec["components"]["schemas"]


def test_worker_runs_a_pass_and_exits(server) -> None:  # type: ignore[no-untyped-def]
    _, _, env = server
    done = subprocess.run([WAFA, "worker", "--passes", "1"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "pass 1" in done.stderr
    verify = subprocess.run([WAFA, "ledger", "verify", "--json"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert verify.returncode == 0 and json.loads(verify.stdout)["ok"] is True

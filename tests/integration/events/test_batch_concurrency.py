"""Two copies of one batch sent at once with the same Idempotency-Key, on PostgreSQL: every event is
recorded once, both answers agree, and a retry replays. Real threads and connections."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from tests.conftest import START, factory_for, make_tenant
from wafa.api.app import create_app
from wafa.clock import FrozenClock

pytestmark = pytest.mark.postgres_only


def test_concurrent_repeats_of_a_batch_record_each_event_once(pg_url: str) -> None:
    factory = factory_for(pg_url)
    clock = FrozenClock(START)
    tenant = make_tenant(factory, clock.now())
    with TestClient(create_app(factory=factory, clock=clock), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
        member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
        client.post("/v1/event-types", json={"name": "store_check_in"})
        client.post("/v1/rules", json={"name_en": "Visit", "name_ar": "زيارة", "trigger": "store_check_in", "status": "active",
                                       "actions": [{"type": "fixed_points", "points": 10}]})
        # Custom events without a reference have no natural key: only the batch's key keeps them single.
        body = {"events": [{"type": "store_check_in", "member": {"id": member_id}} for _ in range(60)]}
        barrier = threading.Barrier(3)

        def send(_: int):  # type: ignore[no-untyped-def]
            barrier.wait(timeout=30)
            return client.post("/v1/events:batch", json=body, headers={"Idempotency-Key": "nightly-1"})

        with ThreadPoolExecutor(max_workers=3) as pool:
            answers = list(pool.map(send, range(3)))
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 600
        ids = [sorted(item["result"]["event_id"] for item in a.json()["items"]) for a in answers]
        assert ids[0] == ids[1] == ids[2] and len(set(ids[0])) == 60
        retry = client.post("/v1/events:batch", json=body, headers={"Idempotency-Key": "nightly-1"})
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 600

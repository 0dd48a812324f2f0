"""HTTP: registering webhook endpoints (the secret shown once), changing, rotating, testing,
replaying and removing them, their deliveries, the catalog of message types; and the problems."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import make_key, problem
from tests.integration.notify.receiver import receiving
from wafa.config import get_settings
from wafa.notify import webhooks
from wafa.outbox import catalog

pytestmark = pytest.mark.usefixtures("allow_private_webhooks")


def test_register_list_change_rotate_and_remove(client) -> None:  # type: ignore[no-untyped-def]
    made = client.post("/v1/webhook-endpoints", json={
        "url": "http://127.0.0.1:9/hooks", "event_types": ["points.earned", "tier.upgraded"], "description": "CRM",
    })
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["secret"].startswith("whsec_") and Webhook(body["secret"])  # a secret the verifier takes
    assert body["health"] == {"pending": 0, "dead": 0, "succeeded": 0, "failed": 0, "failing_since": None}
    endpoint_id = body["id"]
    listed = client.get("/v1/webhook-endpoints").json()["items"]
    assert [e["id"] for e in listed] == [endpoint_id] and "secret" not in listed[0]
    changed = client.patch(f"/v1/webhook-endpoints/{endpoint_id}", json={"event_types": None, "enabled": False})
    assert changed.status_code == 200 and changed.json()["event_types"] is None and changed.json()["enabled"] is False
    rotated = client.post(f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json()["secret"] != body["secret"]
    assert client.delete(f"/v1/webhook-endpoints/{endpoint_id}").status_code == 204
    problem(client.get(f"/v1/webhook-endpoints/{endpoint_id}"), 404, "/problems/not-found")


def test_a_test_message_and_its_delivery_log(client, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    with receiving(200) as receiver:
        made = client.post("/v1/webhook-endpoints", json={"url": receiver.url}).json()
        receiver.secrets.append(made["secret"])
        sent = client.post(f"/v1/webhook-endpoints/{made['id']}/test")
        assert sent.status_code == 202
        webhooks.number_and_fan_out(factory, now=clock.now(), tenant_id=tenant.id)
        with webhooks.client() as http:
            assert webhooks.deliver_due(factory, clock=clock, client=http, tenant_id=tenant.id) == {"delivered": 1}
    assert receiver.received[0].verified and receiver.messages()[0]["id"] == sent.json()["message_id"]
    page = client.get(f"/v1/webhook-endpoints/{made['id']}/deliveries", params={"log": "true"}).json()
    assert [d["type"] for d in page["items"]] == ["webhook.test"]
    delivery = page["items"][0]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1 and delivery["log"][0]["status_code"] == 200
    assert delivery["log"][0]["response"] == "answered 200"
    health = client.get(f"/v1/webhook-endpoints/{made['id']}").json()["health"]
    assert health["succeeded"] == 1 and health["failed"] == 0
    replayed = client.post(f"/v1/webhook-endpoints/{made['id']}/replay", json={"message_id": sent.json()["message_id"]})
    assert replayed.status_code == 202 and replayed.json() == {"messages": 1}


def test_the_catalog_lists_every_type_with_its_schema(client) -> None:  # type: ignore[no-untyped-def]
    items = client.get("/v1/outbox/event-types").json()["items"]
    assert {i["name"] for i in items} == set(catalog.TYPES)
    earned = client.get("/v1/outbox/event-types/points.earned").json()
    assert earned["version"] == 1 and earned["schema"]["properties"]["type"] == {"const": "points.earned"}
    assert "points" in earned["schema"]["properties"]["data"]["properties"]
    problem(client.get("/v1/outbox/event-types/points.stolen"), 404, "/problems/not-found")


def test_bad_input_is_refused_with_a_problem(client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    problem(client.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1/h", "event_types": ["points.stolen"]}), 422,
            "/problems/invalid-input", "event_types")
    problem(client.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1/h", "event_types": []}), 422,
            "/problems/invalid-input", "event_types")
    problem(client.post("/v1/webhook-endpoints", json={"url": "ftp://127.0.0.1/h"}), 422, "/problems/invalid-input", "url")
    problem(client.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1/h", "colour": "red"}), 422, "/problems/invalid-input")
    made = client.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/h"}).json()
    problem(client.post(f"/v1/webhook-endpoints/{made['id']}/replay", json={}), 422, "/problems/invalid-input", "message_id")
    problem(client.post(f"/v1/webhook-endpoints/{made['id']}/replay", json={"message_id": "msg_nothing"}), 404, "/problems/not-found")
    problem(client.patch(f"/v1/webhook-endpoints/{made['id']}", json={"url": None}), 422, "/problems/invalid-input", "url")
    monkeypatch.setenv("WAFA_WEBHOOK_ALLOW_PRIVATE", "0")
    get_settings.cache_clear()
    problem(client.post("/v1/webhook-endpoints", json={"url": "https://127.0.0.1/h"}), 422, "/problems/invalid-input", "url")
    problem(client.post("/v1/webhook-endpoints", json={"url": "http://example.com/h"}), 422, "/problems/invalid-input", "url")


def test_only_admin_keys_manage_endpoints(client, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    reader = make_key(factory, tenant.id, ["read"], clock.now())
    headers = {"Authorization": f"Bearer {reader}"}
    problem(client.get("/v1/webhook-endpoints", headers=headers), 403, "/problems/forbidden")
    assert client.get("/v1/outbox/event-types", headers=headers).status_code == 200

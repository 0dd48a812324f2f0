"""HTTP: stream sinks made, listed page by page, read with their lag, changed, rewound and removed; the
broker URL's password never shown; and every bad input refused with a 422 problem naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_key, make_member, problem
from wafa.config import get_settings
from wafa.notify import webhooks
from wafa.notify.stream_models import StreamSink
from wafa.outbox import service as outbox

pytestmark = pytest.mark.usefixtures("allow_private_webhooks")

AMQP = "amqp://shop:s3cret-pw@127.0.0.1:5672/loyalty"


@pytest.fixture
def api(client: TestClient) -> Iterator[TestClient]:
    yield client


def _numbered(factory, clock, tenant, members: int) -> int:  # type: ignore[no-untyped-def]
    """Members enrolled (a message each), numbered; the tenant's last sequence."""
    for _ in range(members):
        make_member(factory, tenant.id, clock.now())
    webhooks.number_and_fan_out(factory, now=clock.now(), tenant_id=tenant.id)
    with factory() as session:
        return outbox.last_seq(session, tenant_id=tenant.id)


def test_create_list_get_change_and_remove(api, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    last = _numbered(factory, clock, tenant, 2)
    made = api.post("/v1/streams", json={"kind": "rabbitmq", "url": AMQP, "target": "loyalty-events", "event_types": ["points.earned"]})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["url"] == "amqp://shop:***@127.0.0.1:5672/loyalty" and "s3cret-pw" not in made.text
    # Messages numbered from now on: nothing owed yet.
    assert (body["acked_seq"], body["last_seq"], body["lag"]) == (last, last, 0)
    assert body["subject_prefix"] == "wafa" and body["enabled"] and body["last_error"] is None and body["next_attempt_at"] is None
    listed = api.get("/v1/streams").json()
    assert [s["id"] for s in listed["items"]] == [body["id"]] and listed["next_cursor"] is None
    _numbered(factory, clock, tenant, 1)
    got = api.get(f"/v1/streams/{body['id']}").json()
    assert (got["acked_seq"], got["last_seq"], got["lag"]) == (last, last + 1, 1)
    changed = api.patch(f"/v1/streams/{body['id']}", json={"event_types": None, "description": "CRM", "enabled": False, "url": body["url"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["event_types"] is None and changed.json()["enabled"] is False and changed.json()["description"] == "CRM"
    with factory() as session:  # the masked URL sent back keeps the password saved
        assert session.get_one(StreamSink, body["id"]).url == AMQP
    assert api.delete(f"/v1/streams/{body['id']}").status_code == 204
    problem(api.get(f"/v1/streams/{body['id']}"), 404, "/problems/not-found")


def test_create_from_a_sequence_counts_the_lag_from_there(api, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    last = _numbered(factory, clock, tenant, 3)
    everything = api.post("/v1/streams", json={"kind": "nats", "url": "nats://127.0.0.1:4222", "target": "loyalty", "start_from": 0}).json()
    assert (everything["acked_seq"], everything["lag"]) == (0, last)
    second = api.post("/v1/streams", json={"kind": "nats", "url": "tls://127.0.0.1:4222", "target": "loyalty", "start_from": 2}).json()
    assert (second["acked_seq"], second["lag"]) == (1, last - 1)
    problem(api.post("/v1/streams", json={"kind": "nats", "url": "nats://127.0.0.1", "target": "x", "start_from": last + 2}), 422,
            "/problems/invalid-input", "start_from")


def test_list_pages_by_cursor(api) -> None:  # type: ignore[no-untyped-def]
    made = [api.post("/v1/streams", json={"kind": "nats", "url": "nats://127.0.0.1:4222", "target": f"s{n}"}).json()["id"] for n in range(3)]
    first = api.get("/v1/streams", params={"limit": 2}).json()
    assert [s["id"] for s in first["items"]] == made[:2] and first["next_cursor"]
    rest = api.get("/v1/streams", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [s["id"] for s in rest["items"]] == made[2:] and rest["next_cursor"] is None
    problem(api.get("/v1/streams", params={"cursor": "nonsense"}), 422, "/problems/invalid-input", "cursor")


def test_rewind_resumes_from_an_earlier_sequence(api, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    last = _numbered(factory, clock, tenant, 3)
    made = api.post("/v1/streams", json={"kind": "rabbitmq", "url": AMQP, "target": "loyalty"}).json()
    rewound = api.post(f"/v1/streams/{made['id']}/rewind", json={"from_sequence": 2})
    assert rewound.status_code == 200, rewound.text
    assert (rewound.json()["acked_seq"], rewound.json()["lag"]) == (1, last - 1)
    problem(api.post(f"/v1/streams/{made['id']}/rewind", json={"from_sequence": 3}), 422, "/problems/invalid-input", "from_sequence")
    problem(api.post(f"/v1/streams/{made['id']}/rewind", json={"from_sequence": 0}), 422, "/problems/invalid-input", "from_sequence")
    problem(api.post("/v1/streams/999999/rewind", json={"from_sequence": 1}), 404, "/problems/not-found")


def test_create_bad_input_is_refused_naming_the_field(api) -> None:  # type: ignore[no-untyped-def]
    def refused(field: str, **changes: object) -> None:
        sink = {"kind": "rabbitmq", "url": AMQP, "target": "loyalty", **changes}
        problem(api.post("/v1/streams", json=sink), 422, "/problems/invalid-input", field)

    refused("kind", kind="kafka")
    refused("url", url="nats://127.0.0.1:4222")  # the scheme of the other kind
    refused("url", kind="nats", url=AMQP)
    refused("url", url="https://127.0.0.1/")
    refused("url", url="amqp:///vhost")  # no host
    refused("url", url="amqp://127.0.0.1:99999/")
    refused("url", url="amqp://[127.0.0.1/")
    refused("url", url="amqp://127.0.0.1\x00/")
    refused("url", url="amqp://127.0.0.1/#x")
    refused("target", target="loyalty.events")
    refused("target", target="two words")
    refused("target", target="x" * 101)
    refused("subject_prefix", kind="nats", url="nats://127.0.0.1", subject_prefix="wafa.*")
    refused("subject_prefix", kind="nats", url="nats://127.0.0.1", subject_prefix="wafa..events")
    refused("subject_prefix", kind="nats", url="nats://127.0.0.1", subject_prefix="wafa.>")
    refused("event_types", event_types=["points.stolen"])
    refused("event_types", event_types=[])
    refused("event_types", event_types=["webhook.test"])
    refused("start_from", start_from=-1)
    refused("colour", colour="red")


def test_update_bad_input_is_refused_naming_the_field(api) -> None:  # type: ignore[no-untyped-def]
    made = api.post("/v1/streams", json={"kind": "rabbitmq", "url": AMQP, "target": "loyalty"}).json()
    bad = (("url", "nats://127.0.0.1:4222"), ("url", None), ("url", "amqp://shop:***@[::1"), ("target", "a/b"), ("enabled", None), ("kind", "nats"))
    for field, value in bad:
        problem(api.patch(f"/v1/streams/{made['id']}", json={field: value}), 422, "/problems/invalid-input", field)


def test_create_private_or_plain_addresses_refused_without_the_allow_flag(api, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WAFA_WEBHOOK_ALLOW_PRIVATE", "0")
    get_settings.cache_clear()
    for kind, url in (("rabbitmq", "amqps://shop:pw@127.0.0.1:5671/"), ("nats", "tls://10.1.2.3:4222"), ("nats", "tls://[::1]:4222")):
        body = problem(api.post("/v1/streams", json={"kind": kind, "url": url, "target": "loyalty"}), 422, "/problems/invalid-input", "url")
        assert "not a public address" in body["detail"] and "pw@" not in body["detail"]
    # A public broker is reached over TLS only (its password and the members' data cross the internet).
    body = problem(api.post("/v1/streams", json={"kind": "rabbitmq", "url": "amqp://shop:pw@8.8.8.8/", "target": "loyalty"}), 422,
                   "/problems/invalid-input", "url")
    assert "amqps://" in body["detail"]


def test_streams_need_the_admin_scope(api, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    reader = make_key(factory, tenant.id, ["read"], clock.now())
    problem(api.get("/v1/streams", headers={"Authorization": f"Bearer {reader}"}), 403, "/problems/forbidden")
    problem(api.post("/v1/streams", json={}, headers={"Authorization": "Bearer wafa_nothing"}), 401, "/problems/unauthorized")


def test_get_another_tenants_stream_is_not_found(api, factory, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_tenant

    other = make_tenant(factory, clock.now())
    made = api.post("/v1/streams", json={"kind": "rabbitmq", "url": AMQP, "target": "loyalty"}).json()
    as_other = {"Authorization": f"Bearer {other.admin_key}"}
    problem(api.get(f"/v1/streams/{made['id']}", headers=as_other), 404, "/problems/not-found")
    problem(api.patch(f"/v1/streams/{made['id']}", json={"description": "x"}, headers=as_other), 404, "/problems/not-found")
    problem(api.delete(f"/v1/streams/{made['id']}", headers=as_other), 404, "/problems/not-found")
    assert api.get("/v1/streams", headers=as_other).json()["items"] == []

"""The gate before the app: bodies over their cap get a 413 before they are read (100 MB was accepted,
and a 300 MB body without a key got its 401 only after being read), an API request with a body but no
valid key gets its 401 unread, and each key's requests are counted per route class against its
tenant's limits (there were none): a 429 with Retry-After and RateLimit headers, limits a tenant sets
for itself taking effect at once. /metrics (every tenant's counts) is for this machine or a token's
holder only, and https answers carry HSTS."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_key, make_member, problem
from wafa.api.app import create_app
from wafa.clock import FrozenClock
from wafa.config import Settings
from wafa.events.models import Event
from wafa.trust.gate import check_limits, route_class

PURCHASE = {"type": "purchase", "amount": "10.00", "currency": "SAR"}


def events_of(factory: sessionmaker[Session], tenant_id: int) -> int:
    with factory() as session:
        return session.execute(select(func.count()).select_from(Event).where(Event.tenant_id == tenant_id)).scalar_one()


# --- bodies -----------------------------------------------------------------------------------------------


def test_a_body_over_the_cap_is_refused_from_its_content_length(api: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    big = b'{"type": "purchase", "order_id": "B-1", "amount": "1.00", "currency": "SAR", "pad": "' + b"x" * 5000 + b'"}'
    answer = api.post("/v1/events", content=big, headers={"Content-Type": "application/json"})
    body = problem(answer, 413, "/problems/body-too-large")
    assert body["limit"] == 4096
    assert events_of(factory, tenant.id) == 0


def test_a_chunked_body_is_cut_off_at_the_cap(api: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: sent chunked
        yield b'{"type": "purchase", "order_id": "B-2", "amount": "1.00", "currency": "SAR", "pad": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    answer = api.post("/v1/events", content=chunks(), headers={"Content-Type": "application/json"})
    problem(answer, 413, "/problems/body-too-large")
    assert events_of(factory, tenant.id) == 0


def test_a_console_form_over_the_cap_gets_a_413_page(limited: Callable[..., TestClient]) -> None:
    client = limited()
    answer = client.post("/admin/login", data={"tenant": "x", "email": "a@example.com", "password": "p" * 5000})
    assert answer.status_code == 413


def test_imports_may_be_larger_than_other_bodies(limited: Callable[..., TestClient]) -> None:
    client = limited()
    # Over the API's cap, under the import cap: it reaches the console (which asks for a signed-in admin).
    answer = client.post("/admin/imports", files={"file": ("m.csv", b"external_id\n" + b"x" * 8000)}, follow_redirects=False)
    assert answer.status_code != 413
    answer = client.post("/admin/imports", files={"file": ("m.csv", b"x" * 70000)}, follow_redirects=False)
    assert answer.status_code == 413


def _call(app, *, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bool]:  # type: ignore[no-untyped-def]
    """Call the app as a server would; the status, and whether the app read any of the body."""
    read = False
    status = 0

    async def receive():  # type: ignore[no-untyped-def]
        nonlocal read
        read = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):  # type: ignore[no-untyped-def]
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/v1/events",
        "raw_path": b"/v1/events", "query_string": b"", "root_path": "", "headers": headers, "client": ("203.0.113.9", 1),
        "server": ("testserver", 80), "app": app,
    }
    scope["app"] = app
    # In a thread of its own: a browser test earlier in this worker may have left a loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    return status, read


@pytest.mark.parametrize("authorization", [None, b"Bearer wafa_not-a-key", b"Basic dXNlcjpwYXNz"])
def test_a_body_without_a_valid_key_is_refused_unread(factory: sessionmaker[Session], clock: FrozenClock, authorization: bytes | None) -> None:
    app = create_app(factory=factory, clock=clock, settings=Settings(max_body_bytes=10**9))
    body = b'{"pad": "' + b"x" * 1_000_000 + b'"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if authorization:
        headers.append((b"authorization", authorization))
    assert _call(app, headers=headers, body=body) == (401, False)


def test_a_body_with_a_valid_key_is_read(factory: sessionmaker[Session], clock: FrozenClock, tenant: TenantCtx) -> None:
    app = create_app(factory=factory, clock=clock)
    body = b'{"type": "purchase", "order_id": "R-1", "amount": "1.00", "currency": "SAR"}'
    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {tenant.admin_key}".encode())]
    assert _call(app, headers=headers, body=body) == (201, True)


# --- rate limits ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "kind"), [
    ("POST", "/v1/events", "events"), ("POST", "/v1/events:batch", "events"), ("POST", "/v1/members/7/redemptions", "redemptions"),
    ("POST", "/v1/members/7/holds", "redemptions"), ("POST", "/v1/holds/3/capture", "redemptions"), ("POST", "/v1/holds/3/void", "redemptions"),
    ("POST", "/v1/members/7/wallet/debits", "redemptions"), ("POST", "/v1/members/7/reward-redemptions", "redemptions"),
    ("POST", "/v1/coupons/SUMMER:redeem", "redemptions"), ("POST", "/v1/coupons/SUMMER:validate", "writes"),
    ("POST", "/v1/partners/2/exchanges", "redemptions"), ("POST", "/v1/members", "writes"), ("PATCH", "/v1/program", "writes"),
    ("DELETE", "/v1/api-keys/4", "writes"), ("GET", "/v1/members/7/balance", "reads"), ("GET", "/v1/events", "reads"),
    ("POST", "/v1/events:simulate", "writes"),
])
def test_each_route_is_in_one_class(method: str, path: str, kind: str) -> None:
    assert route_class(method, path) == kind


def test_a_keys_events_past_its_limit_get_a_429_with_retry_after(api: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    answers = [api.post("/v1/events", json={**PURCHASE, "order_id": f"E-{n}"}) for n in range(7)]
    assert [a.status_code for a in answers] == [201] * 5 + [429] * 2
    assert answers[0].headers["RateLimit-Policy"] == '"events";q=5;w=60'
    assert answers[0].headers["RateLimit"].startswith('"events";r=4;t=')
    assert answers[4].headers["RateLimit"].startswith('"events";r=0;t=')
    refused = problem(answers[5], 429, "/problems/rate-limited")
    assert refused["limit"] == 5 and refused["window"] == 60
    assert 1 <= int(answers[5].headers["Retry-After"]) <= 60 and refused["retry_after"] == int(answers[5].headers["Retry-After"])
    assert events_of(factory, tenant.id) == 5
    # Other classes have their own counts.
    assert api.get("/v1/program").status_code == 200


def test_counts_are_per_key(api: TestClient, limited: Callable[..., TestClient], factory: sessionmaker[Session], tenant: TenantCtx,
                            clock: FrozenClock) -> None:
    member_id = make_member(factory, tenant.id, clock.now())
    assert [api.get(f"/v1/members/{member_id}").status_code for _ in range(7)] == [200] * 6 + [429]
    other = limited(app=api.app, key=make_key(factory, tenant.id, ["read"], clock.now()))
    assert other.get(f"/v1/members/{member_id}").status_code == 200


def test_redemptions_are_counted_apart_from_other_writes(api: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
                                                         clock: FrozenClock) -> None:
    member_id = make_member(factory, tenant.id, clock.now())
    assert api.post(f"/v1/members/{member_id}/adjustments", json={"points": 100, "reason": "seed"}).status_code == 201
    spent = [api.post(f"/v1/members/{member_id}/redemptions", json={"points": 1, "reason": "coffee"}).status_code for _ in range(4)]
    assert spent == [201, 201, 201, 429]
    assert api.get(f"/v1/members/{member_id}/balance").json()["available"] == 97
    # Three more writes fit in the writes' limit of 4: the redemptions did not use it up.
    assert [api.patch(f"/v1/members/{member_id}", json={"name": f"N{n}"}).status_code for n in range(3)] == [200] * 3


def test_a_tenants_own_limits_apply_at_once_and_null_restores_the_default(api: TestClient) -> None:
    shown = api.get("/v1/tenant/rate-limits").json()
    assert shown["limits"]["events"] == "5/minute" and shown["own"] == {} and shown["shared"] is False
    changed = api.put("/v1/tenant/rate-limits", json={"limits": {"events": "2 per minute", "reads": "100/second;5000/hour"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["own"] == {"events": "2/minute", "reads": "100/second;5000/hour"}
    assert [api.post("/v1/events", json={**PURCHASE, "order_id": f"T-{n}"}).status_code for n in range(3)] == [201, 201, 429]
    back = api.put("/v1/tenant/rate-limits", json={"limits": {"events": None}})
    assert back.json()["own"] == {"reads": "100/second;5000/hour"} and back.json()["limits"]["events"] == "5/minute"


@pytest.mark.parametrize(("limits", "field"), [
    ({"events": "lots"}, "limits.events"), ({"refunds": "5/minute"}, "limits.refunds"), ({"reads": "0/minute"}, "limits.reads"),
    ({"writes": ""}, "limits.writes"), ({"refunds": None}, "limits.refunds"),
])
def test_a_limit_that_is_not_one_is_refused(api: TestClient, limits: dict[str, str | None], field: str) -> None:
    problem(api.put("/v1/tenant/rate-limits", json={"limits": limits}), 422, "/problems/invalid-input", field=field)
    assert api.get("/v1/tenant/rate-limits").json()["own"] == {}


def test_only_an_admin_key_changes_limits(api: TestClient, limited: Callable[..., TestClient], factory: sessionmaker[Session],
                                          tenant: TenantCtx, clock: FrozenClock) -> None:
    reader = limited(app=api.app, key=make_key(factory, tenant.id, ["read"], clock.now()))
    assert reader.get("/v1/tenant/rate-limits").status_code == 200
    problem(reader.put("/v1/tenant/rate-limits", json={"limits": {"events": "1/minute"}}), 403, "/problems/forbidden")


@pytest.mark.parametrize(("text", "kept"), [("3000/minute", "3000/minute"), ("10 per second; 100/hour", "10/second;100/hour"),
                                            ("20/15 minutes", "20/15 minutes")])
def test_limits_are_kept_in_one_spelling(text: str, kept: str) -> None:
    assert check_limits({"events": text}) == {"events": kept}


# --- /metrics and HSTS ------------------------------------------------------------------------------------


def test_metrics_are_for_this_machine_only_without_a_token(limited: Callable[..., TestClient]) -> None:
    remote = limited(ip="198.51.100.4")
    problem(remote.get("/metrics"), 403, "/problems/forbidden")
    local = limited(app=remote.app, ip="127.0.0.1")
    assert local.get("/metrics").status_code == 200 and "wafa_http_requests_total" in local.get("/metrics").text


def test_metrics_with_a_token_need_the_token(limited: Callable[..., TestClient]) -> None:
    client = limited(ip="127.0.0.1", metrics_token="s3cret-metrics")
    assert client.get("/metrics").status_code == 403  # even from this machine
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"}).status_code == 200


def test_https_answers_carry_hsts_and_http_ones_do_not(limited: Callable[..., TestClient], factory: sessionmaker[Session],
                                                       clock: FrozenClock) -> None:
    plain = limited()
    assert "strict-transport-security" not in plain.get("/healthz").headers
    behind_tls = limited(public_url="https://loyalty.example.com")
    assert behind_tls.get("/healthz").headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    app = create_app(factory=factory, clock=clock)
    with TestClient(app, base_url="https://testserver") as secure:
        assert secure.get("/admin/login").headers["strict-transport-security"].startswith("max-age=")

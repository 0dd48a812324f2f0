"""Offers' audiences over time (both databases): the worker's nightly pass gives an active offer to members who
joined its audience since and ends offers past their end; a tier's members are told the tier's name in their
language."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due


def _post(client: TestClient, path: str, body: dict | None = None) -> dict:  # type: ignore[type-arg]
    made = client.post(path, json=body if body is not None else {})
    assert made.status_code in (200, 201), made.text
    return made.json()


def _offer(client: TestClient, key: str, audience: dict, **extra: object) -> None:  # type: ignore[type-arg]
    _post(client, "/v1/offers", {"key": key, "name_en": key, "name_ar": key, "kind": "reward", "reward_key": "latte",
                                 "audience": audience, **extra})
    _post(client, f"/v1/offers/{key}:activate")


def _keys(client: TestClient, member: int, lang: str = "en") -> list[tuple[str, str]]:
    return [(o["key"], o["reason"]) for o in client.get(f"/v1/members/{member}/offers", params={"lang": lang}).json()["items"]]


def test_the_nightly_pass_gives_newcomers_the_offer_and_ends_offers_past_their_end(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    _post(client, "/v1/rewards", {"key": "latte", "name_en": "Latte", "name_ar": "لاتيه", "points": 100, "gives": {"type": "gift", "sku": "L"}})
    first = _post(client, "/v1/members", {"external_id": "first"})["id"]
    _offer(client, "everyone", {"all": True}, valid_days=30, ends_at=(clock.now() + timedelta(days=3)).isoformat())
    later = _post(client, "/v1/members", {"external_id": "later"})["id"]
    assert _keys(client, later) == []
    clock.advance(timedelta(days=1))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert _keys(client, later) == [("everyone", "For every member")]
    held = client.get(f"/v1/members/{later}/offers").json()["items"][0]
    assert held["valid_until"].startswith((clock.now() + timedelta(days=2)).date().isoformat())  # never past the offer's end
    clock.advance(timedelta(days=3))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert client.get("/v1/offers/everyone").json()["status"] == "ended"
    assert _keys(client, first) == [] and _keys(client, later) == []


def test_a_tier_audience_and_its_reason_in_each_language(client: TestClient, clock: FrozenClock) -> None:
    _post(client, "/v1/rewards", {"key": "latte", "name_en": "Latte", "name_ar": "لاتيه", "points": 100, "gives": {"type": "gift", "sku": "L"}})
    _post(client, "/v1/tiers", {"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 1, "threshold": "100"})
    gold = _post(client, "/v1/members", {"external_id": "gold"})["id"]
    plain = _post(client, "/v1/members", {"external_id": "plain"})["id"]
    _post(client, "/v1/events", {"type": "purchase", "member": {"id": gold}, "order_id": "g1", "amount": "200.00", "currency": "SAR"})
    _offer(client, "gold-only", {"tiers": ["Gold"]})
    assert _keys(client, gold) == [("gold-only", "A thank-you to our Gold members")]
    assert _keys(client, gold, "ar") == [("gold-only", "شكرًا لأعضائنا في مستوى ذهبي")]
    assert _keys(client, plain) == []

"""Coupon campaigns after their codes are out: listed newest first, paused (the till refuses every code)
and resumed, their validity moved for every code, and their usage (codes used and left, uses over time)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.api.test_coupons import FIXED_10, basket, campaign, codes_of, use
from tests.conftest import START, problem

INVALID = "/problems/invalid-input"


def test_list_campaigns_newest_first_by_pages(client: TestClient) -> None:
    made = [campaign(client, FIXED_10, name=f"C{n}")["id"] for n in range(3)]
    first = client.get("/v1/coupon-campaigns", params={"limit": 2}).json()
    assert [c["id"] for c in first["items"]] == made[:0:-1] and first["items"][0]["status"] == "active"
    rest = client.get("/v1/coupon-campaigns", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["id"] for c in rest["items"]] == [made[0]] and rest["next_cursor"] is None


def test_paused_campaign_codes_are_refused_at_the_till_until_resumed(client: TestClient) -> None:
    made = campaign(client, FIXED_10, count=2)
    code = codes_of(client, made["id"])[0]["code"]
    paused = client.patch(f"/v1/coupon-campaigns/{made['id']}", json={"status": "paused"})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    problem(use(client, code, basket("40.00")), 422, "/problems/coupon-not-usable", "code")
    assert client.get(f"/v1/coupons/{code}").json()["status"] == "paused"
    assert {row["status"] for row in codes_of(client, made["id"])} == {"paused"}
    assert client.patch(f"/v1/coupon-campaigns/{made['id']}", json={"status": "active"}).json()["status"] == "active"
    assert use(client, code, basket("40.00")).status_code == 201


def test_extend_campaign_makes_its_expired_codes_valid_again(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    made = campaign(client, FIXED_10, valid_until=(START + timedelta(days=1)).isoformat())
    code = codes_of(client, made["id"])[0]["code"]
    clock.advance(timedelta(days=2))
    problem(use(client, code, basket("40.00")), 422, "/problems/coupon-not-usable", "code")
    later = START + timedelta(days=30)
    changed = client.patch(f"/v1/coupon-campaigns/{made['id']}", json={"valid_until": later.isoformat()})
    assert changed.status_code == 200, changed.text
    assert client.get(f"/v1/coupons/{code}").json()["valid_until"].startswith("2026-03-31T09:00:00")
    assert use(client, code, basket("40.00")).status_code == 201


def test_extend_campaign_to_no_end(client: TestClient) -> None:
    made = campaign(client, FIXED_10, valid_until=(START + timedelta(days=1)).isoformat())
    assert client.patch(f"/v1/coupon-campaigns/{made['id']}", json={"valid_until": None}).json()["valid_until"] is None


def test_update_campaign_into_the_past_or_with_nothing_is_422(client: TestClient) -> None:
    made = campaign(client, FIXED_10)
    problem(client.patch(f"/v1/coupon-campaigns/{made['id']}", json={"valid_until": (START - timedelta(days=1)).isoformat()}), 422, INVALID,
            "valid_until")
    problem(client.patch(f"/v1/coupon-campaigns/{made['id']}", json={}), 422, INVALID)
    problem(client.patch(f"/v1/coupon-campaigns/{made['id']}", json={"status": "ended"}), 422, INVALID, "status")


def test_update_unknown_campaign_is_404(client: TestClient) -> None:
    problem(client.patch("/v1/coupon-campaigns/999999", json={"status": "paused"}), 404, "/problems/not-found")


def test_usage_counts_codes_used_and_left_and_uses_by_day(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    made = campaign(client, FIXED_10, count=4, max_uses=2)
    codes = [row["code"] for row in codes_of(client, made["id"])]
    assert use(client, codes[0], basket("40.00")).status_code == 201
    clock.advance(timedelta(days=1))
    assert use(client, codes[0], basket("40.00")).status_code == 201
    assert use(client, codes[1], basket("40.00")).status_code == 201
    usage = client.get(f"/v1/coupon-campaigns/{made['id']}/usage").json()
    assert (usage["codes"], usage["used_codes"], usage["remaining"], usage["uses"]) == (4, 2, 3, 3)
    assert usage["discount"] == {"SAR": "30.00"} and usage["step"] == "day"
    assert [p["uses"] for p in usage["over_time"]] == [1, 2]
    assert usage["over_time"][0]["period"] == "2026-03-01"


def test_usage_of_a_paused_or_ended_campaign_has_nothing_left(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    made = campaign(client, FIXED_10, count=3, valid_until=(START + timedelta(days=1)).isoformat())
    client.patch(f"/v1/coupon-campaigns/{made['id']}", json={"status": "paused"})
    assert client.get(f"/v1/coupon-campaigns/{made['id']}/usage").json()["remaining"] == 0
    client.patch(f"/v1/coupon-campaigns/{made['id']}", json={"status": "active"})
    assert client.get(f"/v1/coupon-campaigns/{made['id']}/usage").json()["remaining"] == 3
    clock.advance(timedelta(days=2))
    assert client.get(f"/v1/coupon-campaigns/{made['id']}/usage").json()["remaining"] == 0

"""Enrolment, profiles, search and status of members; the program settings."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_post_member_normalises_contact_details(client: TestClient) -> None:
    response = client.post("/v1/members", json={
        "external_id": "M-1", "name": "نورة", "email": "Noura@Example.COM", "phone": "055 123 4567",
        "locale": "ar", "birth_date": "1990-04-02", "consent": {"email": True},
    })
    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["phone"], body["status"]) == ("noura@example.com", "+966551234567", "active")
    assert body["consent"] == {"email": True, "sms": False, "push": False, "whatsapp": False}
    assert len(body["referral_code"]) == 8 and len(body["card_token"]) >= 32


def test_post_member_duplicate_external_id_is_409(client: TestClient) -> None:
    client.post("/v1/members", json={"external_id": "M-2"})
    again = client.post("/v1/members", json={"external_id": "M-2"})
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "external_id"


def test_post_member_bad_fields_are_422(client: TestClient) -> None:
    for body, field in (
        ({"external_id": "M-3", "email": "not-an-email"}, "email"),
        ({"external_id": "M-3", "phone": "12"}, "phone"),
        ({"external_id": "M-3", "locale": "fr"}, "locale"),
        ({"external_id": "M-3", "birth_date": "2999-01-01"}, "birth_date"),
        ({"external_id": ""}, "external_id"),
        ({"external_id": "M-3", "colour": "blue"}, "colour"),
    ):
        response = client.post("/v1/members", json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field
    assert client.get("/v1/members", params={"external_id": "M-3"}).json()["items"] == []


def test_get_and_patch_member(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "M-4"}).json()["id"]
    changed = client.patch(f"/v1/members/{member_id}", json={"name": "Omar", "locale": "en", "consent": {"sms": True}})
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["locale"], changed.json()["consent"]["sms"]) == ("Omar", "en", True)
    assert client.get(f"/v1/members/{member_id}").json()["name"] == "Omar"
    assert client.get("/v1/members/123456789").status_code == 404
    assert client.patch(f"/v1/members/{member_id}", json={"phone": "abc"}).status_code == 422


def test_search_members_by_each_key_with_cursor(client: TestClient) -> None:
    for n in range(5):
        client.post("/v1/members", json={"external_id": f"S-{n}", "email": f"s{n}@example.com", "phone": f"+96655000000{n}"})
    assert [m["external_id"] for m in client.get("/v1/members", params={"email": "S3@EXAMPLE.com"}).json()["items"]] == ["S-3"]
    assert [m["external_id"] for m in client.get("/v1/members", params={"phone": "0550000004"}).json()["items"]] == ["S-4"]
    assert [m["external_id"] for m in client.get("/v1/members", params={"external_id": "S-1"}).json()["items"]] == ["S-1"]
    first = client.get("/v1/members", params={"limit": 3}).json()
    rest = client.get("/v1/members", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [m["external_id"] for m in first["items"] + rest["items"]] == [f"S-{n}" for n in range(5)]
    assert rest["next_cursor"] is None


def test_member_status_transitions(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "M-5"}).json()["id"]
    assert client.post(f"/v1/members/{member_id}/reactivate", json={"reason": "x"}).status_code == 409
    suspended = client.post(f"/v1/members/{member_id}/suspend", json={"reason": "chargeback"}).json()
    assert (suspended["status"], suspended["status_reason"]) == ("suspended", "chargeback")
    assert client.post(f"/v1/members/{member_id}/suspend", json={"reason": "again"}).status_code == 409
    assert client.post(f"/v1/members/{member_id}/reactivate", json={"reason": "cleared"}).json()["status"] == "active"
    assert client.post(f"/v1/members/{member_id}/close", json={"reason": "asked to leave"}).json()["status"] == "closed"
    assert client.post(f"/v1/members/{member_id}/reactivate", json={"reason": "x"}).status_code == 409
    assert client.post(f"/v1/members/{member_id}/suspend", json={}).status_code == 422


def test_get_card_finds_member(client: TestClient) -> None:
    member = client.post("/v1/members", json={"external_id": "M-6"}).json()
    assert client.get(f"/v1/cards/{member['card_token']}").json()["id"] == member["id"]
    assert client.get("/v1/cards/no-such-token").status_code == 404


def test_program_read_and_change(client: TestClient) -> None:
    program = client.get("/v1/program").json()
    assert (program["base_currency"], program["earn_rates"], program["rounding"]) == ("SAR", {"SAR": "1"}, "floor")
    changed = client.patch("/v1/program", json={
        "points_name": {"en": "Noor points", "ar": "نقاط النور"}, "earn_rates": {"SAR": "1", "KWD": "12.5"},
        "pending_days": 14, "expiry": {"policy": "end_of_year", "periods": 1}, "timezone": "Asia/Riyadh",
    })
    assert changed.status_code == 200
    assert changed.json()["earn_rates"] == {"SAR": "1", "KWD": "12.5"}
    assert changed.json()["expiry"] == {"policy": "end_of_year", "periods": 1}


def test_program_invalid_changes_are_422(client: TestClient) -> None:
    for body, field in (
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"earn_rates": {"ABC": "1"}}, "earn_rates"),
        ({"earn_rates": {"USD": "1"}}, "earn_rates"),  # the base currency SAR would have no rate
        ({"rounding": "banker"}, "rounding"),
        ({"pending_days": -1}, "pending_days"),
        ({"expiry": {"policy": "days", "periods": 0}}, "expiry.periods"),
    ):
        response = client.patch("/v1/program", json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field, response.json()
    assert client.get("/v1/program").json()["timezone"] == "UTC"


def test_program_expiry_is_replaced_whole(client: TestClient) -> None:
    client.patch("/v1/program", json={"expiry": {"policy": "days", "periods": 30}})
    changed = client.patch("/v1/program", json={"expiry": {"periods": 5}})  # policy omitted: its default
    assert changed.status_code == 200
    assert changed.json()["expiry"] == {"policy": "none", "periods": 5}

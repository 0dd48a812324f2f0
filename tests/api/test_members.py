"""Members over HTTP: enrol, read, change, search, suspend, reactivate, close, and find by card."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import START, problem

CODE_ALPHABET = set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")


def enrol(client: TestClient, external_id: str, **fields: object) -> dict:  # type: ignore[type-arg]
    response = client.post("/v1/members", json={"external_id": external_id, **fields})
    assert response.status_code == 201, response.text
    return response.json()


# --- POST /v1/members


def test_post_member_minimal_is_201_with_defaults(client: TestClient) -> None:
    response = client.post("/v1/members", json={"external_id": "C-100"})
    assert response.status_code == 201
    body = response.json()
    assert {k: v for k, v in body.items() if k not in ("id", "referral_code", "card_token")} == {
        "external_id": "C-100", "name": None, "email": None, "phone": None, "locale": "ar", "birth_date": None,
        "city": None, "profile_complete": False, "consent": {"email": False, "sms": False, "push": False, "whatsapp": False},
        "status": "active", "status_reason": None, "partner_id": None, "erased_at": None,
        "enrolled_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:00:00Z",
    }
    assert len(body["referral_code"]) == 8 and set(body["referral_code"]) <= CODE_ALPHABET
    assert len(body["card_token"]) == 32
    assert client.get(f"/v1/members/{body['id']}").json() == body


def test_post_member_full_profile_is_normalised(client: TestClient) -> None:
    body = enrol(
        client, "C-101", name="ليلى", email="  Layla.Q@Example.COM ", phone="050 123 4567", locale="en",
        birth_date="1991-07-30", consent={"sms": True, "push": True},
    )
    assert (body["name"], body["email"], body["phone"]) == ("ليلى", "layla.q@example.com", "+966501234567")
    assert (body["locale"], body["birth_date"]) == ("en", "1991-07-30")
    assert body["consent"] == {"email": False, "sms": True, "push": True, "whatsapp": False}


def test_post_member_international_phone_keeps_its_country(client: TestClient) -> None:
    # A number with its own country code is not read as Saudi.
    assert enrol(client, "C-102", phone="+962 79 123 4567")["phone"] == "+962791234567"


def test_post_member_national_phone_read_in_program_region(client: TestClient) -> None:
    assert client.patch("/v1/program", json={"default_region": "jo"}).json()["default_region"] == "JO"
    assert enrol(client, "C-103", phone="079 123 4567")["phone"] == "+962791234567"


def test_post_member_duplicate_external_id_is_409(client: TestClient) -> None:
    first = enrol(client, "C-104", name="First")
    body = problem(client.post("/v1/members", json={"external_id": "C-104", "name": "Second"}), 409, "/problems/conflict", "external_id")
    assert "C-104" in body["detail"]
    assert client.get("/v1/members", params={"external_id": "C-104"}).json()["items"] == [first]


def test_post_member_bad_email_is_422(client: TestClient) -> None:
    problem(client.post("/v1/members", json={"external_id": "C-105", "email": "layla@"}), 422, "/problems/invalid-input", "email")
    assert client.get("/v1/members", params={"external_id": "C-105"}).json()["items"] == []


def test_post_member_bad_phone_is_422(client: TestClient) -> None:
    for phone in ("12345", "0512", "not a phone", "+966 00 000 0000"):
        body = problem(client.post("/v1/members", json={"external_id": "C-106", "phone": phone}), 422, "/problems/invalid-input", "phone")
        assert phone in body["detail"]
    assert client.get("/v1/members", params={"external_id": "C-106"}).json()["items"] == []


def test_post_member_future_birth_date_is_422(client: TestClient) -> None:
    tomorrow = (START + timedelta(days=1)).date().isoformat()
    problem(client.post("/v1/members", json={"external_id": "C-107", "birth_date": tomorrow}), 422, "/problems/invalid-input", "birth_date")


def test_post_member_unknown_field_is_422(client: TestClient) -> None:
    problem(client.post("/v1/members", json={"external_id": "C-108", "tier": "gold"}), 422, "/problems/invalid-input", "tier")


def test_post_member_missing_external_id_is_422(client: TestClient) -> None:
    problem(client.post("/v1/members", json={"name": "No id"}), 422, "/problems/invalid-input", "external_id")


# --- GET /v1/members/{id}


def test_get_member_is_200(client: TestClient) -> None:
    made = enrol(client, "C-110", name="Omar", email="omar@example.com")
    response = client.get(f"/v1/members/{made['id']}")
    assert response.status_code == 200
    assert response.json() == made


def test_get_member_unknown_is_404(client: TestClient) -> None:
    problem(client.get("/v1/members/987654321"), 404, "/problems/not-found", "member_id")


def test_get_member_id_out_of_range_is_422(client: TestClient) -> None:
    assert client.get("/v1/members/0").status_code == 422
    assert client.get(f"/v1/members/{2**63}").status_code == 422


# --- PATCH /v1/members/{id}


def test_patch_member_changes_only_given_fields(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    made = enrol(client, "C-120", name="Omar", email="omar@example.com", phone="0501234567", consent={"email": True})
    clock.advance(timedelta(hours=2))
    response = client.patch(f"/v1/members/{made['id']}", json={"name": "Omar K", "email": "OMAR.K@example.com", "consent": {"sms": True}})
    assert response.status_code == 200
    body = response.json()
    assert body == {
        **made, "name": "Omar K", "email": "omar.k@example.com", "consent": {"email": True, "sms": True, "push": False, "whatsapp": False},
        "updated_at": "2026-03-01T11:00:00Z",
    }
    assert client.get(f"/v1/members/{made['id']}").json() == body


def test_patch_member_phone_normalised_and_clearable(client: TestClient) -> None:
    made = enrol(client, "C-121")
    assert client.patch(f"/v1/members/{made['id']}", json={"phone": "055 987 6543"}).json()["phone"] == "+966559876543"
    assert client.patch(f"/v1/members/{made['id']}", json={"phone": None}).json()["phone"] is None


def test_patch_member_bad_phone_is_422(client: TestClient) -> None:
    made = enrol(client, "C-122", phone="0501234567")
    problem(client.patch(f"/v1/members/{made['id']}", json={"phone": "99"}), 422, "/problems/invalid-input", "phone")
    assert client.get(f"/v1/members/{made['id']}").json()["phone"] == "+966501234567"


def test_patch_member_bad_email_is_422(client: TestClient) -> None:
    made = enrol(client, "C-123", email="a@example.com")
    problem(client.patch(f"/v1/members/{made['id']}", json={"email": "nope"}), 422, "/problems/invalid-input", "email")
    assert client.get(f"/v1/members/{made['id']}").json()["email"] == "a@example.com"


def test_patch_member_null_locale_is_422(client: TestClient) -> None:
    made = enrol(client, "C-124", locale="en")
    problem(client.patch(f"/v1/members/{made['id']}", json={"locale": None}), 422, "/problems/invalid-input", "locale")
    assert client.get(f"/v1/members/{made['id']}").json()["locale"] == "en"


def test_patch_member_external_id_is_not_changeable_422(client: TestClient) -> None:
    made = enrol(client, "C-125")
    problem(client.patch(f"/v1/members/{made['id']}", json={"external_id": "C-999"}), 422, "/problems/invalid-input", "external_id")


def test_patch_member_unknown_is_404(client: TestClient) -> None:
    problem(client.patch("/v1/members/987654321", json={"name": "x"}), 404, "/problems/not-found", "member_id")


# --- GET /v1/members (search)


def test_search_members_by_external_id(client: TestClient) -> None:
    enrol(client, "S-1")
    wanted = enrol(client, "S-2")
    response = client.get("/v1/members", params={"external_id": "S-2"})
    assert response.status_code == 200
    assert response.json() == {"items": [wanted], "next_cursor": None}
    assert client.get("/v1/members", params={"external_id": "s-2"}).json()["items"] == []  # the shop's ids are exact


def test_search_members_by_email_ignores_case(client: TestClient) -> None:
    enrol(client, "S-3", email="other@example.com")
    wanted = enrol(client, "S-4", email="Hind@Example.com")
    for query in ("hind@example.com", "HIND@EXAMPLE.COM", " Hind@example.COM "):
        assert client.get("/v1/members", params={"email": query}).json()["items"] == [wanted], query


def test_search_members_by_phone_in_any_format(client: TestClient) -> None:
    enrol(client, "S-5", phone="0501111111")
    wanted = enrol(client, "S-6", phone="+966502222222")
    for query in ("0502222222", "+966502222222", "966502222222", "050 222 2222"):
        found = client.get("/v1/members", params={"phone": query}).json()["items"]
        assert [m["id"] for m in found] == [wanted["id"]], query


def test_search_members_bad_phone_is_422(client: TestClient) -> None:
    problem(client.get("/v1/members", params={"phone": "12"}), 422, "/problems/invalid-input", "phone")


def test_search_members_filters_combine(client: TestClient) -> None:
    wanted = enrol(client, "S-7", email="same@example.com", phone="0503333333")
    enrol(client, "S-8", email="same@example.com", phone="0504444444")
    found = client.get("/v1/members", params={"email": "same@example.com", "phone": "0503333333"}).json()
    assert [m["id"] for m in found["items"]] == [wanted["id"]]


def test_search_members_pages_with_cursor(client: TestClient) -> None:
    made = [enrol(client, f"P-{n}", email="family@example.com")["id"] for n in range(5)]
    enrol(client, "P-other", email="other@example.com")
    pages, cursor = [], None
    while True:
        params = {"email": "family@example.com", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/members", params=params).json()
        pages.append([m["id"] for m in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [made[0:2], made[2:4], made[4:5]]


def test_search_members_exact_page_has_no_next_cursor(client: TestClient) -> None:
    for n in range(2):
        enrol(client, f"E-{n}")
    page = client.get("/v1/members", params={"limit": 2}).json()
    assert (len(page["items"]), page["next_cursor"]) == (2, None)


def test_search_members_bad_cursor_is_422(client: TestClient) -> None:
    problem(client.get("/v1/members", params={"cursor": "not-a-cursor"}), 422, "/problems/invalid-input", "cursor")


def test_search_members_limit_out_of_range_is_422(client: TestClient) -> None:
    assert client.get("/v1/members", params={"limit": 0}).status_code == 422
    assert client.get("/v1/members", params={"limit": 201}).status_code == 422


def test_search_members_no_match_is_empty_page(client: TestClient) -> None:
    enrol(client, "N-1", email="n1@example.com")
    assert client.get("/v1/members", params={"email": "nobody@example.com"}).json() == {"items": [], "next_cursor": None}


# --- POST /v1/members/{id}/suspend|reactivate|close


def test_suspend_member_active_is_200(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    made = enrol(client, "T-1")
    clock.advance(timedelta(minutes=30))
    response = client.post(f"/v1/members/{made['id']}/suspend", json={"reason": "chargeback"})
    assert response.status_code == 200
    assert response.json() == {**made, "status": "suspended", "status_reason": "chargeback", "updated_at": "2026-03-01T09:30:00Z"}


def test_suspend_member_already_suspended_is_409(client: TestClient) -> None:
    made = enrol(client, "T-2")
    client.post(f"/v1/members/{made['id']}/suspend", json={"reason": "first"})
    body = problem(client.post(f"/v1/members/{made['id']}/suspend", json={"reason": "second"}), 409, "/problems/conflict")
    assert body["member_status"] == "suspended"
    assert client.get(f"/v1/members/{made['id']}").json()["status_reason"] == "first"


def test_suspend_member_without_reason_is_422(client: TestClient) -> None:
    made = enrol(client, "T-3")
    problem(client.post(f"/v1/members/{made['id']}/suspend", json={}), 422, "/problems/invalid-input", "reason")
    problem(client.post(f"/v1/members/{made['id']}/suspend", json={"reason": ""}), 422, "/problems/invalid-input", "reason")
    assert client.get(f"/v1/members/{made['id']}").json()["status"] == "active"


def test_suspend_member_unknown_is_404(client: TestClient) -> None:
    problem(client.post("/v1/members/987654321/suspend", json={"reason": "x"}), 404, "/problems/not-found")


def test_reactivate_member_suspended_is_200(client: TestClient) -> None:
    made = enrol(client, "T-4")
    client.post(f"/v1/members/{made['id']}/suspend", json={"reason": "fraud check"})
    response = client.post(f"/v1/members/{made['id']}/reactivate", json={"reason": "cleared"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["status_reason"]) == ("active", "cleared")


def test_reactivate_member_active_is_409(client: TestClient) -> None:
    made = enrol(client, "T-5")
    body = problem(client.post(f"/v1/members/{made['id']}/reactivate", json={"reason": "x"}), 409, "/problems/conflict")
    assert body["member_status"] == "active"


def test_close_member_active_is_200(client: TestClient) -> None:
    made = enrol(client, "T-6")
    response = client.post(f"/v1/members/{made['id']}/close", json={"reason": "asked to leave"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["status_reason"]) == ("closed", "asked to leave")


def test_close_member_suspended_is_200(client: TestClient) -> None:
    made = enrol(client, "T-7")
    client.post(f"/v1/members/{made['id']}/suspend", json={"reason": "x"})
    assert client.post(f"/v1/members/{made['id']}/close", json={"reason": "fraud"}).json()["status"] == "closed"


def test_close_member_is_final_409(client: TestClient) -> None:
    made = enrol(client, "T-8")
    client.post(f"/v1/members/{made['id']}/close", json={"reason": "left"})
    for action in ("suspend", "reactivate", "close"):
        body = problem(client.post(f"/v1/members/{made['id']}/{action}", json={"reason": "again"}), 409, "/problems/conflict")
        assert body["member_status"] == "closed", action
    assert client.get(f"/v1/members/{made['id']}").json()["status_reason"] == "left"


# --- GET /v1/cards/{token}


def test_get_card_is_200(client: TestClient) -> None:
    enrol(client, "K-1")
    made = enrol(client, "K-2", name="Sara")
    response = client.get(f"/v1/cards/{made['card_token']}")
    assert response.status_code == 200
    assert response.json() == made


def test_get_card_of_suspended_member_shows_status(client: TestClient) -> None:
    made = enrol(client, "K-3")
    client.post(f"/v1/members/{made['id']}/suspend", json={"reason": "lost card"})
    assert client.get(f"/v1/cards/{made['card_token']}").json()["status"] == "suspended"


def test_get_card_unknown_is_404(client: TestClient) -> None:
    problem(client.get("/v1/cards/not-a-card-token"), 404, "/problems/not-found")

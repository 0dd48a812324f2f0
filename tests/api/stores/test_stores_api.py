"""Stores and check-ins over HTTP: one test per status path (201, 200, 403, 404, 409, 422, 429), the CSV
import all or nothing, and each state change audited."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import TenantCtx, make_key, problem
from wafa.clock import FrozenClock
from wafa.tenants.models import AuditEntry

ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OLAYA = {"code": "RUH-01", "name_en": "Olaya", "name_ar": "العليا", "latitude": 24.69, "longitude": 46.685, "timezone": "Asia/Riyadh",
         "hours": ALWAYS}
HERE = {"store": "RUH-01", "latitude": 24.691, "longitude": 46.685}
CSV_HEADER = "code,name_en,name_ar,latitude,longitude,timezone,radius_m,hours\n"


def store(client: TestClient, **fields: object) -> dict:
    made = client.post("/v1/stores", json={**OLAYA, **fields})
    assert made.status_code == 201, made.text
    return made.json()


def member(client: TestClient) -> int:
    made = client.post("/v1/members", json={"external_id": "m-1", "email": "m1@example.com"})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def audited(factory, tenant: TenantCtx) -> list[str]:  # type: ignore[no-untyped-def]
    with factory() as session:
        return list(session.execute(select(AuditEntry.action).where(AuditEntry.tenant_id == tenant.id).order_by(AuditEntry.id)).scalars())


def test_create_store_201_read_list_and_the_check_in_type_is_declared(client: TestClient, factory, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    made = store(client)
    assert (made["code"], made["radius_m"], made["active"], made["hours"]["mon"], made["hours"]["sat"]) == ("RUH-01", 150, True,
                                                                                                          [["00:00", "24:00"]], [["00:00", "24:00"]])
    assert client.get("/v1/stores/RUH-01").json()["name_ar"] == "العليا"
    assert [s["code"] for s in client.get("/v1/stores").json()["items"]] == ["RUH-01"]
    assert client.get("/v1/event-types/check_in").status_code == 200
    rule = client.post("/v1/rules", json={
        "name_en": "Visit", "name_ar": "زيارة", "trigger": "check_in", "status": "active",
        "conditions": [{"type": "store", "any_of": ["RUH-01"]}], "actions": [{"type": "fixed_points", "points": 5}],
    })
    assert rule.status_code == 201, rule.text
    assert audited(factory, tenant) == ["store.created"]


def test_create_store_409_when_the_code_is_taken(client: TestClient) -> None:
    store(client)
    problem(client.post("/v1/stores", json=OLAYA), 409, "/problems/conflict", "code")


def test_create_store_422_for_bad_time_zone_hours_or_place(client: TestClient) -> None:
    problem(client.post("/v1/stores", json={**OLAYA, "timezone": "Mars/Olympus"}), 422, "/problems/invalid-input", "timezone")
    problem(client.post("/v1/stores", json={**OLAYA, "hours": {"mon": [["08:00", "08:00"]]}}), 422, "/problems/invalid-input", "hours")
    problem(client.post("/v1/stores", json={**OLAYA, "hours": {"monday": []}}), 422, "/problems/invalid-input", "hours")
    problem(client.post("/v1/stores", json={**OLAYA, "latitude": 91}), 422, "/problems/invalid-input", "latitude")
    problem(client.post("/v1/stores", json={**OLAYA, "longitude": -180.5}), 422, "/problems/invalid-input", "longitude")
    assert client.get("/v1/stores").json()["items"] == []


def test_create_store_403_with_a_read_key(client: TestClient, factory, tenant: TenantCtx, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    key = make_key(factory, tenant.id, ["read"], clock.now())
    problem(client.post("/v1/stores", json=OLAYA, headers={"Authorization": f"Bearer {key}"}), 403, "/problems/forbidden")


def test_get_store_404(client: TestClient) -> None:
    problem(client.get("/v1/stores/NOPE"), 404, "/problems/not-found")


def test_update_store_200_changes_only_what_is_given_and_is_audited(client: TestClient, factory, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    store(client)
    changed = client.patch("/v1/stores/RUH-01", json={"radius_m": 300, "hours": {"fri": [["18:00", "02:00"]]}, "active": False})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["radius_m"], body["active"], body["name_en"], body["hours"]["fri"], body["hours"]["mon"]) == (300, False, "Olaya",
                                                                                                             [["18:00", "02:00"]], [])
    assert audited(factory, tenant) == ["store.created", "store.updated"]
    problem(client.patch("/v1/stores/NOPE", json={"radius_m": 300}), 404, "/problems/not-found")


def test_nearby_200_nearest_first_with_flags(client: TestClient) -> None:
    store(client)
    store(client, code="RUH-02", latitude=24.70, hours={})
    found = client.get("/v1/stores:nearby", params={"lat": 24.691, "lon": 46.685}).json()["items"]
    assert [(n["store"]["code"], n["open_now"], n["within_radius"]) for n in found] == [("RUH-01", True, True), ("RUH-02", False, False)]
    assert 100 <= found[0]["distance_m"] <= 120
    problem(client.get("/v1/stores:nearby", params={"lat": 95, "lon": 46.685}), 422, "/problems/invalid-input")


def test_check_in_201_then_409_the_same_day_and_listed(client: TestClient) -> None:
    store(client)
    member_id = member(client)
    made = client.post(f"/v1/members/{member_id}/check-ins", json=HERE)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["store"] == "RUH-01" and 100 <= body["distance_m"] <= 120 and "latitude" not in body
    event = client.get(f"/v1/events/{body['event_id']}").json()
    assert (event["type"], event["attributes"]) == ("check_in", {"store": "RUH-01"})
    problem(client.post(f"/v1/members/{member_id}/check-ins", json=HERE), 409, "/problems/already-checked-in", "store")
    listed = client.get(f"/v1/members/{member_id}/check-ins").json()["items"]
    assert [c["id"] for c in listed] == [body["id"]]


def test_check_in_replays_with_the_same_idempotency_key(client: TestClient) -> None:
    store(client)
    member_id = member(client)
    first = client.post(f"/v1/members/{member_id}/check-ins", json=HERE, headers={"Idempotency-Key": "ci-1"})
    again = client.post(f"/v1/members/{member_id}/check-ins", json=HERE, headers={"Idempotency-Key": "ci-1"})
    assert first.status_code == again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == again.json()


def test_check_in_422_too_far_with_the_distance(client: TestClient) -> None:
    store(client)
    member_id = member(client)
    body = problem(client.post(f"/v1/members/{member_id}/check-ins", json={**HERE, "latitude": 24.70}), 422, "/problems/store-too-far", "store")
    assert 1_100 <= body["distance_m"] <= 1_130 and body["radius_m"] == 150


def test_check_in_422_when_the_store_is_closed(client: TestClient) -> None:
    store(client, hours={})
    member_id = member(client)
    problem(client.post(f"/v1/members/{member_id}/check-ins", json=HERE), 422, "/problems/store-closed", "store")


def test_check_in_422_for_a_bad_point_and_404_for_an_unknown_store_or_member(client: TestClient) -> None:
    store(client)
    member_id = member(client)
    problem(client.post(f"/v1/members/{member_id}/check-ins", json={**HERE, "latitude": "north"}), 422, "/problems/invalid-input", "latitude")
    problem(client.post(f"/v1/members/{member_id}/check-ins", json={**HERE, "store": "NOPE"}), 404, "/problems/not-found", "store")
    problem(client.post("/v1/members/999999/check-ins", json=HERE), 404, "/problems/not-found")


def test_check_in_429_past_a_velocity_limit(client: TestClient, clock: FrozenClock) -> None:
    store(client)
    store(client, code="RUH-02")
    limits = client.put("/v1/trust/velocity-limits", json={"limits": [{"subject": "member", "action": "check_in", "window": "day", "max_count": 1}]})
    assert limits.status_code == 200, limits.text
    member_id = member(client)
    assert client.post(f"/v1/members/{member_id}/check-ins", json=HERE).status_code == 201
    body = problem(client.post(f"/v1/members/{member_id}/check-ins", json={**HERE, "store": "RUH-02"}), 429, "/problems/too-many-check-ins")
    assert body["limit"]["action"] == "check_in"
    clock.advance(timedelta(days=1, minutes=1))
    assert client.post(f"/v1/members/{member_id}/check-ins", json={**HERE, "store": "RUH-02"}).status_code == 201


def test_check_in_403_with_a_read_key(client: TestClient, factory, tenant: TenantCtx, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    store(client)
    member_id = member(client)
    key = make_key(factory, tenant.id, ["read"], clock.now())
    problem(client.post(f"/v1/members/{member_id}/check-ins", json=HERE, headers={"Authorization": f"Bearer {key}"}), 403, "/problems/forbidden")
    till = make_key(factory, tenant.id, ["events:write"], clock.now())
    assert client.post(f"/v1/members/{member_id}/check-ins", json=HERE, headers={"Authorization": f"Bearer {till}"}).status_code == 201


def test_import_200_adds_and_updates_by_code(client: TestClient, factory, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    store(client)
    csv_text = CSV_HEADER + (
        'RUH-01,Olaya Mall,العليا مول,24.69,46.685,Asia/Riyadh,200,"mon-fri 08:00-22:00; sat 10:00-23:00; sun closed"\n'
        "JED-01,Tahlia,,٢١٫٥٤,39.17,Asia/Riyadh,,fri 18:00-02:00\n"
    )
    done = client.post("/v1/stores:import", content=csv_text.encode(), headers={"Content-Type": "text/csv"})
    assert done.status_code == 200, done.text
    assert done.json() == {"created": 1, "updated": 1, "codes": ["RUH-01", "JED-01"]}
    olaya = client.get("/v1/stores/RUH-01").json()
    assert (olaya["name_en"], olaya["radius_m"], olaya["hours"]["sat"], olaya["hours"]["sun"]) == ("Olaya Mall", 200, [["10:00", "23:00"]], [])
    tahlia = client.get("/v1/stores/JED-01").json()
    assert (tahlia["latitude"], tahlia["radius_m"], tahlia["name_ar"], tahlia["hours"]["fri"]) == (21.54, 150, None, [["18:00", "02:00"]])
    assert audited(factory, tenant)[-1] == "stores.imported"


def test_import_422_names_every_bad_row_and_writes_nothing(client: TestClient) -> None:
    csv_text = CSV_HEADER + (
        "GOOD,Good,,24.69,46.685,Asia/Riyadh,,mon-sun 08:00-22:00\n"
        "BAD1,Bad,,95,46.685,Asia/Riyadh,,\n"
        "BAD2,Bad,,24.69,46.685,Mars/Olympus,,\n"
        "BAD3,Bad,,24.69,46.685,Asia/Riyadh,,someday 08:00-22:00\n"
        "GOOD,Again,,24.69,46.685,Asia/Riyadh,,\n"
    )
    body = problem(client.post("/v1/stores:import", content=csv_text.encode(), headers={"Content-Type": "text/csv"}), 422, "/problems/invalid-input")
    assert [e["field"] for e in body["errors"]] == ["line 3: latitude", "line 4: timezone", "line 5: hours", "line 6: code"]
    assert client.get("/v1/stores").json()["items"] == []
    no_header = client.post("/v1/stores:import", content=b"code,name\nA,B\n", headers={"Content-Type": "text/csv"})
    problem(no_header, 422, "/problems/invalid-input", "file")


def test_check_ins_earn_a_badge_that_counts_check_in_events(client: TestClient) -> None:
    store(client)
    store(client, code="RUH-02")
    made = client.post("/v1/badges", json={"key": "explorer", "name_en": "Explorer", "name_ar": "مستكشف", "points": 30,
                                           "criterion": {"metric": "events", "event_type": "check_in", "at_least": "2"}})
    assert made.status_code == 201, made.text
    member_id = member(client)
    assert client.post(f"/v1/members/{member_id}/check-ins", json=HERE).status_code == 201
    assert client.get(f"/v1/members/{member_id}/achievements").json()["badges"] == []
    assert client.post(f"/v1/members/{member_id}/check-ins", json={**HERE, "store": "RUH-02"}).status_code == 201
    assert [b["key"] for b in client.get(f"/v1/members/{member_id}/achievements").json()["badges"]] == ["explorer"]
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 30

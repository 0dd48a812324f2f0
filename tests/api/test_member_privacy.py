"""Members' data rights over HTTP: the export (JSON, or a zip of one CSV per section), the erasure and its
refusals, the consent history by pages, and the retention period. One test per status path."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_key, problem
from tests.integration.members.history import ADDRESS, COMMENT, rich_member, seed_entries
from wafa.clock import FrozenClock
from wafa.members import personal_data
from wafa.tenants import audit


def enrol(client: TestClient, external_id: str = "p-1", **fields: object) -> int:
    made = client.post("/v1/members", json={"external_id": external_id, **fields})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def csv_rows(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode().removeprefix("\ufeff"))))


# --- export ------------------------------------------------------------------------------------------------


def test_export_json_holds_every_section_of_the_members_history(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    rich = rich_member(client, factory, tenant.id, clock.now())
    answer = client.get(f"/v1/members/{rich.id}/export")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert (body["format"], body["version"], body["member_id"]) == ("wafa.member-export", 1, rich.id)
    sections = body["sections"]
    assert set(sections) == {s.name for s in personal_data.SECTIONS}
    assert sections["profile"][0]["email"] == rich.email and sections["profile"][0]["birth_date"] == "1991-03-14"
    assert {(c["channel"], c["granted"]) for c in sections["consent_changes"]} == {("email", True), ("sms", True)}
    assert {e["kind"] for e in sections["entries"]} >= {"earn", "adjust", "redeem"}
    assert sum(p["amount"] for p in sections["postings"]) == sum(a["balance"] for a in sections["accounts"]) == 700
    assert sections["reward_redemptions"][0]["note"] == ADDRESS
    assert sections["survey_answers"][0]["answers"] == {"r": 4, "why": COMMENT}
    assert [m["body"] for m in sections["messages"]] == ["Dear Sara Al-Harbi, welcome.", "Happy birthday Sara"]
    assert [r["referee_id"] for r in sections["referrals"]] == [rich.friend_id]
    assert {e["type"] for e in sections["events"]} >= {"purchase", "review_written"}
    assert sections["leaderboard_profile"][0]["nickname"] == "Sara the Swift"
    assert "token" not in sections["survey_invitations"][0] and "last_hash" not in sections["accounts"][0]
    with factory() as session:
        (recorded,) = audit.list_(session, tenant_id=tenant.id, action="member.exported")
    assert (recorded.target, recorded.details, recorded.actor.startswith("api key ")) == (f"member:{rich.id}", {"format": "json", "via": "api"}, True)


def test_export_zip_has_a_csv_per_section_and_the_json(client: TestClient, factory, tenant: TenantCtx, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    rich = rich_member(client, factory, tenant.id, clock.now())
    for answer in (client.get(f"/v1/members/{rich.id}/export", params={"format": "zip"}),
                   client.get(f"/v1/members/{rich.id}/export", headers={"Accept": "application/zip"})):
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
        assert answer.headers["content-disposition"] == f'attachment; filename="member-{rich.id}.zip"'
        archive = zipfile.ZipFile(io.BytesIO(answer.content))
        assert set(archive.namelist()) == {"member.json"} | {f"{s.name}.csv" for s in personal_data.SECTIONS}
        assert json.loads(archive.read("member.json"))["member_id"] == rich.id
        assert csv_rows(archive, "profile.csv")[0]["phone"] == rich.phone  # "+966..." stays a phone number, not a formula
        assert json.loads(csv_rows(archive, "survey_answers.csv")[0]["answers"]) == {"r": 4, "why": COMMENT}
        assert csv_rows(archive, "holds.csv") == [] and archive.read("holds.csv").decode().startswith("\ufeffid,")  # a header, even empty
    # format=json wins over an Accept header asking for the zip
    asked = client.get(f"/v1/members/{rich.id}/export", params={"format": "json"}, headers={"Accept": "application/zip"})
    assert asked.json()["member_id"] == rich.id


def test_export_of_a_member_with_10000_entries_holds_them_all(client: TestClient, factory, tenant: TenantCtx, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    member_id = enrol(client, "busy", name="Busy Bee")
    seed_entries(factory, tenant_id=tenant.id, member_id=member_id, count=10_000, now=clock.now())
    sections = client.get(f"/v1/members/{member_id}/export").json()["sections"]
    assert len(sections["entries"]) == len(sections["lots"]) == 10_000
    assert len(sections["postings"]) == 10_000 and sum(p["amount"] for p in sections["postings"]) == 55_000  # their side of each entry
    assert {a["kind"]: a["balance"] for a in sections["accounts"]}["available"] == 55_000
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/v1/members/{member_id}/export", params={"format": "zip"}).content))
    assert len(csv_rows(archive, "entries.csv")) == 10_000 and len(csv_rows(archive, "postings.csv")) == 10_000


def test_export_of_an_unknown_member_is_404(client: TestClient) -> None:
    problem(client.get("/v1/members/987654321/export"), 404, "/problems/not-found", "member_id")


def test_export_in_an_unknown_format_is_422(client: TestClient) -> None:
    problem(client.get(f"/v1/members/{enrol(client)}/export", params={"format": "xml"}), 422, "/problems/invalid-input", "query.format")


def test_export_needs_the_admin_scope(client: TestClient, factory, tenant: TenantCtx, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    member_id = enrol(client)
    client.headers["Authorization"] = f"Bearer {make_key(factory, tenant.id, ['read'], clock.now())}"
    problem(client.get(f"/v1/members/{member_id}/export"), 403, "/problems/forbidden")


# --- erasure -----------------------------------------------------------------------------------------------


def test_erase_a_member_without_a_balance_is_200_and_the_card_finds_nobody(client: TestClient) -> None:
    member_id = enrol(client, name="Omar", email="omar@example.com", phone="+966551112222", city="Jeddah")
    card = client.get(f"/v1/members/{member_id}").json()["card_token"]
    answer = client.post(f"/v1/members/{member_id}/erase")
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"erased_at": None} == {"member_id": member_id, "status": "erased", "erased_at": None, "already_erased": False,
                                                   "forfeited_points": 0, "written_off_points": 0, "forfeited_money": {}, "written_off_money": {}}
    member = client.get(f"/v1/members/{member_id}").json()
    assert (member["status"], member["name"], member["email"], member["phone"], member["city"]) == ("closed", None, None, None, None)
    assert member["external_id"].startswith("erased-") and member["consent"] == {"email": False, "sms": False, "push": False, "whatsapp": False}
    problem(client.get(f"/v1/cards/{card}"), 404, "/problems/not-found")


def test_erase_while_the_member_holds_points_is_409_until_forfeited(client: TestClient) -> None:
    member_id = enrol(client, name="Huda")
    client.post(f"/v1/members/{member_id}/adjustments", json={"points": 120, "reason": "gift"})
    refused = problem(client.post(f"/v1/members/{member_id}/erase", json={}), 409, "/problems/balance-outstanding")
    assert refused["points"] == {"available": 120, "pending": 0} and refused["needs"] == ["forfeit_balance"]
    assert client.get(f"/v1/members/{member_id}").json()["name"] == "Huda"  # nothing was written
    done = client.post(f"/v1/members/{member_id}/erase", json={"forfeit_balance": True})
    assert done.status_code == 200 and done.json()["forfeited_points"] == 120
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 0


def test_erase_while_the_member_owes_points_is_409_until_written_off(client: TestClient) -> None:
    member_id = enrol(client)
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "E-1", "amount": "100.00", "currency": "SAR"})
    client.post(f"/v1/members/{member_id}/redemptions", json={"points": 100, "reason": "spent"})
    client.post("/v1/events", json={"type": "return", "order_id": "E-1", "amount": "100.00"})
    refused = problem(client.post(f"/v1/members/{member_id}/erase", json={"forfeit_balance": True}), 409, "/problems/balance-outstanding")
    assert refused["needs"] == ["write_off_debt"]
    assert client.post(f"/v1/members/{member_id}/erase", json={"write_off_debt": True}).json()["written_off_points"] == 100


def test_erase_while_a_hold_is_open_is_409(client: TestClient) -> None:
    member_id = enrol(client)
    client.post(f"/v1/members/{member_id}/adjustments", json={"points": 50, "reason": "gift"})
    assert client.post(f"/v1/members/{member_id}/holds", json={"points": 20, "reason": "till 3"}).status_code == 201
    refused = problem(client.post(f"/v1/members/{member_id}/erase", json={"forfeit_balance": True}), 409, "/problems/conflict")
    assert refused["open_holds"] == 1 and client.get(f"/v1/members/{member_id}").json()["status"] == "active"


def test_erase_again_is_200_and_already_erased(client: TestClient) -> None:
    member_id = enrol(client)
    first = client.post(f"/v1/members/{member_id}/erase").json()
    again = client.post(f"/v1/members/{member_id}/erase", json={"forfeit_balance": True})
    assert again.status_code == 200 and again.json()["already_erased"] is True and again.json()["erased_at"] == first["erased_at"]


def test_erase_with_an_idempotency_key_replays_the_first_answer(client: TestClient) -> None:
    member_id = enrol(client)
    first = client.post(f"/v1/members/{member_id}/erase", headers={"Idempotency-Key": "erase-1"})
    again = client.post(f"/v1/members/{member_id}/erase", headers={"Idempotency-Key": "erase-1"})
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    problem(client.post(f"/v1/members/{member_id}/erase", json={"forfeit_balance": True}, headers={"Idempotency-Key": "erase-1"}),
            409, "/problems/idempotency-key-reused")


def test_erase_with_a_bad_body_is_422_and_changes_nothing(client: TestClient) -> None:
    member_id = enrol(client, name="Reem")
    problem(client.post(f"/v1/members/{member_id}/erase", json={"forfeit": True}), 422, "/problems/invalid-input", "forfeit")
    problem(client.post(f"/v1/members/{member_id}/erase", json={"forfeit_balance": "maybe"}), 422, "/problems/invalid-input", "forfeit_balance")
    assert client.get(f"/v1/members/{member_id}").json()["name"] == "Reem"


def test_erase_an_unknown_member_is_404(client: TestClient) -> None:
    problem(client.post("/v1/members/987654321/erase"), 404, "/problems/not-found", "member_id")


def test_erase_needs_the_admin_scope(client: TestClient, factory, tenant: TenantCtx, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    member_id = enrol(client)
    client.headers["Authorization"] = f"Bearer {make_key(factory, tenant.id, ['members:write', 'read'], clock.now())}"
    problem(client.post(f"/v1/members/{member_id}/erase"), 403, "/problems/forbidden")


# --- consent history ---------------------------------------------------------------------------------------


def test_consent_history_pages_newest_first_with_where_and_who(client: TestClient, clock: FrozenClock) -> None:
    member_id = enrol(client, consent={"email": True})
    for channel in ("sms", "whatsapp", "push"):
        client.patch(f"/v1/members/{member_id}", json={"consent": {channel: True}})
    first = client.get(f"/v1/members/{member_id}/consents", params={"limit": 3})
    assert first.status_code == 200
    rest = client.get(f"/v1/members/{member_id}/consents", params={"limit": 3, "cursor": first.json()["next_cursor"]}).json()
    items = first.json()["items"] + rest["items"]
    assert [(i["channel"], i["granted"], i["source"]) for i in items] == [
        ("push", True, "api"), ("whatsapp", True, "api"), ("sms", True, "api"), ("email", True, "api")]
    assert rest["next_cursor"] is None and all(i["actor"].startswith("api key ") and i["at"] for i in items)


def test_consent_history_with_a_cursor_not_issued_is_422(client: TestClient) -> None:
    problem(client.get(f"/v1/members/{enrol(client)}/consents", params={"cursor": "nope"}), 422, "/problems/invalid-input", "cursor")


def test_consent_history_of_an_unknown_member_is_404(client: TestClient) -> None:
    problem(client.get("/v1/members/987654321/consents"), 404, "/problems/not-found", "member_id")


# --- retention ---------------------------------------------------------------------------------------------


def test_retention_is_read_and_set_and_unset(client: TestClient) -> None:
    assert client.get("/v1/program/retention").json() == {"anonymise_inactive_after_years": None}
    assert client.put("/v1/program/retention", json={"anonymise_inactive_after_years": 3}).json() == {"anonymise_inactive_after_years": 3}
    assert client.get("/v1/program/retention").json() == {"anonymise_inactive_after_years": 3}
    assert client.put("/v1/program/retention", json={"anonymise_inactive_after_years": None}).json() == {"anonymise_inactive_after_years": None}


def test_retention_out_of_range_or_missing_is_422(client: TestClient) -> None:
    for body in ({"anonymise_inactive_after_years": 0}, {"anonymise_inactive_after_years": 101}, {"anonymise_inactive_after_years": "two"},
                 {}, {"anonymise_inactive_after_years": 2, "also": 1}):
        answer = client.put("/v1/program/retention", json=body)
        assert answer.status_code == 422, body
    assert client.get("/v1/program/retention").json() == {"anonymise_inactive_after_years": None}


def test_retention_is_set_by_admin_keys_only(client: TestClient, factory, tenant: TenantCtx, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    client.headers["Authorization"] = f"Bearer {make_key(factory, tenant.id, ['read'], clock.now())}"
    assert client.get("/v1/program/retention").status_code == 200
    problem(client.put("/v1/program/retention", json={"anonymise_inactive_after_years": 2}), 403, "/problems/forbidden")


def test_another_tenants_key_gets_404_on_export_erase_and_consents(client: TestClient, factory, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_tenant

    member_id = enrol(client, name="Mine")
    client.headers["Authorization"] = f"Bearer {make_tenant(factory, clock.now()).admin_key}"
    for answer in (client.get(f"/v1/members/{member_id}/export"), client.post(f"/v1/members/{member_id}/erase", json={"forfeit_balance": True}),
                   client.get(f"/v1/members/{member_id}/consents")):
        problem(answer, 404, "/problems/not-found", "member_id")

"""The API takes input strictly, the same rule on every field (wafa.inputs), on SQLite and PostgreSQL alike:
counts are JSON integers (`true` never redeems 1 point), decimals are ASCII digits (never "١٢٫٥٠"), text holds
no control characters (a NUL is refused on SQLite too, not only by PostgreSQL). Each refusal is a 422 problem
naming the field, and nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import problem


@dataclass
class Ids:
    member: int
    hold: int
    reward: int


def seed(client: TestClient) -> Ids:
    """A member with points and an open hold, an order to return, a cashback reward and a custom event type."""
    member = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    assert client.post(f"/v1/members/{member}/adjustments", json={"points": 5000, "reason": "opening balance"}).status_code == 201
    hold = client.post(f"/v1/members/{member}/holds", json={"points": 10, "reason": "till"}).json()["id"]
    bought = client.post("/v1/events", json={"type": "purchase", "member": {"id": member}, "order_id": "O-1", "amount": "100.00",
                                             "currency": "SAR", "items": [{"sku": "TEA", "quantity": 2, "unit_price": "50.00"}]})
    assert bought.status_code == 201, bought.text
    reward = client.post("/v1/rewards", json={"key": "cash", "name_en": "Cash", "name_ar": "نقد", "points": 100,
                                              "gives": {"type": "cashback", "rate": "0.01"}})
    assert reward.status_code == 201, reward.text
    assert client.post("/v1/event-types", json={"name": "review_written"}).status_code == 201
    return Ids(member, hold, reward.json()["id"])


def written(client: TestClient, ids: Ids) -> dict[str, Any]:
    """Everything the requests below could write: the member's points, wallet, entries and rewards; members,
    rewards, rules, campaigns, tiers, program settings, event types, webhook endpoints, the A/B/C policy."""
    member = f"/v1/members/{ids.member}"
    reads = [member, f"{member}/balance", f"{member}/wallet", f"{member}/entries", f"{member}/wallet/entries", f"{member}/reward-redemptions",
             "/v1/members", "/v1/rewards", "/v1/rules", "/v1/coupon-campaigns", "/v1/tiers", "/v1/program", "/v1/event-types",
             "/v1/webhook-endpoints", "/v1/segments/abc", f"/v1/holds/{ids.hold}"]
    return {path: client.get(path).json() for path in reads}


def refused_naming(client: TestClient, ids: Ids, method: str, path: str, body: dict[str, Any], field: str) -> None:
    before = written(client, ids)
    answer = client.request(method, path.format(member=ids.member, hold=ids.hold, reward=ids.reward), json=body)
    problem(answer, 422, "/problems/invalid-input", field)
    assert "Traceback" not in answer.text
    assert written(client, ids) == before


def purchase(**fields: Any) -> dict[str, Any]:
    body = {"type": "purchase", "member": {"external_id": "m-1"}, "order_id": "O-2", "amount": "12.50", "currency": "SAR",
            "items": [{"sku": "TEA", "quantity": 1, "unit_price": "12.50"}]}
    return {**body, **fields}


def with_item(**fields: Any) -> dict[str, Any]:
    return purchase(items=[{"sku": "TEA", "quantity": 1, "unit_price": "12.50", **fields}])


def reward(**fields: Any) -> dict[str, Any]:
    return {"key": "gift", "name_en": "Gift", "name_ar": "هدية", "points": 100, "gives": {"type": "gift"}, **fields}


def rule(**fields: Any) -> dict[str, Any]:
    return {"name_en": "R", "name_ar": "ق", "trigger": "purchase", "actions": [{"type": "fixed_points", "points": 5}], **fields}


# --- counts: JSON integers only -----------------------------------------------------------------------

COUNTS = [
    ("POST", "/v1/members/{member}/redemptions", lambda v: {"points": v, "reason": "till"}, "points"),
    ("POST", "/v1/members/{member}/holds", lambda v: {"points": v, "reason": "till"}, "points"),
    ("POST", "/v1/holds/{hold}/capture", lambda v: {"points": v}, "points"),
    ("POST", "/v1/members/{member}/adjustments", lambda v: {"points": v, "reason": "goodwill"}, "points"),
    ("POST", "/v1/members/{member}/reward-redemptions", lambda v: {"reward_key": "cash", "points": v}, "points"),
    ("POST", "/v1/members/{member}/reward-redemptions", lambda v: {"reward_id": v}, "reward_id"),
    ("POST", "/v1/events", lambda v: with_item(quantity=v), "items[0].quantity"),
    ("POST", "/v1/events", lambda v: purchase(member={"id": v}), "member.id"),
    ("POST", "/v1/rewards", lambda v: reward(points=v), "points"),
    ("POST", "/v1/rewards", lambda v: reward(stock=v), "stock"),
    ("POST", "/v1/coupon-campaigns", lambda v: {"name": "C", "discount": {"type": "fixed", "amount": "5"}, "count": v}, "count"),
    ("POST", "/v1/rules", lambda v: rule(actions=[{"type": "fixed_points", "points": v}]), "actions[0].points"),
    ("PATCH", "/v1/program", lambda v: {"min_redemption": v}, "min_redemption"),
]


@pytest.mark.parametrize("value", [True, 1.0, "1"], ids=["true", "1.0", "string"])
@pytest.mark.parametrize(("method", "path", "body", "field"), COUNTS, ids=[f"{c[1]}:{c[3]}" for c in COUNTS])
def test_a_count_that_is_not_a_json_integer_is_422_and_writes_nothing(client: TestClient, method: str, path: str, body, field: str,  # type: ignore[no-untyped-def]
                                                                      value: Any) -> None:
    refused_naming(client, seed(client), method, path, body(value), field)


def test_points_true_never_redeems_a_point(client: TestClient) -> None:
    """The finding: pydantic's lax mode read `true` as 1 and redeemed one point."""
    ids = seed(client)
    before = client.get(f"/v1/members/{ids.member}/balance").json()["available"]
    problem(client.post(f"/v1/members/{ids.member}/redemptions", json={"points": True, "reason": "till"}), 422, "/problems/invalid-input", "points")
    assert client.get(f"/v1/members/{ids.member}/balance").json()["available"] == before
    assert client.post(f"/v1/members/{ids.member}/redemptions", json={"points": 1, "reason": "till"}).status_code == 201


@pytest.mark.parametrize("value", [1, "true"], ids=["1", "string"])
@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/members", lambda v: {"external_id": "m-2", "consent": {"email": v}}, "consent.email"),
    ("/v1/members/{member}/reward-redemptions", lambda v: {"reward_key": "cash", "points": 100, "pay_money_from_wallet": v}, "pay_money_from_wallet"),
    ("/v1/events", lambda v: with_item(earns=v), "items[0].earns"),
])
def test_a_flag_that_is_not_json_true_or_false_is_422_and_writes_nothing(client: TestClient, path: str, body, field: str, value: Any) -> None:  # type: ignore[no-untyped-def]
    refused_naming(client, seed(client), "POST", path, body(value), field)


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/v1/events", lambda: purchase(occurred_at=1772355600), "occurred_at"),
    ("POST", "/v1/members/{member}/adjustments", lambda: {"points": 5, "reason": "goodwill", "expires_at": 1900000000}, "expires_at"),
    ("POST", "/v1/members", lambda: {"external_id": "m-2", "birth_date": 0}, "birth_date"),
])
def test_a_time_given_as_a_number_is_422_and_writes_nothing(client: TestClient, method: str, path: str, body, field: str) -> None:  # type: ignore[no-untyped-def]
    refused_naming(client, seed(client), method, path, body(), field)


# --- decimals: ASCII digits only ---------------------------------------------------------------------------

AMOUNTS = [
    ("POST", "/v1/events", lambda v: purchase(amount=v), "amount"),
    ("POST", "/v1/events", lambda v: with_item(unit_price=v), "items[0].unit_price"),
    ("POST", "/v1/events", lambda v: {"type": "return", "order_id": "O-1", "amount": v}, "amount"),
    ("POST", "/v1/members/{member}/wallet/debits", lambda v: {"amount": v, "currency": "SAR", "reason": "paid at till"}, "amount"),
    ("POST", "/v1/coupons/NO-SUCH-CODE:redeem", lambda v: {"amount": v, "currency": "SAR"}, "amount"),
    ("POST", "/v1/memberships/1/payments", lambda v: {"status": "paid", "amount": v, "currency": "SAR"}, "amount"),
    ("POST", "/v1/rewards", lambda v: reward(money=v), "money"),
    ("POST", "/v1/rules", lambda v: rule(conditions=[{"type": "order_amount", "at_least": v}]), "conditions[0].at_least"),
    ("POST", "/v1/tiers", lambda v: {"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 1, "threshold": v}, "threshold"),
    ("PATCH", "/v1/program", lambda v: {"earn_rates": {"SAR": v}}, "earn_rates"),
    ("PATCH", "/v1/program", lambda v: {"point_cost": v}, "point_cost"),
    ("PUT", "/v1/analytics/acquisition-spend/2026-02", lambda v: {"amount": v}, "amount"),
]


# Eastern Arabic-Indic (Persian) digits and every other script's: tests/unit/test_inputs.py.
@pytest.mark.parametrize("value", ["١٢٫٥٠", "١٢.٥٠"], ids=["arabic-indic-separator", "arabic-indic"])
@pytest.mark.parametrize(("method", "path", "body", "field"), AMOUNTS, ids=[f"{a[1]}:{a[3]}" for a in AMOUNTS])
def test_an_amount_in_arabic_indic_digits_is_422_and_writes_nothing(client: TestClient, method: str, path: str, body, field: str,  # type: ignore[no-untyped-def]
                                                                    value: str) -> None:
    refused_naming(client, seed(client), method, path, body(value), field)


@pytest.mark.parametrize("value", [" 12.50", "12.50 ", "12.50\n", "1e1", "+12.50", "1_250", "12,50", "१२.५०", "１２.５０", 12.5, 12])
def test_an_amount_written_any_other_way_than_ascii_digits_is_422(client: TestClient, value: Any) -> None:
    refused_naming(client, seed(client), "POST", "/v1/events", purchase(amount=value), "amount")


@pytest.mark.parametrize("amount", ["12.50", "12.5", "12", "0.50"])
def test_an_amount_of_ascii_digits_is_still_taken(client: TestClient, amount: str) -> None:
    seed(client)
    assert client.post("/v1/events", json=purchase(amount=amount)).status_code == 201


# --- text: no control characters ---------------------------------------------------------------------------

TEXTS = [
    ("POST", "/v1/events", lambda v: with_item(sku=v), "items[0].sku"),
    ("POST", "/v1/events", lambda v: purchase(order_id=v), "order_id"),
    ("POST", "/v1/events", lambda v: purchase(coupons=[v]), "coupons[0]"),
    ("POST", "/v1/events", lambda v: {"type": "review_written", "member": {"external_id": "m-1"}, "attributes": {"text": v}}, "attributes"),
    ("POST", "/v1/members", lambda v: {"external_id": v}, "external_id"),
    ("POST", "/v1/members", lambda v: {"external_id": "m-2", "name": v}, "name"),
    ("PATCH", "/v1/members/{member}", lambda v: {"city": v}, "city"),
    ("POST", "/v1/members/{member}/redemptions", lambda v: {"points": 5, "reason": v}, "reason"),
    ("POST", "/v1/coupons/NO-SUCH-CODE:redeem", lambda v: {"amount": "10.00", "currency": "SAR", "order_id": v}, "order_id"),
    ("POST", "/v1/rewards", lambda v: reward(name_en=v), "name_en"),
    ("POST", "/v1/rewards", lambda v: reward(description_en=v), "description_en"),
    ("POST", "/v1/webhook-endpoints", lambda v: {"url": "https://hooks.example.com/wafa", "description": v}, "description"),
]


# DEL, the C1 controls and every other C0 one: tests/unit/test_inputs.py.
@pytest.mark.parametrize("value", ["a\x00b", "a\x1bb"], ids=["NUL", "ESC"])
@pytest.mark.parametrize(("method", "path", "body", "field"), TEXTS, ids=[f"{t[1]}:{t[3]}" for t in TEXTS])
def test_text_with_a_control_character_is_422_and_writes_nothing(client: TestClient, method: str, path: str, body, field: str,  # type: ignore[no-untyped-def]
                                                                 value: str) -> None:
    refused_naming(client, seed(client), method, path, body(value), field)


@pytest.mark.parametrize(("body", "field"), [(reward(name_en="Two\nlines"), "name_en"), (reward(name_ar="سطر\tآخر"), "name_ar")])
def test_a_line_break_or_tab_in_a_one_line_text_is_422(client: TestClient, body: dict[str, Any], field: str) -> None:
    refused_naming(client, seed(client), "POST", "/v1/rewards", body, field)


def test_a_text_meant_for_several_lines_keeps_its_line_breaks(client: TestClient) -> None:
    seed(client)
    made = client.post("/v1/rewards", json=reward(description_en="Ships in a box.\r\nSigned for on delivery.\tThanks"))
    assert made.status_code == 201, made.text
    assert made.json()["description"]["en"] == "Ships in a box.\r\nSigned for on delivery.\tThanks"


def test_a_sku_with_nul_is_refused_on_sqlite_as_on_postgresql(client: TestClient) -> None:
    """The finding: SQLite stored a NUL inside an item's SKU, PostgreSQL refused it (a DataError mapped to 422 as a
    last resort); now the schema refuses it first, naming the line's field, on both."""
    ids = seed(client)
    before = written(client, ids)
    body = problem(client.post("/v1/events", json=with_item(sku="TEA\x00")), 422, "/problems/invalid-input", "items[0].sku")
    assert "cannot be stored" not in body["detail"]  # the schema's refusal, not the database's
    assert written(client, ids) == before


# --- path and query parameters ------------------------------------------------------------------------------


def test_a_path_id_in_arabic_indic_digits_does_not_name_the_member(client: TestClient) -> None:
    ids = seed(client)
    for digits in ("٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "０１２３４５６７８９"):
        spelled = str(ids.member).translate(str.maketrans("0123456789", digits))
        problem(client.get(f"/v1/members/{spelled}"), 422, "/problems/invalid-input", "path.member_id")
    assert client.get(f"/v1/members/{ids.member}").status_code == 200


def test_a_query_limit_in_arabic_indic_digits_is_422(client: TestClient) -> None:
    problem(client.get("/v1/members", params={"limit": "١٠"}), 422, "/problems/invalid-input", "query.limit")


# --- found on the way ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "raw", "field"), [
    ("POST", "/v1/rules", b'{"name_en": "R", "name_ar": "R", "trigger": "purchase", "actions": [{"type": "fixed_points", "points": 5}],'
                          b' "conditions": [{"type": "event_attribute", "path": "size", "op": "gt", "value": 1e400}]}', "conditions[0].value"),
    ("PUT", "/v1/segments/abc/policy", b'{"weights": {"volume": 1e400}}', "weights.volume"),
    ("PUT", "/v1/segments/abc/policy", b'{"weights": {"volume": 1}, "a_share": true}', "a_share"),
], ids=["rule-value", "abc-weight", "abc-share"])
def test_a_number_json_cannot_carry_back_is_422_on_both_databases(client: TestClient, method: str, path: str, raw: bytes, field: str) -> None:
    """1e400 reads as infinity: SQLite stored it (as the non-JSON `Infinity`), PostgreSQL refused it (a DataError's
    last-resort 422). A share of `true` was 1.0."""
    ids = seed(client)
    before = written(client, ids)
    answer = client.request(method, path, content=raw, headers={"content-type": "application/json"})
    body = problem(answer, 422, "/problems/invalid-input")
    assert any(e["field"].startswith(field) for e in body["errors"]), body
    assert written(client, ids) == before


def test_a_time_zone_name_too_long_for_the_file_system_is_422_not_500(client: TestClient) -> None:
    """zoneinfo raised OSError (file name too long) for it, which no validator caught."""
    before = client.get("/v1/program").json()
    problem(client.patch("/v1/program", json={"timezone": "x" * 5000}), 422, "/problems/invalid-input", "timezone")
    assert client.get("/v1/program").json() == before


@pytest.mark.parametrize("spelled", ["+{id}", "{id}.0", "%20{id}", "0{id}_0"], ids=["plus", "point-zero", "space", "underscore"])
def test_a_path_id_has_one_spelling(client: TestClient, spelled: str) -> None:
    """Lax pydantic read "+12", "12.0" and " 12" as 12 (and "01_0" as 10): ASCII digits only (wafa.inputs.DigitsOnly)."""
    ids = seed(client)
    problem(client.get("/v1/members/" + spelled.format(id=ids.member)), 422, "/problems/invalid-input", "path.member_id")

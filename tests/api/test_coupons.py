"""Coupons over HTTP: what a coupon takes off a basket and why it may not, using it exactly once (or N
times) at a till, codes as people type them, and campaigns of generated codes exported as CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import START, problem

CODE = re.compile(r"^[ABCDEFGHJKMNPQRSTVWXYZ23456789]+$")


def campaign(client: TestClient, discount: dict, count: int = 1, **fields: object) -> dict:  # type: ignore[type-arg]
    made = client.post("/v1/coupon-campaigns", json={"name": "Ramadan", "discount": discount, "count": count, **fields})
    assert made.status_code == 201, made.text
    return made.json()


def codes_of(client: TestClient, campaign_id: int) -> list[dict[str, str]]:
    exported = client.get(f"/v1/coupon-campaigns/{campaign_id}/codes")
    assert exported.status_code == 200, exported.text
    return list(csv.DictReader(io.StringIO(exported.text)))


def a_code(client: TestClient, discount: dict, **fields: object) -> str:  # type: ignore[type-arg]
    """One coupon code of a fresh campaign."""
    return codes_of(client, campaign(client, discount, **fields)["id"])[0]["code"]


def member_coupon(client: TestClient, discount: dict, external_id: str = "m-1", uses: int = 1) -> tuple[int, str]:  # type: ignore[type-arg]
    """A member and the coupon a free reward issued to them."""
    member_id = client.post("/v1/members", json={"external_id": external_id}).json()["id"]
    reward = client.post("/v1/rewards", json={"key": f"r-{external_id}", "name_en": "Coupon", "name_ar": "قسيمة", "points": 0,
                                              "gives": {"type": "coupon", "discount": discount, "uses": uses}}).json()
    redeemed = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": reward["id"]})
    assert redeemed.status_code == 201, redeemed.text
    return member_id, redeemed.json()["coupon"]["code"]


def basket(amount: str, *items: tuple[str, str | None, int, str], currency: str = "SAR", **extra: object) -> dict:  # type: ignore[type-arg]
    lines = [{"sku": sku, "category": category, "quantity": quantity, "unit_price": price} for sku, category, quantity, price in items]
    return {"amount": amount, "currency": currency, "items": lines, **extra}


def validate(client: TestClient, code: str, body: dict):  # type: ignore[no-untyped-def,type-arg]
    return client.post(f"/v1/coupons/{code}:validate", json=body)


def use(client: TestClient, code: str, body: dict, key: str | None = None):  # type: ignore[no-untyped-def,type-arg]
    return client.post(f"/v1/coupons/{code}:redeem", json=body, headers={"Idempotency-Key": key} if key else {})


FIXED_10 = {"type": "fixed", "amount": "10.00"}


# --- validate ---------------------------------------------------------------------------------


def test_validate_gives_the_discount_on_a_basket(client: TestClient) -> None:
    percent = a_code(client, {"type": "percent", "percent": "15", "max_discount": "20.00"})
    assert validate(client, percent, basket("33.33")).json()["discount"] == "4.99"  # 4.9995, rounded down
    capped = validate(client, percent, basket("500.00")).json()
    assert (capped["valid"], capped["discount"], capped["currency"], capped["reason"]) == (True, "20.00", "SAR", None)
    assert (capped["code"], capped["coupon"]["uses"], capped["coupon"]["status"]) == (percent, 0, "active")
    fixed = a_code(client, {"type": "fixed", "amount": "25.00"})
    assert validate(client, fixed, basket("18.00")).json()["discount"] == "18.00"


def test_validate_discounts_only_eligible_categories_and_skus(client: TestClient) -> None:
    code = a_code(client, {"type": "percent", "percent": "50", "categories": ["coffee"], "skus": ["MUG-1"]})
    body = basket("100.00", ("LATTE", "coffee", 2, "15.00"), ("MUG-1", "kitchen", 1, "20.00"), ("PLATE", "kitchen", 1, "50.00"))
    assert validate(client, code, body).json()["discount"] == "25.00"
    none = validate(client, code, basket("50.00", ("PLATE", "kitchen", 1, "50.00"))).json()
    assert (none["valid"], none["discount"], none["reason"]) == (False, "0.00", "no item in the basket is eligible")


def test_validate_below_the_minimum_order_gives_nothing(client: TestClient) -> None:
    code = a_code(client, {**FIXED_10, "min_order": "50.00"})
    below = validate(client, code, basket("49.99")).json()
    assert (below["valid"], below["discount"], below["reason"]) == (False, "0.00", "below the minimum order")
    assert validate(client, code, basket("50.00")).json()["discount"] == "10.00"


def test_validate_in_another_currency_is_422(client: TestClient) -> None:
    code = a_code(client, FIXED_10)
    problem(validate(client, code, basket("100.00", currency="AED")), 422, "/problems/coupon-not-usable", "currency")


def test_validate_after_the_coupon_expired_is_422(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    _, code = member_coupon(client, FIXED_10)
    clock.advance(timedelta(days=29))
    assert validate(client, code, basket("100.00")).json()["valid"] is True
    clock.advance(timedelta(days=1))
    problem(validate(client, code, basket("100.00")), 422, "/problems/coupon-not-usable", "code")
    assert client.get(f"/v1/coupons/{code}").json()["status"] == "expired"
    problem(use(client, code, basket("100.00")), 422, "/problems/coupon-not-usable", "code")


def test_validate_before_a_campaign_starts_is_422(client: TestClient) -> None:
    code = a_code(client, FIXED_10, valid_from=(START + timedelta(days=1)).isoformat())
    problem(validate(client, code, basket("100.00")), 422, "/problems/coupon-not-usable", "code")


def test_validate_another_members_coupon_is_422(client: TestClient) -> None:
    owner, code = member_coupon(client, FIXED_10)
    other = client.post("/v1/members", json={"external_id": "m-2"}).json()["id"]
    problem(validate(client, code, basket("100.00", member_id=other)), 422, "/problems/coupon-not-usable", "member_id")
    problem(use(client, code, basket("100.00", member_id=other)), 422, "/problems/coupon-not-usable", "member_id")
    assert validate(client, code, basket("100.00", member_id=owner)).json()["valid"] is True


def test_validate_unknown_code_is_404(client: TestClient) -> None:
    problem(validate(client, "NOSUCHCODE22", basket("10.00")), 404, "/problems/not-found", "code")
    problem(client.get("/v1/coupons/NOSUCHCODE22"), 404, "/problems/not-found", "code")
    problem(use(client, "NOSUCHCODE22", basket("10.00")), 404, "/problems/not-found", "code")


def test_get_coupon_by_code_ignores_case_spaces_and_dashes(client: TestClient) -> None:
    code = a_code(client, FIXED_10)
    typed = "-".join(code[i : i + 4] for i in range(0, len(code), 4)).lower()
    found = client.get(f"/v1/coupons/{typed}")
    assert (found.status_code, found.json()["code"]) == (200, code)
    assert client.get(f"/v1/coupons/{code[:4]} {code[4:].lower()}").json()["code"] == code
    assert use(client, typed, basket("50.00")).json()["code"] == code


# --- redeem -----------------------------------------------------------------------------------


def test_redeem_single_use_coupon_once_then_409(client: TestClient) -> None:
    member_id, code = member_coupon(client, FIXED_10)
    first = use(client, code, basket("60.00", order_id="O-1", member_id=member_id))
    assert first.status_code == 201, first.text
    body = first.json()
    assert {k: body[k] for k in ("code", "discount", "currency", "order_id", "uses_left", "used_at")} == {
        "code": code, "discount": "10.00", "currency": "SAR", "order_id": "O-1", "uses_left": 0, "used_at": "2026-03-01T09:00:00Z",
    }
    problem(use(client, code, basket("60.00", order_id="O-2")), 409, "/problems/coupon-used", "code")
    problem(validate(client, code, basket("60.00")), 409, "/problems/coupon-used")
    assert client.get(f"/v1/coupons/{code}").json()["status"] == "used"


def test_redeem_again_with_the_same_idempotency_key_replays(client: TestClient) -> None:
    code = a_code(client, FIXED_10, max_uses=5)
    first = use(client, code, basket("60.00"), key="till-1-sale-9")
    again = use(client, code, basket("60.00"), key="till-1-sale-9")
    # As everywhere in the API, a key's replay answers the stored status of the first answer.
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    assert client.get(f"/v1/coupons/{code}").json()["uses"] == 1
    problem(use(client, code, basket("70.00"), key="till-1-sale-9"), 409, "/problems/idempotency-key-reused")


def test_redeem_again_for_the_same_order_replays_with_200(client: TestClient) -> None:
    code = a_code(client, FIXED_10, max_uses=5)
    first = use(client, code, basket("60.00", order_id="O-1"))
    again = use(client, code, basket("60.00", order_id="O-1"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert client.get(f"/v1/coupons/{code}").json()["uses"] == 1
    problem(use(client, code, basket("80.00", order_id="O-1")), 409, "/problems/conflict")


def test_redeem_multi_use_coupon_counts_down_its_uses(client: TestClient) -> None:
    _, code = member_coupon(client, FIXED_10, uses=3)
    assert [use(client, code, basket("60.00", order_id=f"O-{n}")).json()["uses_left"] for n in range(3)] == [2, 1, 0]
    problem(use(client, code, basket("60.00", order_id="O-9")), 409, "/problems/coupon-used")
    coupon = client.get(f"/v1/coupons/{code}").json()
    assert (coupon["uses"], coupon["max_uses"], coupon["status"]) == (3, 3, "used")


def test_redeem_a_basket_the_coupon_gives_nothing_on_is_422(client: TestClient) -> None:
    code = a_code(client, {**FIXED_10, "min_order": "50.00"})
    problem(use(client, code, basket("20.00")), 422, "/problems/coupon-not-usable")
    assert client.get(f"/v1/coupons/{code}").json()["uses"] == 0


# --- campaigns --------------------------------------------------------------------------------


def test_create_campaign_generates_unique_codes_with_the_prefix(client: TestClient) -> None:
    made = campaign(client, {"type": "percent", "percent": "20"}, count=25, prefix="RMD", max_uses=2,
                    valid_until=(START + timedelta(days=30)).isoformat())
    assert {k: made[k] for k in ("name", "codes", "prefix", "max_uses", "used", "valid_until")} == {
        "name": "Ramadan", "codes": 25, "prefix": "RMD", "max_uses": 2, "used": 0, "valid_until": "2026-03-31T09:00:00Z",
    }
    assert made["discount"] == {"type": "percent", "currency": "SAR", "percent": "20"}
    rows = codes_of(client, made["id"])
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes)) == 25
    assert all(code.startswith("RMD") and len(code) == 15 and CODE.fullmatch(code[3:]) for code in codes), codes
    assert rows[0] == {"code": codes[0], "status": "active", "uses": "0", "max_uses": "2", "valid_from": "",
                       "valid_until": "2026-03-31T09:00:00+00:00"}


def test_export_campaign_codes_is_csv_with_a_header(client: TestClient) -> None:
    made = campaign(client, FIXED_10, count=3)
    exported = client.get(f"/v1/coupon-campaigns/{made['id']}/codes")
    assert exported.headers["content-type"].startswith("text/csv")
    assert f"campaign-{made['id']}-codes.csv" in exported.headers["content-disposition"]
    lines = exported.text.strip().splitlines()
    assert lines[0] == "code,status,uses,max_uses,valid_from,valid_until" and len(lines) == 4


def test_campaign_codes_are_redeemable_and_counted(client: TestClient) -> None:
    made = campaign(client, FIXED_10, count=3)
    codes = [row["code"] for row in codes_of(client, made["id"])]
    assert use(client, codes[0], basket("40.00")).status_code == 201
    assert use(client, codes[2], basket("40.00")).status_code == 201
    assert client.get(f"/v1/coupon-campaigns/{made['id']}").json()["used"] == 2
    assert [row["status"] for row in codes_of(client, made["id"])] == ["used", "active", "used"]
    assert client.get(f"/v1/coupons/{codes[1]}").json()["campaign_id"] == made["id"]


def test_create_campaign_bad_input_is_422_and_unknown_is_404(client: TestClient) -> None:
    def refused(field: str, **changes: object) -> None:
        body = {"name": "Ramadan", "discount": FIXED_10, "count": 5, **changes}
        problem(client.post("/v1/coupon-campaigns", json=body), 422, "/problems/invalid-input", field)

    refused("count", count=0)
    refused("prefix", prefix="rmd")
    refused("length", length=6)
    refused("discount.amount", discount={"type": "fixed", "amount": "0"})
    refused("valid_until", valid_from=(START + timedelta(days=2)).isoformat(), valid_until=START.isoformat())
    problem(client.get("/v1/coupon-campaigns/999999"), 404, "/problems/not-found")
    problem(client.get("/v1/coupon-campaigns/999999/codes"), 404, "/problems/not-found")

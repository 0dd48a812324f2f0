"""The reward catalog over HTTP: each kind of reward, changes to it, paging, what is locked for a member
and why, and partner voucher codes as a voucher reward's stock."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import START, make_key, problem


def reward_body(key: str, gives: dict, points: int = 100, **fields: object) -> dict:  # type: ignore[type-arg]
    return {"key": key, "name_en": key.title(), "name_ar": "مكافأة", "points": points, "gives": gives, **fields}


def add(client: TestClient, key: str, gives: dict, points: int = 100, **fields: object) -> dict:  # type: ignore[type-arg]
    made = client.post("/v1/rewards", json=reward_body(key, gives, points, **fields))
    assert made.status_code == 201, made.text
    return made.json()


def enrol(client: TestClient, external_id: str = "m-1", points: int = 0) -> int:
    member_id = client.post("/v1/members", json={"external_id": external_id}).json()["id"]
    if points:
        client.post(f"/v1/members/{member_id}/adjustments", json={"points": points, "reason": "opening balance"})
    return member_id


def for_member(client: TestClient, member_id: int, **params: object) -> dict:  # type: ignore[type-arg]
    listed = client.get("/v1/rewards", params={"member_id": member_id, **params})
    assert listed.status_code == 200, listed.text
    return listed.json()


def locks_of(page: dict, key: str) -> list[dict]:  # type: ignore[type-arg]
    return next(item["locked"] for item in page["items"] if item["key"] == key)


GIFT = {"type": "gift", "sku": "MUG"}


def gold_tier(client: TestClient) -> None:
    """A reward may only name a tier the program has."""
    made = client.post("/v1/tiers", json={"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 1, "threshold": "1000"})
    assert made.status_code == 201, made.text


# --- create -----------------------------------------------------------------------------------


def test_create_coupon_reward_fixed_with_min_order(client: TestClient) -> None:
    body = add(client, "ten-off", {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00", "min_order": "50.00"}}, points=300)
    assert (body["kind"], body["points"], body["currency"], body["stock"], body["status"]) == ("coupon", 300, "SAR", None, "active")
    assert body["gives"] == {
        "type": "coupon", "uses": 1, "valid_days": 30,
        "discount": {"type": "fixed", "currency": "SAR", "amount": "10.00", "min_order": "50.00"},
    }
    assert body["name"] == {"en": "Ten-Off", "ar": "مكافأة"}
    assert client.get(f"/v1/rewards/{body['id']}").json() == body


def test_create_coupon_reward_percent_on_categories_and_skus_with_max_discount(client: TestClient) -> None:
    discount = {"type": "percent", "percent": "15", "max_discount": "25.00", "categories": ["coffee"], "skus": ["MUG-1"]}
    body = add(client, "coffee-15", {"type": "coupon", "discount": discount, "uses": 3, "valid_days": 7})
    assert body["gives"] == {
        "type": "coupon", "uses": 3, "valid_days": 7,
        "discount": {"type": "percent", "currency": "SAR", "percent": "15", "max_discount": "25.00", "categories": ["coffee"],
                     "skus": ["MUG-1"]},
    }


def test_create_free_product_reward(client: TestClient) -> None:
    body = add(client, "free-latte", {"type": "free_product", "sku": "LATTE", "quantity": 2}, points=150)
    assert body["kind"] == "free_product"
    assert body["gives"]["sku"] == "LATTE" and body["gives"]["quantity"] == 2
    assert body["gives"]["discount"] == {"type": "free_product", "currency": "SAR", "sku": "LATTE", "quantity": 2}


def test_create_cashback_reward_at_its_rate(client: TestClient) -> None:
    body = add(client, "cash", {"type": "cashback", "rate": "0.02"}, points=500)
    assert (body["kind"], body["points"], body["gives"]) == ("cashback", 500, {"type": "cashback", "rate": "0.02"})


def test_create_cashback_reward_defaults_to_the_programs_point_cost(client: TestClient) -> None:
    assert client.patch("/v1/program", json={"point_cost": "0.05"}).status_code == 200
    body = add(client, "cash", {"type": "cashback"}, points=500)
    assert body["gives"] == {"type": "cashback", "rate": "0.05"}


def test_create_cashback_reward_without_rate_or_point_cost_is_422(client: TestClient) -> None:
    problem(client.post("/v1/rewards", json=reward_body("cash", {"type": "cashback"})), 422, "/problems/invalid-input", "gives.rate")
    problem(client.post("/v1/rewards", json=reward_body("cash", {"type": "cashback", "rate": "0.01"}, points=0)),
            422, "/problems/invalid-input", "points")
    assert client.get("/v1/rewards").json()["items"] == []


def test_create_gift_voucher_and_privilege_rewards(client: TestClient) -> None:
    gift = add(client, "mug", GIFT, stock=25, money="5.00")
    voucher = add(client, "careem", {"type": "voucher", "partner": "Careem"})
    gold_tier(client)
    lounge = add(client, "lounge", {"type": "privilege", "valid_days": 7}, limit={"count": 1, "period": "month"}, tiers=["Gold"])
    assert (gift["kind"], gift["stock"], gift["money"], gift["gives"]) == ("gift", 25, "5.00", GIFT)
    assert (voucher["kind"], voucher["stock"], voucher["gives"]) == ("voucher", 0, {"type": "voucher", "partner": "Careem"})
    assert (lounge["kind"], lounge["gives"], lounge["limit"], lounge["tiers"]) == (
        "privilege", {"type": "privilege", "valid_days": 7}, {"count": 1, "period": "month"}, ["gold"],
    )


def test_create_reward_with_a_taken_key_is_409(client: TestClient) -> None:
    add(client, "mug", GIFT)
    problem(client.post("/v1/rewards", json=reward_body("mug", {"type": "privilege"})), 409, "/problems/conflict", "key")


def test_create_reward_bad_input_is_422_naming_the_field(client: TestClient) -> None:
    def refused(field: str, **changes: object) -> None:
        problem(client.post("/v1/rewards", json={**reward_body("mug", GIFT), **changes}), 422, "/problems/invalid-input", field)

    refused("key", key="Big Mug")
    refused("points", points=-1)
    refused("money", money="1.005")
    refused("name_en", name_en="")
    refused("image_url", image_url="ftp://x/mug.png")
    refused("gives.type", gives={"type": "spaceship"})
    refused("gives.discount.amount", gives={"type": "coupon", "discount": {"type": "fixed", "amount": "0"}})
    refused("limit.period", limit={"count": 1, "period": "fortnight"})
    refused("surprise", surprise=True)
    assert client.get("/v1/rewards").json()["items"] == []


def test_create_reward_with_bad_gives_names_the_field_as_sent(client: TestClient) -> None:
    # The client wrote gives.discount, gives.rate, gives.partner: the union's tag is not part of the path it sent.
    def refused(field: str, gives: dict) -> None:  # type: ignore[type-arg]
        problem(client.post("/v1/rewards", json=reward_body("r", gives)), 422, "/problems/invalid-input", field)

    refused("gives.discount", {"type": "coupon", "discount": {"type": "fixed"}})
    refused("gives.discount", {"type": "coupon", "discount": {"type": "percent", "percent": "120"}})
    refused("gives.discount.amount", {"type": "coupon", "discount": {"type": "fixed", "amount": "ten"}})
    refused("gives.rate", {"type": "cashback", "rate": "abc"})
    refused("gives.partner", {"type": "voucher"})


def test_create_reward_with_inconsistent_fields_names_them(client: TestClient) -> None:
    # The same mistakes on PATCH name these fields; a create names them too, not the whole body.
    voucher_stock = reward_body("v", {"type": "voucher", "partner": "Careem"}, stock=10)
    problem(client.post("/v1/rewards", json=voucher_stock), 422, "/problems/invalid-input", "stock")
    backwards = reward_body("w", GIFT, valid_from=(START + timedelta(days=2)).isoformat(), valid_until=START.isoformat())
    problem(client.post("/v1/rewards", json=backwards), 422, "/problems/invalid-input", "valid_until")


def test_create_reward_needs_an_admin_key(client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    reader = make_key(factory, tenant.id, ["read"], clock.now())
    refused = client.post("/v1/rewards", json=reward_body("mug", GIFT), headers={"Authorization": f"Bearer {reader}"})
    problem(refused, 403, "/problems/forbidden")


# --- change -----------------------------------------------------------------------------------


def test_patch_reward_cannot_change_its_kind(client: TestClient) -> None:
    made = add(client, "mug", GIFT)
    problem(client.patch(f"/v1/rewards/{made['id']}", json={"gives": {"type": "privilege"}}), 422, "/problems/invalid-input", "gives.type")
    assert client.get(f"/v1/rewards/{made['id']}").json()["kind"] == "gift"


def test_patch_reward_stock_and_unlimited_stock(client: TestClient) -> None:
    made = add(client, "mug", GIFT, stock=5)
    assert client.patch(f"/v1/rewards/{made['id']}", json={"stock": 2}).json()["stock"] == 2
    assert client.patch(f"/v1/rewards/{made['id']}", json={"unlimited_stock": True}).json()["stock"] is None
    assert client.patch(f"/v1/rewards/{made['id']}", json={"stock": 0}).json()["stock"] == 0
    assert client.get(f"/v1/rewards/{made['id']}").json()["stock"] == 0


def test_patch_voucher_reward_stock_is_422(client: TestClient) -> None:
    made = add(client, "careem", {"type": "voucher", "partner": "Careem"})
    problem(client.patch(f"/v1/rewards/{made['id']}", json={"stock": 10}), 422, "/problems/invalid-input", "stock")


def test_patch_reward_status_pauses_it_for_members(client: TestClient) -> None:
    member_id = enrol(client, points=500)
    made = add(client, "mug", GIFT)
    changed = client.patch(f"/v1/rewards/{made['id']}", json={"status": "paused", "points": 200, "name_en": "Blue mug"})
    assert (changed.status_code, changed.json()["status"], changed.json()["points"], changed.json()["name"]["en"]) == (
        200, "paused", 200, "Blue mug",
    )
    assert for_member(client, member_id)["items"] == []
    redeemed = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": made["id"]})
    assert problem(redeemed, 422, "/problems/reward-locked")["locked"] == [{"code": "status", "message": "this reward is paused"}]


def test_patch_coupon_terms_leave_issued_coupons_as_they_were(client: TestClient) -> None:
    member_id = enrol(client, points=1000)
    made = add(client, "off", {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}})
    first = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": made["id"]}).json()
    twenty = {"type": "coupon", "discount": {"type": "fixed", "amount": "20.00"}}
    changed = client.patch(f"/v1/rewards/{made['id']}", json={"gives": twenty})
    assert changed.json()["gives"]["discount"]["amount"] == "20.00"
    second = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": made["id"]}).json()
    assert client.get(f"/v1/coupons/{first['coupon']['code']}").json()["discount"]["amount"] == "10.00"
    assert second["coupon"]["discount"]["amount"] == "20.00"


def test_patch_or_get_unknown_reward_or_member_is_404(client: TestClient) -> None:
    problem(client.patch("/v1/rewards/999999", json={"status": "paused"}), 404, "/problems/not-found")
    problem(client.get("/v1/rewards/999999"), 404, "/problems/not-found")
    problem(client.get("/v1/rewards", params={"member_id": 999999}), 404, "/problems/not-found")


# --- list -------------------------------------------------------------------------------------


def test_list_rewards_pages_with_a_cursor_and_filters_by_status(client: TestClient) -> None:
    keys = ["a", "b", "c", "d", "e"]
    for key in keys:
        add(client, key, GIFT, status="paused" if key in ("b", "d") else "active")
    first = client.get("/v1/rewards", params={"limit": 2}).json()
    second = client.get("/v1/rewards", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = client.get("/v1/rewards", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [[r["key"] for r in page["items"]] for page in (first, second, third)] == [["a", "b"], ["c", "d"], ["e"]]
    assert third["next_cursor"] is None
    assert [r["key"] for r in client.get("/v1/rewards", params={"status": "paused"}).json()["items"]] == ["b", "d"]
    assert all(r["available"] is None and r["locked"] is None for r in first["items"])
    problem(client.get("/v1/rewards", params={"status": "gone"}), 422, "/problems/invalid-input", "query.status")


def test_list_rewards_for_a_member_says_why_each_is_locked(client: TestClient) -> None:
    member_id = enrol(client, points=300)
    add(client, "open", GIFT, points=200)
    add(client, "dear", GIFT, points=500)
    add(client, "gone", GIFT, points=0, stock=0)
    gold_tier(client)
    add(client, "gold", GIFT, points=0, tiers=["Gold"])
    add(client, "soon", GIFT, points=0, valid_from=(START + timedelta(days=2)).isoformat())
    add(client, "vip", GIFT, points=0, segments=["champions"])
    page = for_member(client, member_id)
    assert [(r["key"], r["available"]) for r in page["items"]] == [
        ("open", True), ("dear", False), ("gone", False), ("gold", False), ("soon", False), ("vip", False),
    ]
    assert locks_of(page, "open") == []
    assert locks_of(page, "dear") == [{"code": "points", "message": "you have 300 of 500 points"}]
    assert locks_of(page, "gone") == [{"code": "stock", "message": "out of stock"}]
    # Members have no tier yet, so a tier-limited reward stays locked, saying which tier it needs.
    assert locks_of(page, "gold") == [{"code": "tier", "message": "needs Gold tier"}]
    [soon] = locks_of(page, "soon")
    assert soon["code"] == "not_yet" and soon["message"].startswith("available from 2026-03-03T09:00:00")
    assert locks_of(page, "vip") == [{"code": "segment", "message": "for members in champions"}]


def test_list_rewards_for_a_member_counts_the_limit_per_period(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = enrol(client, points=1000)
    made = add(client, "weekly", GIFT, limit={"count": 1, "period": "week"})
    assert client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": made["id"]}).status_code == 201
    assert locks_of(for_member(client, member_id), "weekly") == [{"code": "limit", "message": "limit reached: 1 a week"}]
    other = enrol(client, "m-2", points=1000)
    assert locks_of(for_member(client, other), "weekly") == []
    clock.advance(timedelta(days=7))
    assert locks_of(for_member(client, member_id), "weekly") == []


def test_list_rewards_for_a_suspended_member_is_locked(client: TestClient) -> None:
    member_id = enrol(client, points=1000)
    add(client, "mug", GIFT)
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "fraud check"})
    assert locks_of(for_member(client, member_id), "mug") == [{"code": "member", "message": "the member is suspended"}]


def test_list_rewards_for_a_member_in_debt_is_locked(client: TestClient) -> None:
    member_id = enrol(client)
    spend = add(client, "spend", GIFT, points=100)
    add(client, "free", GIFT, points=0)
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "O-1", "amount": "100.00",
                                    "currency": "SAR"})
    assert client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": spend["id"]}).status_code == 201
    client.post("/v1/events", json={"type": "return", "order_id": "O-1"})
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == -100
    assert locks_of(for_member(client, member_id), "free") == [{"code": "debt", "message": "the member owes 100 points"}]


def test_list_rewards_only_available_pages_past_locked_ones(client: TestClient) -> None:
    member_id = enrol(client, points=100)
    for index in range(7):
        add(client, f"r{index}", GIFT, points=100 if index % 2 == 0 else 1000)
    first = for_member(client, member_id, only_available="true", limit=2)
    second = for_member(client, member_id, only_available="true", limit=2, cursor=first["next_cursor"])
    assert [r["key"] for r in first["items"]] == ["r0", "r2"]
    assert [r["key"] for r in second["items"]] == ["r4", "r6"]
    assert second["next_cursor"] is None
    assert all(r["available"] and r["locked"] == [] for r in first["items"] + second["items"])
    assert len(for_member(client, member_id)["items"]) == 7


def test_list_rewards_for_a_member_hides_ended_and_inactive_rewards(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = enrol(client, points=1000)
    add(client, "short", GIFT, valid_until=(START + timedelta(days=1)).isoformat())
    add(client, "draft", GIFT, status="draft")
    add(client, "always", GIFT)
    assert [r["key"] for r in for_member(client, member_id)["items"]] == ["short", "always"]
    clock.advance(timedelta(days=1))
    assert [r["key"] for r in for_member(client, member_id)["items"]] == ["always"]
    assert [r["key"] for r in client.get("/v1/rewards").json()["items"]] == ["short", "draft", "always"]


# --- partner vouchers -------------------------------------------------------------------------


def test_upload_vouchers_counts_duplicates_and_sets_the_stock(client: TestClient) -> None:
    made = add(client, "careem", {"type": "voucher", "partner": "Careem"})
    first = client.post(f"/v1/rewards/{made['id']}/vouchers", json={"codes": ["CAR-1", "CAR-2", "CAR-1", " CAR-3 "]})
    assert (first.status_code, first.json()) == (200, {"imported": 3, "duplicates": 1, "available": 3})
    again = client.post(f"/v1/rewards/{made['id']}/vouchers", json={"codes": ["CAR-2", "CAR-4"]}).json()
    assert again == {"imported": 1, "duplicates": 1, "available": 4}
    assert client.get(f"/v1/rewards/{made['id']}").json()["stock"] == 4


def test_upload_vouchers_to_a_reward_of_another_kind_or_blank_is_422(client: TestClient) -> None:
    gift = add(client, "mug", GIFT)
    voucher = add(client, "careem", {"type": "voucher", "partner": "Careem"})
    problem(client.post(f"/v1/rewards/{gift['id']}/vouchers", json={"codes": ["X-1"]}), 422, "/problems/invalid-input", "reward_id")
    problem(client.post(f"/v1/rewards/{voucher['id']}/vouchers", json={"codes": ["X-1", "  "]}), 422, "/problems/invalid-input", "codes")
    problem(client.post(f"/v1/rewards/{voucher['id']}/vouchers", json={"codes": []}), 422, "/problems/invalid-input", "codes")
    problem(client.post("/v1/rewards/999999/vouchers", json={"codes": ["X-1"]}), 404, "/problems/not-found")
    assert client.get(f"/v1/rewards/{voucher['id']}").json()["stock"] == 0


def test_voucher_stock_falls_as_codes_are_handed_out(client: TestClient) -> None:
    member_id = enrol(client, points=1000)
    made = add(client, "careem", {"type": "voucher", "partner": "Careem"})
    client.post(f"/v1/rewards/{made['id']}/vouchers", json={"codes": ["CAR-1", "CAR-2"]})
    client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": made["id"]})
    assert client.get(f"/v1/rewards/{made['id']}").json()["stock"] == 1
    client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": made["id"]})
    assert locks_of(for_member(client, member_id), "careem") == [{"code": "stock", "message": "out of stock"}]

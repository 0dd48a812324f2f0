"""Rules on real events over HTTP: awards with their rule version in history, cashback into the
wallet, caps and budgets, exact reversal on returns, and what each response says."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import make_tenant

SUNDAY = "2026-03-01T09:00:00Z"  # the test clock's now
FRIDAY = "2026-02-27T12:00:00Z"


def rule(client: TestClient, **definition: object) -> dict:
    body = {"name_en": "Rule", "name_ar": "قاعدة", "trigger": "purchase", "status": "active", **definition}
    made = client.post("/v1/rules", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def enrol(client: TestClient, external_id: str = "m-1", **fields: object) -> int:
    made = client.post("/v1/members", json={"external_id": external_id, **fields})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def buy(client: TestClient, order_id: str, amount: str, member: str = "m-1", **extra: object):  # type: ignore[no-untyped-def]
    body = {"type": "purchase", "member": {"external_id": member}, "order_id": order_id, "amount": amount, "currency": "SAR", **extra}
    return client.post("/v1/events", json=body)


def give_back(client: TestClient, order_id: str, **extra: object):  # type: ignore[no-untyped-def]
    return client.post("/v1/events", json={"type": "return", "order_id": order_id, **extra})


def balance(client: TestClient, member_id: int) -> int:
    return client.get(f"/v1/members/{member_id}/balance").json()["available"]


def test_purchase_applies_rule_and_history_names_rule_and_version(client: TestClient) -> None:
    member_id = enrol(client)
    made = rule(client, name_en="Weekend x2", actions=[{"type": "multiplier", "factor": "2"}], window={"days_of_week": [4, 5]})
    response = buy(client, "O-1", "120.00", occurred_at=FRIDAY)
    assert response.status_code == 201
    body = response.json()
    # One entry and one lot carry the base and the rules' points; its reason names each rule and version.
    assert (body["award"]["points"], body["total_points"]) == (240, 240)
    assert [(r["rule_id"], r["version"], r["points"]) for r in body["rules"]] == [(made["id"], 1, 120)]
    assert body["rules"][0]["line"] == "+120 points, rule 'Weekend x2' v1"
    history = client.get(f"/v1/members/{member_id}/entries").json()["items"]
    assert history[0]["reason"] == "purchase O-1: 120.00 SAR (+120 points, rule 'Weekend x2' v1)"
    assert history[0]["points"] == 240 and history[0]["details"]["base_points"] == 120
    assert [(r["rule_id"], r["version"], r["points"]) for r in history[0]["details"]["rules"]] == [(made["id"], 1, 120)]
    assert balance(client, member_id) == 240
    # On a Sunday the window is shut: base points only.
    assert buy(client, "O-2", "10.00").json()["total_points"] == 10
    # GET of the event tells the same story as the first answer.
    assert client.get(f"/v1/events/{body['event_id']}").json()["rules"] == body["rules"]


def test_editing_a_rule_changes_new_awards_only(client: TestClient) -> None:
    member_id = enrol(client)
    made = rule(client, name_en="Bonus", actions=[{"type": "fixed_points", "points": 10}])
    assert buy(client, "O-1", "1.00").json()["rules"][0]["line"] == "+10 points, rule 'Bonus' v1"
    definition = dict(made["definition"])
    definition["actions"] = [{"type": "fixed_points", "points": 30}]
    assert client.put(f"/v1/rules/{made['id']}", json=definition).json()["version"] == 2
    assert buy(client, "O-2", "1.00").json()["rules"][0]["line"] == "+30 points, rule 'Bonus' v2"
    reasons = [e["reason"] for e in client.get(f"/v1/members/{member_id}/entries").json()["items"]]
    assert "purchase O-1: 1.00 SAR (+10 points, rule 'Bonus' v1)" in reasons
    assert "purchase O-2: 1.00 SAR (+30 points, rule 'Bonus' v2)" in reasons
    # Returning the first order takes back what version 1 gave, not what version 2 would.
    back = give_back(client, "O-1").json()
    assert back["reversal"]["rules"][0]["points"] == 10 and back["reversal"]["rules"][0]["version"] == 1
    assert balance(client, member_id) == 1 + 30


def test_paused_rule_awards_nothing(client: TestClient) -> None:
    enrol(client)
    made = rule(client, actions=[{"type": "fixed_points", "points": 10}])
    client.post(f"/v1/rules/{made['id']}/status", json={"status": "paused"})
    assert buy(client, "O-1", "5.00").json()["rules"] == []


def test_cashback_goes_to_the_wallet_pending_then_available(factory, clock) -> None:  # type: ignore[no-untyped-def]
    from wafa.api.app import create_app
    from wafa.jobs.service import run_due

    tenant = make_tenant(factory, clock.now(), pending_days=14)
    with TestClient(create_app(factory=factory, clock=clock), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
        member_id = enrol(client)
        rule(client, name_en="App cashback", conditions=[{"type": "channel", "any_of": ["app"]}],
             actions=[{"type": "cashback", "percent": "5"}])
        body = buy(client, "O-1", "99.90", channel="app").json()
        assert body["rules"][0]["cashback"] == "4.99" and body["rules"][0]["points"] == 0
        assert body["rules"][0]["line"] == "+4.99 SAR cashback, rule 'App cashback' v1"
        assert buy(client, "O-2", "50.00", channel="store").json()["rules"] == []
        wallet = client.get(f"/v1/members/{member_id}/wallet").json()
        assert wallet["currencies"] == [{"currency": "SAR", "available": "0.00", "pending": "4.99"}]
        clock.advance(timedelta(days=15))
        report = run_due(factory, now=clock.now(), tenant_id=tenant.id)
        assert report.released_cashback == 499
        assert client.get(f"/v1/members/{member_id}/wallet").json()["currencies"][0]["available"] == "4.99"
        # A second pass moves nothing more.
        assert run_due(factory, now=clock.now(), tenant_id=tenant.id).released_cashback == 0
        # Returning half the order takes back half the cashback, from the available wallet now.
        back = give_back(client, "O-1", amount="49.95").json()
        assert back["reversal"]["rules"][0]["cashback"] == "2.50"
        assert client.get(f"/v1/members/{member_id}/wallet").json()["currencies"][0]["available"] == "2.49"


def test_return_before_release_takes_cashback_from_pending(factory, clock) -> None:  # type: ignore[no-untyped-def]
    from wafa.api.app import create_app
    from wafa.jobs.service import run_due

    tenant = make_tenant(factory, clock.now(), pending_days=14)
    with TestClient(create_app(factory=factory, clock=clock), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {tenant.admin_key}"
        member_id = enrol(client)
        rule(client, actions=[{"type": "cashback", "percent": "10"}])
        buy(client, "O-1", "100.00")
        give_back(client, "O-1", amount="40.00")
        assert client.get(f"/v1/members/{member_id}/wallet").json()["currencies"][0]["pending"] == "6.00"
        clock.advance(timedelta(days=15))
        assert run_due(factory, now=clock.now(), tenant_id=tenant.id).released_cashback == 600
        assert client.get(f"/v1/members/{member_id}/wallet").json()["currencies"][0] == {
            "currency": "SAR", "available": "6.00", "pending": "0.00",
        }


def test_item_return_reverses_only_the_returned_items_bonus(client: TestClient) -> None:
    member_id = enrol(client)
    rule(client, name_en="Coffee x3", actions=[{"type": "points_per_unit", "points": "2", "match": {"categories": ["coffee"]}}])
    items = [
        {"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": "20.00"},
        {"sku": "MUG", "category": "kitchen", "quantity": 1, "unit_price": "60.00"},
    ]
    body = buy(client, "O-1", "100.00", items=items).json()
    assert (body["award"]["points"], body["rules"][0]["points"]) == (180, 80)
    mug = give_back(client, "O-1", items=[{"sku": "MUG", "quantity": 1}]).json()
    assert mug["reversal"]["points"] == 60 and mug["reversal"]["rules"] == []
    latte = give_back(client, "O-1", items=[{"sku": "LATTE", "quantity": 1}]).json()
    assert latte["reversal"]["points"] == 20 and latte["reversal"]["rules"][0]["points"] == 40
    assert latte["reversal"]["total_points"] == 60
    assert balance(client, member_id) == 20 + 40


def test_threshold_bonus_goes_when_the_kept_order_falls_below_it(client: TestClient) -> None:
    member_id = enrol(client)
    rule(client, name_en="Big basket", conditions=[{"type": "order_amount", "at_least": "100.00"}],
         actions=[{"type": "fixed_points", "points": 50}])
    assert buy(client, "O-1", "150.00").json()["total_points"] == 200
    first = give_back(client, "O-1", amount="40.00").json()  # 110 kept: the bonus stays
    assert first["reversal"]["rules"] == []
    second = give_back(client, "O-1", amount="20.00").json()  # 90 kept: the bonus goes
    assert second["reversal"]["rules"][0]["points"] == 50
    assert balance(client, member_id) == 90


def test_full_return_restores_the_balance_before_the_purchase(client: TestClient) -> None:
    member_id = enrol(client)
    rule(client, actions=[{"type": "multiplier", "factor": "1.5"}, {"type": "cashback", "percent": "3"}])
    rule(client, actions=[{"type": "points_per_quantity", "points": 7}, {"type": "stamps", "card": "coffee", "per_item": True}])
    buy(client, "O-0", "33.00")
    before = (balance(client, member_id), client.get(f"/v1/members/{member_id}/wallet").json())
    items = [{"sku": "A", "quantity": 3, "unit_price": "10.00"}, {"sku": "B", "quantity": 1, "unit_price": "17.00"}]
    body = buy(client, "O-1", "47.00", items=items).json()
    assert body["total_points"] == 47 + 23 + 28 and body["rules"][1]["stamps"] == {"coffee": 4}
    give_back(client, "O-1", items=[{"sku": "A", "quantity": 1}])
    give_back(client, "O-1", amount="5.00")
    last = give_back(client, "O-1").json()
    assert last["reversal"]["rules"][1]["stamps"]
    assert (balance(client, member_id), client.get(f"/v1/members/{member_id}/wallet").json()) == before


def test_per_member_daily_cap_and_return_gives_room_back(client: TestClient) -> None:
    enrol(client)
    rule(client, name_en="Capped", actions=[{"type": "points_per_unit", "points": "1"}], caps={"per_member_day": 150})
    assert buy(client, "O-1", "100.00").json()["rules"][0]["points"] == 100
    second = buy(client, "O-2", "100.00").json()["rules"][0]
    assert (second["points"], second["capped_by"]) == (50, "per_member_day")
    assert buy(client, "O-3", "100.00").json()["rules"] == []
    give_back(client, "O-1")
    assert buy(client, "O-4", "100.00").json()["rules"][0]["points"] == 100
    # Another member has a cap of their own.
    enrol(client, "m-2")
    assert buy(client, "O-5", "100.00", member="m-2").json()["rules"][0]["points"] == 100


def test_daily_cap_resets_on_the_programs_next_day(client: TestClient) -> None:
    client.patch("/v1/program", json={"timezone": "Asia/Riyadh"})
    enrol(client)
    rule(client, actions=[{"type": "fixed_points", "points": 10}], caps={"per_member_day": 10})
    # 20:59 and 21:01 UTC are either side of midnight in Riyadh (UTC+3).
    assert buy(client, "O-1", "1.00", occurred_at="2026-02-28T20:59:00Z").json()["rules"][0]["points"] == 10
    assert buy(client, "O-2", "1.00", occurred_at="2026-02-28T20:59:30Z").json()["rules"] == []
    assert buy(client, "O-3", "1.00", occurred_at="2026-02-28T21:01:00Z").json()["rules"][0]["points"] == 10


def test_rule_budget_is_shared_by_all_members_and_refilled_by_returns(client: TestClient) -> None:
    enrol(client, "a")
    enrol(client, "b")
    rule(client, actions=[{"type": "fixed_points", "points": 100}], caps={"budget_points": 250})
    assert buy(client, "O-1", "1.00", member="a").json()["rules"][0]["points"] == 100
    assert buy(client, "O-2", "1.00", member="b").json()["rules"][0]["points"] == 100
    third = buy(client, "O-3", "1.00", member="a").json()["rules"][0]
    assert (third["points"], third["capped_by"]) == (50, "budget_points")
    assert buy(client, "O-4", "1.00", member="b").json()["rules"] == []
    give_back(client, "O-2")
    assert buy(client, "O-5", "1.00", member="b").json()["rules"][0]["points"] == 100


def test_money_budget_caps_cashback(client: TestClient) -> None:
    enrol(client)
    rule(client, actions=[{"type": "cashback", "percent": "10"}], caps={"budget_money": "15.00"})
    assert buy(client, "O-1", "100.00").json()["rules"][0]["cashback"] == "10.00"
    second = buy(client, "O-2", "100.00").json()["rules"][0]
    assert (second["cashback"], second["capped_by"]) == ("5.00", "budget_money")


def test_discounted_lines_earn_nothing_unless_a_rule_says_so(client: TestClient) -> None:
    enrol(client)
    items = [
        {"sku": "A", "quantity": 1, "unit_price": "80.00"},
        {"sku": "FREE", "quantity": 1, "unit_price": "20.00", "earns": False},
    ]
    assert buy(client, "O-1", "100.00", items=items).json()["total_points"] == 80
    rule(client, actions=[{"type": "points_per_quantity", "points": 5, "match": {"skus": ["FREE"], "include_non_earning": True}}])
    assert buy(client, "O-2", "100.00", items=items).json()["rules"][0]["points"] == 5


def test_exclusive_rule_beats_lower_priorities(client: TestClient) -> None:
    enrol(client)
    rule(client, name_en="Low", actions=[{"type": "fixed_points", "points": 5}], priority=0)
    rule(client, name_en="Exclusive small", actions=[{"type": "fixed_points", "points": 20}], priority=5, stackable=False)
    rule(client, name_en="Exclusive big", actions=[{"type": "fixed_points", "points": 30}], priority=5, stackable=False)
    body = buy(client, "O-1", "1.00").json()
    assert [r["name"]["en"] for r in body["rules"]] == ["Exclusive big"]


def test_first_purchase_and_coupon_conditions(client: TestClient) -> None:
    enrol(client)
    rule(client, name_en="First", conditions=[{"type": "nth_purchase", "n": 1}], actions=[{"type": "fixed_points", "points": 100}])
    rule(client, name_en="Coupon", conditions=[{"type": "coupon", "codes": ["RAMADAN"]}], actions=[{"type": "fixed_points", "points": 7}])
    first = buy(client, "O-1", "1.00", coupons=["RAMADAN"]).json()
    assert [r["name"]["en"] for r in first["rules"]] == ["First", "Coupon"]
    assert buy(client, "O-2", "1.00").json()["rules"] == []


def test_member_city_and_age_band_conditions(client: TestClient) -> None:
    enrol(client, "riyadh", city="Riyadh", birth_date="2000-05-01")
    enrol(client, "jeddah", city="Jeddah")
    rule(client, conditions=[{"type": "member_attribute", "attribute": "city", "any_of": ["Riyadh"]},
                             {"type": "member_attribute", "attribute": "age_band", "any_of": ["25_34"]}],
         actions=[{"type": "fixed_points", "points": 9}])
    assert buy(client, "O-1", "1.00", member="riyadh").json()["total_points"] == 10
    assert buy(client, "O-2", "1.00", member="jeddah").json()["total_points"] == 1


def test_simulate_reads_the_members_caps(client: TestClient) -> None:
    enrol(client)
    rule(client, actions=[{"type": "fixed_points", "points": 10}], caps={"per_member_lifetime": 15})
    buy(client, "O-1", "1.00")
    simulated = client.post("/v1/events:simulate", json={
        "type": "purchase", "member": {"external_id": "m-1"}, "order_id": "X", "amount": "1.00", "currency": "SAR",
    }).json()
    assert simulated["awards"][0]["points"] == 5 and simulated["awards"][0]["capped_by"] == "per_member_lifetime"
    # Simulating wrote nothing: the real purchase gets the same.
    assert buy(client, "O-2", "1.00").json()["rules"][0]["points"] == 5


def test_a_rolled_back_first_cashback_leaves_no_stale_wallet(client: TestClient) -> None:
    enrol(client, "a")
    b = enrol(client, "b")
    rule(client, actions=[{"type": "cashback", "percent": "10"}])
    assert buy(client, "K-1", "10.00", member="a", ).status_code == 201
    headers = {"Idempotency-Key": "same"}
    assert client.post("/v1/events", json={"type": "purchase", "member": {"external_id": "a"}, "order_id": "K-2", "amount": "1.00",
                                           "currency": "SAR"}, headers=headers).status_code == 201
    # b's first cashback opens b's wallet, then the reused key rolls it all back (409).
    reused = client.post("/v1/events", json={"type": "purchase", "member": {"external_id": "b"}, "order_id": "K-3",
                                             "amount": "500.00", "currency": "SAR"}, headers=headers)
    assert reused.status_code == 409
    assert buy(client, "K-4", "100.00", member="b").status_code == 201
    assert client.get(f"/v1/members/{b}/wallet").json()["currencies"] == [{"currency": "SAR", "available": "10.00", "pending": "0.00"}]


def test_rules_that_would_divide_by_zero_or_overpay_are_422(client: TestClient) -> None:
    body = {"name_en": "x", "name_ar": "x", "trigger": "purchase"}
    per_zero = client.post("/v1/rules", json={**body, "actions": [{"type": "points_per_unit", "points": "1", "per": "0"}]})
    assert per_zero.status_code == 422 and per_zero.json()["errors"][0]["field"].startswith("actions[0]")
    overpay = client.post("/v1/rules", json={**body, "actions": [{"type": "cashback", "percent": "100.5"}]})
    assert overpay.status_code == 422


def test_return_rules_show_in_replays_and_reads(client: TestClient) -> None:
    enrol(client)
    rule(client, trigger="return", name_en="Goodwill", conditions=[{"type": "store", "any_of": ["RUH-01"]}],
         actions=[{"type": "fixed_points", "points": 7}])
    buy(client, "O-1", "50.00")
    first = give_back(client, "O-1", amount="10.00", return_id="r-1", store="RUH-01")
    assert first.json()["rules"][0]["points"] == 7 and first.json()["total_points"] == 7
    again = give_back(client, "O-1", amount="10.00", return_id="r-1", store="RUH-01")
    assert again.status_code == 200 and again.json()["rules"] == first.json()["rules"]
    assert client.get(f"/v1/events/{first.json()['event_id']}").json()["rules"] == first.json()["rules"]


def test_simulate_for_a_suspended_member_awards_nothing(client: TestClient) -> None:
    member_id = enrol(client)
    rule(client, actions=[{"type": "fixed_points", "points": 10}])
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "x"})
    simulated = client.post("/v1/events:simulate", json={
        "type": "purchase", "member": {"external_id": "m-1"}, "order_id": "X", "amount": "1.00", "currency": "SAR",
    }).json()
    assert simulated["awards"] == [] and "suspended" in simulated["note"]


def test_occurred_at_out_of_range_is_422(client: TestClient) -> None:
    enrol(client)
    refused = buy(client, "O-1", "1.00", occurred_at="0001-01-01T00:30:00+01:00")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "occurred_at"


def test_stamps_and_rule_rewards_are_counted_per_member(client: TestClient) -> None:
    member_id = enrol(client)
    rule(client, actions=[{"type": "stamps", "card": "coffee", "per_item": True, "match": {"categories": ["coffee"]}},
                          {"type": "issue_reward", "reward": "free-cookie"}])
    coffee = [{"sku": "LATTE", "category": "coffee", "quantity": 3, "unit_price": "10.00"}]
    buy(client, "O-1", "30.00", items=coffee)
    buy(client, "O-2", "30.00", items=coffee)
    give_back(client, "O-2", items=[{"sku": "LATTE", "quantity": 1}])
    assert client.get(f"/v1/members/{member_id}/stamps").json() == {
        "member_id": member_id, "stamps": {"coffee": 5}, "rewards": {"free-cookie": 2},
    }
    give_back(client, "O-1")
    assert client.get(f"/v1/members/{member_id}/stamps").json()["rewards"] == {"free-cookie": 1}
    assert client.get("/v1/members/999999/stamps").status_code == 404


def test_returning_a_line_that_earned_nothing_takes_no_points(client: TestClient) -> None:
    member_id = enrol(client)
    items = [{"sku": "LATTE", "quantity": 1, "unit_price": "100.00"},
             {"sku": "GIFT", "quantity": 1, "unit_price": "100.00", "earns": False}]
    assert buy(client, "O-1", "200.00", items=items).json()["total_points"] == 100
    gift = give_back(client, "O-1", items=[{"sku": "GIFT", "quantity": 1}]).json()
    assert gift["reversal"]["points"] == 0 and balance(client, member_id) == 100
    latte = give_back(client, "O-1", items=[{"sku": "LATTE", "quantity": 1}]).json()
    assert latte["reversal"]["points"] == 100 and balance(client, member_id) == 0


def test_two_stamp_actions_on_one_card_add_up(client: TestClient) -> None:
    member_id = enrol(client)
    rule(client, actions=[{"type": "stamps", "card": "C", "count": 1}, {"type": "stamps", "card": "C", "count": 2}])
    assert buy(client, "O-1", "1.00").json()["rules"][0]["stamps"] == {"C": 3}
    assert client.get(f"/v1/members/{member_id}/stamps").json()["stamps"] == {"C": 3}


def test_idempotency_key_replay_of_an_order_id_replay_keeps_its_200(client: TestClient) -> None:
    enrol(client)
    assert buy(client, "O-1", "5.00").status_code == 201
    first = client.post("/v1/events", json={"type": "purchase", "member": {"external_id": "m-1"}, "order_id": "O-1",
                                            "amount": "5.00", "currency": "SAR"}, headers={"Idempotency-Key": "K"})
    again = client.post("/v1/events", json={"type": "purchase", "member": {"external_id": "m-1"}, "order_id": "O-1",
                                            "amount": "5.00", "currency": "SAR"}, headers={"Idempotency-Key": "K"})
    assert (first.status_code, again.status_code) == (200, 200)


def test_events_before_1970_are_422(client: TestClient) -> None:
    enrol(client)
    refused = buy(client, "O-1", "1.00", occurred_at="0001-01-03T00:00:00Z")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "occurred_at"

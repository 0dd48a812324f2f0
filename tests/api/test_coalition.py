"""A coalition over HTTP: partners and their terms, partner keys, earning at one partner and spending
at another with the money each movement creates, returns, exchanges of a partner's own points, and
closing a period into statements that sum to zero."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from tests.conftest import problem

CAFE = {"key": "cafe", "name": "Qahwa Café", "name_ar": "مقهى قهوة", "currency": "SAR", "earn_rate": "2", "issue_price": "0.05",
        "redeem_value": "0.04", "issue_fee": "0.1", "redeem_fee": "0.05"}
PHARMACY = {"key": "pharmacy", "name": "Shifa Pharmacy", "currency": "SAR", "earn_rate": "1", "issue_price": "0.06",
            "redeem_value": "0.05", "own_points_name": "Shifa stars", "own_points_rate": 10}


def coalition(client: TestClient, policy: str = "operator") -> dict[str, dict]:
    """A coalition with a café (store RUH-CAFE-1) and a pharmacy, and a key for each."""
    assert client.put("/v1/coalition", json={"breakage_policy": policy}).status_code == 200
    out = {}
    for body in (CAFE, PHARMACY):
        partner = client.post("/v1/partners", json=body)
        assert partner.status_code == 201, partner.text
        key = client.post(f"/v1/partners/{partner.json()['id']}/keys", json={"name": f"{body['key']} tills"})
        assert key.status_code == 201, key.text
        out[body["key"]] = {**partner.json(), "secret": key.json()["secret"]}
    assert client.post(f"/v1/partners/{out['cafe']['id']}/stores", json={"code": "RUH-CAFE-1", "name": "Olaya"}).status_code == 201
    return out


def as_partner(client: TestClient, partner: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {partner['secret']}"}


def enrol(client: TestClient, partner: dict | None = None, external_id: str = "m-1") -> int:
    headers = as_partner(client, partner) if partner else {}
    response = client.post("/v1/members", json={"external_id": external_id}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def buy(client: TestClient, member_id: int, order: str, amount: str, at: dict | None = None, **extra: object):  # type: ignore[no-untyped-def]
    """A purchase, with the key of the partner `at` (None: the operator's key)."""
    headers = as_partner(client, at) if at else {}
    return client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": order, "amount": amount,
                                           "currency": "SAR", **extra}, headers=headers)


def test_put_coalition_and_partners_with_their_terms(client: TestClient) -> None:
    partners = coalition(client)
    assert client.get("/v1/coalition").json()["partners"] == 2
    listed = client.get("/v1/partners").json()["items"]
    assert [p["key"] for p in listed] == ["cafe", "pharmacy"]
    assert listed[0]["stores"] == [{"code": "RUH-CAFE-1", "name": "Olaya", "city": None}]
    changed = client.patch(f"/v1/partners/{partners['cafe']['id']}", json={"earn_rate": "3"})
    assert changed.status_code == 200 and changed.json()["earn_rate"] == "3"


def test_partner_terms_are_checked(client: TestClient) -> None:
    problem(client.post("/v1/partners", json=CAFE), 404, "/problems/not-found")  # not a coalition yet
    coalition(client)
    problem(client.post("/v1/partners", json=CAFE), 409, "/problems/conflict", "key")
    problem(client.post("/v1/partners", json={**CAFE, "key": "x", "issue_fee": "1.5"}), 422, "/problems/invalid-input", "issue_fee")
    problem(client.post("/v1/partners", json={**CAFE, "key": "x", "currency": "ZZZ"}), 422, "/problems/invalid-input", "currency")
    problem(client.post("/v1/partners", json={**CAFE, "key": "Bad Key"}), 422, "/problems/invalid-input", "key")
    problem(client.post("/v1/partners", json={**CAFE, "key": "x", "own_points_name": "stars"}), 422, "/problems/invalid-input")


def test_earning_at_a_partner_uses_its_rate_and_names_it(client: TestClient) -> None:
    partners = coalition(client)
    member_id = enrol(client, partners["cafe"])
    assert client.get(f"/v1/members/{member_id}").json()["partner_id"] == partners["cafe"]["id"]
    bought = buy(client, member_id, "1001", "100.00", partners["cafe"])
    assert bought.status_code == 201, bought.text
    assert bought.json()["order_id"] == "cafe:1001" and bought.json()["total_points"] == 200
    entry = client.get(f"/v1/members/{member_id}/entries").json()["items"][0]
    # 200 points at 0.05 SAR: the café owes 10.00 SAR, of which the operator's 10% commission is 1.00.
    assert entry["details"]["coalition"] == {"partner_id": partners["cafe"]["id"], "breakage": "operator", "points_charged": 200,
                                             "issue_price": "0.05", "currency": "SAR"}
    # The same order number at the pharmacy is another order.
    assert buy(client, member_id, "1001", "10.00", partners["pharmacy"]).json()["order_id"] == "pharmacy:1001"
    # An operator key names the partner, or a store of the partner's.
    assert buy(client, member_id, "1002", "10.00", partner_key="cafe").status_code == 422  # an unknown field
    assert buy(client, member_id, "1002", "10.00", None, partner="cafe").json()["order_id"] == "cafe:1002"
    assert buy(client, member_id, "1003", "10.00", None, store="RUH-CAFE-1").json()["order_id"] == "cafe:1003"


def test_a_partner_key_cannot_speak_for_another_partner(client: TestClient) -> None:
    partners = coalition(client)
    member_id = enrol(client)
    problem(buy(client, member_id, "1", "10.00", partners["pharmacy"], partner="cafe"), 403, "/problems/forbidden")
    problem(buy(client, member_id, "1", "10.00", partners["pharmacy"], store="RUH-CAFE-1"), 403, "/problems/forbidden")
    problem(buy(client, member_id, "1", "10.00", None, partner="nobody"), 422, "/problems/invalid-input", "partner")


def test_spending_at_another_partner_pays_it_and_statements_sum_to_zero(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    member_id = enrol(client, partners["cafe"])
    buy(client, member_id, "1", "100.00", partners["cafe"])  # 200 points
    spent = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 150, "reason": "till"},
                        headers=as_partner(client, partners["pharmacy"]))
    assert spent.status_code == 201, spent.text
    clock.advance(timedelta(days=40))
    period = clock.now().strftime("%Y-%m")
    early = client.post("/v1/coalition/settlements", json={"period": period})
    problem(early, 409, "/problems/conflict", "period")  # this month has not ended
    last = (clock.now().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    closed = client.post("/v1/coalition/settlements", json={"period": last})
    assert closed.status_code == 201, closed.text
    statements = {s["party"]: s for s in closed.json()["statements"]}
    cafe = statements[f"partner:{partners['cafe']['id']}"]
    pharmacy = statements[f"partner:{partners['pharmacy']['id']}"]
    # The café pays 200 x 0.05 = 10.00; the pharmacy is paid 150 x 0.05 = 7.50 (redeem_value 0.05), no commission.
    assert (cafe["net"], cafe["points_issued"]) == ("-10.00", 200)
    assert (pharmacy["net"], pharmacy["points_redeemed"]) == ("7.50", 150)
    total = sum(Decimal(s["net"]) for s in closed.json()["statements"])
    assert total == 0
    again = client.post("/v1/coalition/settlements", json={"period": last})
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["statements"] == closed.json()["statements"]


@pytest.mark.parametrize("fmt", ["csv", "pdf"])
def test_a_statement_exports_as_csv_and_pdf(client: TestClient, clock, fmt: str) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    member_id = enrol(client)
    buy(client, member_id, "1", "100.00", partners["cafe"])
    clock.advance(timedelta(days=40))
    last = (clock.now().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    client.post("/v1/coalition/settlements", json={"period": last})
    statement = client.get(f"/v1/partners/{partners['cafe']['id']}/statements").json()["items"][0]
    got = client.get(f"/v1/statements/{statement['id']}.{fmt}", headers=as_partner(client, partners["cafe"]))
    assert got.status_code == 200, got.text
    if fmt == "csv":
        assert "net,positive: the operator pays the partner,,-10.00" in got.text
    else:
        assert got.content.startswith(b"%PDF")
    problem(client.get(f"/v1/statements/{statement['id']}.{fmt}", headers=as_partner(client, partners["pharmacy"])), 404, "/problems/not-found")


def close_month(client: TestClient, clock) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """Close the month the clock is in (moving the clock into the next one); the statements by party,
    each with its lines by code."""
    period = clock.now().strftime("%Y-%m")
    clock.advance(timedelta(days=32))
    closed = client.post("/v1/coalition/settlements", json={"period": period})
    assert closed.status_code == 201, closed.text
    assert sum(Decimal(s["net"]) for s in closed.json()["statements"]) == 0
    return {s["party"]: {**s, "lines": {line["code"]: line for line in s["lines"]}} for s in closed.json()["statements"]}


def test_a_return_at_the_partner_gives_back_the_same_share_of_its_money(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    member_id = enrol(client)
    buy(client, member_id, "7", "100.00", partners["cafe"])  # 200 points: the café owes 10.00
    back = client.post("/v1/events", json={"type": "return", "order_id": "7", "amount": "25.00"}, headers=as_partner(client, partners["cafe"]))
    assert back.status_code == 201, back.text
    assert back.json()["order_id"] == "cafe:7" and back.json()["reversal"]["points"] == 50
    # The pharmacy's key does not find the café's order 7.
    problem(client.post("/v1/events", json={"type": "return", "order_id": "7"}, headers=as_partner(client, partners["pharmacy"])),
            404, "/problems/not-found", "order_id")
    cafe = close_month(client, clock)[f"partner:{partners['cafe']['id']}"]
    assert cafe["lines"]["issued"]["amount"] == "-10.00" and cafe["lines"]["reversed"]["amount"] == "2.50"
    assert cafe["net"] == "-7.50"


def test_points_a_tier_multiplies_are_the_operators_cost(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    tier = client.post("/v1/tiers", json={"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 1, "threshold": "0",
                                          "benefits": {"earn_multiplier": "2"}})
    assert tier.status_code == 201, tier.text
    member_id = enrol(client)
    buy(client, member_id, "0", "1.00", partners["cafe"])  # the member reaches the tier
    assert client.get(f"/v1/members/{member_id}/tier").json()["tier"]["key"] == "gold"
    earned = buy(client, member_id, "1", "50.00", partners["cafe"]).json()
    assert earned["total_points"] == 200  # 100 at the café's rate, doubled by the tier
    entry = client.get(f"/v1/members/{member_id}/entries").json()["items"][0]
    assert entry["details"]["coalition"]["points_charged"] == 100 and entry["partner"] == "cafe"


def test_a_partners_own_rule_applies_there_only_and_the_partner_pays_for_it(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    rule = {"name_en": "Café double", "name_ar": "ضعف المقهى", "trigger": "purchase", "status": "active", "partner": "cafe",
            "actions": [{"type": "fixed_points", "points": 40}]}
    assert client.post("/v1/rules", json=rule).status_code == 201
    member_id = enrol(client)
    assert buy(client, member_id, "1", "10.00", partners["cafe"]).json()["total_points"] == 60  # 20 + the café's 40
    assert buy(client, member_id, "2", "10.00", partners["pharmacy"]).json()["total_points"] == 10
    statements = close_month(client, clock)
    assert statements[f"partner:{partners['cafe']['id']}"]["lines"]["issued"] == {
        "code": "issued", "label": "Points issued to the partner's customers", "points": 60, "amount": "-3.00"}


def test_a_hold_captured_at_a_partners_till_pays_it_and_a_void_pays_nothing(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    member_id = enrol(client)
    buy(client, member_id, "1", "100.00", partners["cafe"])  # 200 points
    till = as_partner(client, partners["pharmacy"])
    held = client.post(f"/v1/members/{member_id}/holds", json={"points": 100, "reason": "till 2"}, headers=till).json()
    # Another partner's till cannot capture it.
    problem(client.post(f"/v1/holds/{held['id']}/capture", json={"points": 60}, headers=as_partner(client, partners["cafe"])),
            404, "/problems/not-found")
    captured = client.post(f"/v1/holds/{held['id']}/capture", json={"points": 60}, headers=till)
    assert captured.status_code == 200 and captured.json()["captured_points"] == 60
    voided = client.post(f"/v1/members/{member_id}/holds", json={"points": 30, "reason": "till 2"}, headers=till).json()
    assert client.post(f"/v1/holds/{voided['id']}/void", headers=till).json()["status"] == "voided"
    pharmacy = close_month(client, clock)[f"partner:{partners['pharmacy']['id']}"]
    assert (pharmacy["points_redeemed"], pharmacy["net"]) == (60, "3.00")  # 60 x 0.05, no commission


def test_wallet_money_spent_at_a_partner_pays_it_less_its_commission(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    cashback = {"name_en": "Cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active", "partner": "cafe",
                "actions": [{"type": "cashback", "percent": "10"}]}
    assert client.post("/v1/rules", json=cashback).status_code == 201
    member_id = enrol(client)
    buy(client, member_id, "1", "100.00", partners["cafe"])  # 10.00 SAR cashback, funded by the café
    paid = client.post(f"/v1/members/{member_id}/wallet/debits", json={"amount": "10.00", "currency": "SAR", "reason": "till"},
                       headers=as_partner(client, partners["cafe"]))
    assert paid.status_code == 201, paid.text
    cafe = close_month(client, clock)[f"partner:{partners['cafe']['id']}"]
    # Owes 10.00 for 200 points and the 10.00 cashback; is paid 10.00 less the 5% commission for the wallet money.
    assert {code: line["amount"] for code, line in cafe["lines"].items()} == {
        "issued": "-10.00", "redeemed": "10.00", "redeem_commission": "-0.50", "cashback": "-10.00"}
    assert cafe["net"] == "-10.50"


def test_a_partners_reward_pays_that_partner_and_other_partners_keys_cannot_redeem_it(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    reward = client.post("/v1/rewards", json={"key": "latte", "name_en": "Latte", "name_ar": "لاتيه", "points": 100, "partner": "cafe",
                                              "gives": {"type": "gift", "sku": "LATTE"}})
    assert reward.status_code == 201, reward.text
    assert reward.json()["partner"] == "cafe"
    member_id = enrol(client)
    buy(client, member_id, "1", "100.00", partners["pharmacy"])  # 100 points at the pharmacy
    problem(client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_key": "latte"},
                        headers=as_partner(client, partners["pharmacy"])), 404, "/problems/not-found")
    redeemed = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_key": "latte"},
                           headers=as_partner(client, partners["cafe"]))
    assert redeemed.status_code == 201, redeemed.text
    statements = close_month(client, clock)
    cafe = statements[f"partner:{partners['cafe']['id']}"]
    assert (cafe["points_redeemed"], cafe["lines"]["redeemed"]["amount"], cafe["lines"]["redeem_commission"]["amount"]) == (100, "4.00", "-0.20")
    flows = client.get("/v1/reports/coalition-flows").json()["flows"]
    assert flows == [{"earned_at": "pharmacy", "spent_at": "cafe", "points": 100}]


def test_an_exchange_of_own_points_keeps_what_is_short_of_a_whole_point(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    member_id = enrol(client)
    shifa = as_partner(client, partners["pharmacy"])
    url = f"/v1/partners/{partners['pharmacy']['id']}/exchanges"
    first = client.post(url, json={"member_id": member_id, "own_points": 25}, headers={**shifa, "Idempotency-Key": "x-1"})
    assert first.status_code == 201, first.text
    assert {k: first.json()[k] for k in ("points", "kept", "carried", "rate")} == {"points": 2, "kept": 5, "carried": 0, "rate": 10}
    second = client.post(url, json={"member_id": member_id, "own_points": 7}, headers={**shifa, "Idempotency-Key": "x-2"})
    assert {k: second.json()[k] for k in ("points", "kept", "carried")} == {"points": 1, "kept": 2, "carried": 5}
    again = client.post(url, json={"member_id": member_id, "own_points": 7}, headers={**shifa, "Idempotency-Key": "x-2"})
    assert again.json() == second.json() and again.headers["Idempotent-Replayed"] == "true"
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 3
    problem(client.post(f"/v1/partners/{partners['cafe']['id']}/exchanges", json={"member_id": member_id, "own_points": 10},
                        headers={"Idempotency-Key": "x-3"}), 422, "/problems/invalid-input", "own_points")
    other = as_partner(client, partners["cafe"]) | {"Idempotency-Key": "k"}
    problem(client.post(url, json={"member_id": member_id, "own_points": 10}, headers=other), 404, "/problems/not-found")
    pharmacy = close_month(client, clock)[f"partner:{partners['pharmacy']['id']}"]
    assert pharmacy["lines"]["exchanged"] == {"code": "exchanged", "label": "Coalition points bought with the partner's own points",
                                              "points": None, "amount": "-0.18"}  # 3 points at 0.06


@pytest.mark.parametrize(("policy", "to_cafe"), [("operator", "0.00"), ("partners", "0.90")])
def test_expired_points_value_goes_by_the_policy_they_were_sold_under(  # type: ignore[no-untyped-def]
    client: TestClient, clock, tenant, policy: str, to_cafe: str,
) -> None:
    partners = coalition(client, policy)
    assert client.patch("/v1/program", json={"expiry": {"policy": "days", "periods": 10}}).status_code == 200
    member_id = enrol(client)
    buy(client, member_id, "1", "10.00", partners["cafe"])  # 20 points: the café owes 1.00, 0.90 of it to the fund
    clock.advance(timedelta(days=11))
    from wafa.jobs.service import run_due

    report = run_due(client.app.state.session_factory, now=clock.now(), tenant_id=tenant.id)  # type: ignore[attr-defined]
    assert report.expired_points >= 20
    entries = client.get(f"/v1/members/{member_id}/entries").json()["items"]
    assert entries[0]["kind"] == "expire" and entries[0]["partner"] == "cafe"
    # The worker closed February (the month before the clock's), which saw nothing: March is this test's.
    assert [run["period"] for run in client.get("/v1/coalition/settlements").json()] == ["2026-02"]
    statements = close_month(client, clock)
    cafe = statements[f"partner:{partners['cafe']['id']}"]
    assert cafe["lines"].get("breakage", {"amount": "0.00"})["amount"] == to_cafe
    operator = statements["operator"]
    assert operator["lines"].get("kept_breakage", {"amount": "0.00"})["amount"] == ("0.90" if policy == "operator" else "0.00")


def test_a_partners_till_scans_a_card_without_seeing_personal_data(client: TestClient) -> None:
    partners = coalition(client)
    made = client.post("/v1/members", json={"external_id": "m-9", "name": "Layla", "email": "layla@example.com", "phone": "+966501234567"})
    card = made.json()["card_token"]
    till = as_partner(client, partners["cafe"])
    scanned = client.get(f"/v1/cards/{card}", headers=till)
    assert scanned.status_code == 200
    seen = scanned.json()
    assert (seen["id"], seen["name"], seen["email"], seen["phone"]) == (made.json()["id"], "Layla", None, None)
    assert client.get(f"/v1/members/{made.json()['id']}/balance", headers=till).status_code == 200
    problem(client.get(f"/v1/members/{made.json()['id']}", headers=till), 403, "/problems/forbidden")
    problem(client.get(f"/v1/members/{made.json()['id']}/entries", headers=till), 403, "/problems/forbidden")


def test_closing_a_period_tells_webhooks_and_streams(client: TestClient, clock, factory, tenant) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from wafa.outbox.models import OutboxMessage

    partners = coalition(client)
    member_id = enrol(client)
    buy(client, member_id, "1", "100.00", partners["cafe"])
    statements = close_month(client, clock)
    with factory() as session:
        rows = session.execute(
            select(OutboxMessage.type, OutboxMessage.payload).where(OutboxMessage.tenant_id == tenant.id).order_by(OutboxMessage.id)
        ).all()
    earned = next(payload for type_, payload in rows if type_ == "points.earned")
    assert earned["partner_id"] == partners["cafe"]["id"]
    closed = [payload for type_, payload in rows if type_ == "settlement.closed"]
    assert len(closed) == 1 and closed[0]["period"] == "2026-03"
    told = {s["party"]: s for s in closed[0]["statements"]}
    assert told[f"partner:{partners['cafe']['id']}"]["net"] == -1000 and told[f"partner:{partners['cafe']['id']}"]["partner"] == "cafe"
    assert sum(s["net"] for s in closed[0]["statements"]) == 0
    assert set(told) == set(statements)


def test_a_partner_whose_period_changes_is_settled_once(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    cafe = partners["cafe"]["id"]
    client.patch(f"/v1/partners/{cafe}", json={"period": "weekly"})
    member_id = enrol(client)
    clock.set(clock.now().replace(day=3))
    buy(client, member_id, "1", "100.00", partners["cafe"])  # Tuesday 3 March 2026: week 10
    clock.advance(timedelta(days=7))
    weekly = client.post("/v1/coalition/settlements", json={"period": "2026-W10"}).json()
    assert {s["party"]: s["net"] for s in weekly["statements"]}[f"partner:{cafe}"] == "-10.00"
    client.patch(f"/v1/partners/{cafe}", json={"period": "monthly"})
    buy(client, member_id, "2", "50.00", partners["cafe"])  # after the week closed
    clock.advance(timedelta(days=30))
    monthly = client.post("/v1/coalition/settlements", json={"period": "2026-03"}).json()
    statement = {s["party"]: s for s in monthly["statements"]}[f"partner:{cafe}"]
    assert (statement["net"], statement["points_issued"]) == ("-5.00", 100)  # only what the week's statement did not have


def test_a_statement_csv_never_runs_a_partner_name_as_a_formula(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    client.patch(f"/v1/partners/{partners['cafe']['id']}", json={"name": "=HYPERLINK(\"http://x\")"})
    member_id = enrol(client)
    buy(client, member_id, "1", "10.00", partners["cafe"])
    close_month(client, clock)
    statement = client.get(f"/v1/partners/{partners['cafe']['id']}/statements").json()["items"][0]
    text = client.get(f"/v1/statements/{statement['id']}.csv").text
    assert "party,\"'=HYPERLINK(\"\"http://x\"\")\"" in text


def test_a_suspended_partners_rewards_and_tills_are_refused(client: TestClient) -> None:
    partners = coalition(client)
    client.post("/v1/rewards", json={"key": "latte", "name_en": "Latte", "name_ar": "لاتيه", "points": 10, "partner": "cafe",
                                     "gives": {"type": "gift", "sku": "LATTE"}})
    member_id = enrol(client)
    buy(client, member_id, "1", "100.00", partners["pharmacy"])
    client.patch(f"/v1/partners/{partners['cafe']['id']}", json={"status": "suspended"})
    problem(client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_key": "latte"}), 409, "/problems/conflict", "reward_id")
    problem(buy(client, member_id, "2", "10.00", partners["cafe"]), 403, "/problems/forbidden")
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 100  # nothing was spent

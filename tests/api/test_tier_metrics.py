"""Tier metrics and windows over HTTP, beyond points in a rolling year (tests/api/test_tiers.py):
money spent in the base currency (other currencies at the earn-rate ratio), orders, the program's
local calendar year, what counts toward points earned (rule awards, custom events), tier
conditions in rules, lifting a manual floor, the paged history, and editing the ladder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, problem
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due

# (key, rank, threshold): the metric decides the unit.
POINTS = [("silver", 0, "1000"), ("gold", 1, "3000"), ("platinum", 2, "10000")]


def ladder(client: TestClient, tiers: list[tuple[str, int, str]] = POINTS, **policy: object) -> dict[str, int]:
    """Set the policy (points earned over a rolling year unless told) and add the tiers; key -> id."""
    body = {"metric": "points_earned", "window": "rolling", "months": 12, **policy}
    assert client.put("/v1/tier-policy", json=body).status_code == 200
    ids = {}
    for key, rank, threshold in tiers:
        made = client.post("/v1/tiers", json={"key": key, "name_en": key.title(), "name_ar": key, "rank": rank, "threshold": threshold})
        assert made.status_code == 201, made.text
        ids[key] = made.json()["id"]
    return ids


def member(client: TestClient, external_id: str = "m-1") -> int:
    made = client.post("/v1/members", json={"external_id": external_id})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def buy(client: TestClient, order_id: str, amount: str, currency: str = "SAR", member: str = "m-1") -> dict:
    made = client.post("/v1/events", json={"type": "purchase", "member": {"external_id": member}, "order_id": order_id,
                                           "amount": amount, "currency": currency})
    assert made.status_code == 201, made.text
    return made.json()


def give_back(client: TestClient, order_id: str, **extra: object) -> dict:
    made = client.post("/v1/events", json={"type": "return", "order_id": order_id, **extra})
    assert made.status_code == 201, made.text
    return made.json()


def standing(client: TestClient, member_id: int) -> dict:
    found = client.get(f"/v1/members/{member_id}/tier")
    assert found.status_code == 200, found.text
    return found.json()


def tier(client: TestClient, member_id: int) -> str | None:
    found = standing(client, member_id)["tier"]
    return found["key"] if found else None


def history(client: TestClient, member_id: int) -> list[tuple[str | None, str | None, str, str | None]]:
    items = client.get(f"/v1/members/{member_id}/tier-history?limit=200").json()["items"]
    return [(h["from_tier"], h["to_tier"], h["cause"], h["value"]) for h in items]


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


# --- money spent ----------------------------------------------------------------------------------


def test_money_spent_counts_other_currencies_at_the_earn_rate_ratio_and_returns_wait_for_the_review(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    assert client.patch("/v1/program", json={"earn_rates": {"SAR": "1", "USD": "3.75"}}).status_code == 200
    ladder(client, [("silver", 0, "500.00"), ("gold", 1, "2000.00")], metric="money_spent", grace_days=0, max_drop=1)
    assert [(t["key"], t["threshold"]) for t in client.get("/v1/tiers").json()["items"]] == [("silver", "500.00"), ("gold", "2000.00")]
    member_id = member(client)

    buy(client, "A", "400.00")
    body = standing(client, member_id)
    assert (body["tier"], body["metric"], body["value"]) == (None, "money_spent", "400.00")
    assert (body["next"]["tier"]["key"], body["next"]["to_go"], body["next"]["by"]) == ("silver", "100.00", None)
    assert body["progress"] == "400.00 of 500.00 SAR, 100.00 to go"

    # 26.66 USD at 3.75 points a dollar against 1 a riyal: 99.975 SAR, counted down to 99.97.
    buy(client, "B", "26.66", "USD")
    assert (standing(client, member_id)["value"], tier(client, member_id)) == ("499.97", None)
    # One more cent: the dollars (26.67) are worth 100.0125 SAR together, so 500.01 in all.
    buy(client, "C", "0.01", "USD")
    assert (standing(client, member_id)["value"], tier(client, member_id)) == ("500.01", "silver")
    buy(client, "D", "1499.99")  # 2000.00 exactly
    assert tier(client, member_id) == "gold"
    assert history(client, member_id) == [("silver", "gold", "qualified", "2000.00"), (None, "silver", "qualified", "500.01")]

    # Returns lower the value at once but never the tier: that waits for the review.
    give_back(client, "D", amount="0.02")
    give_back(client, "C")  # the cent in dollars: 26.66 USD left, 99.97 SAR
    body = standing(client, member_id)
    assert (body["tier"]["key"], body["value"], body["grace_until"]) == ("gold", "1999.94", None)
    assert history(client, member_id)[0][2] == "qualified"

    # The review is due when the secured year ends; at that moment the purchases (made a year ago to
    # the second) are still in the window, returns netted out.
    secured = at(body["secured_until"])
    assert secured == datetime(2027, 3, 1, 9, tzinfo=UTC)
    clock.set(secured - timedelta(seconds=1))
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).tier_reviews == 0
    clock.set(secured)
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).tier_reviews == 1
    assert tier(client, member_id) == "silver"
    assert history(client, member_id)[0] == ("gold", "silver", "review", "1999.94")


def test_money_spent_with_a_base_currency_that_earns_nothing_still_records_purchases(client: TestClient) -> None:
    # A rate of 0 is allowed (a currency that earns no points). The ratio to a zero base rate has no
    # value, but that must not turn every purchase in the other currency into a 500.
    assert client.patch("/v1/program", json={"earn_rates": {"SAR": "0", "USD": "3.75"}}).status_code == 200
    ladder(client, [("silver", 0, "500.00")], metric="money_spent")
    member_id = member(client)
    bought = client.post("/v1/events", json={"type": "purchase", "member": {"external_id": "m-1"}, "order_id": "A",
                                             "amount": "10.00", "currency": "USD"})
    assert bought.status_code == 201, bought.text
    assert bought.json()["total_points"] == 37
    assert client.get(f"/v1/members/{member_id}/tier").status_code == 200


def test_money_thresholds_are_in_the_base_currencys_minor_units(client: TestClient) -> None:
    ladder(client, [("silver", 0, "500.00")], metric="money_spent")
    problem(client.post("/v1/tiers", json={"key": "gold", "name_en": "G", "name_ar": "G", "rank": 1, "threshold": "2000.001"}), 422,
            "/problems/invalid-input", "threshold")
    made = client.post("/v1/tiers", json={"key": "gold", "name_en": "G", "name_ar": "G", "rank": 1, "threshold": "2000.5"})
    assert made.status_code == 201 and made.json()["threshold"] == "2000.50"


# --- purchases ------------------------------------------------------------------------------------


def test_purchases_count_orders_not_wholly_returned(client: TestClient) -> None:
    ladder(client, [("silver", 0, "2"), ("gold", 1, "4")], metric="purchases")
    member_id = member(client)
    buy(client, "A", "10.00")
    body = standing(client, member_id)
    assert (body["value"], body["progress"]) == ("1", "1 of 2 purchases, 1 to go")
    buy(client, "B", "0.50")  # however small
    assert tier(client, member_id) == "silver"

    give_back(client, "A")  # wholly returned: no longer an order
    body = standing(client, member_id)
    assert (body["tier"]["key"], body["value"]) == ("silver", "1")  # and no demotion at once
    buy(client, "C", "30.00")
    give_back(client, "C", amount="29.99")  # a partly returned order still counts
    buy(client, "D", "5.00")
    assert (standing(client, member_id)["value"], tier(client, member_id)) == ("3", "silver")
    buy(client, "E", "5.00")
    assert (standing(client, member_id)["value"], tier(client, member_id)) == ("4", "gold")
    assert history(client, member_id) == [("silver", "gold", "qualified", "4"), (None, "silver", "qualified", "2")]


def test_a_purchases_threshold_is_a_whole_number(client: TestClient) -> None:
    ladder(client, [], metric="purchases")
    problem(client.post("/v1/tiers", json={"key": "silver", "name_en": "S", "name_ar": "S", "rank": 0, "threshold": "2.5"}), 422,
            "/problems/invalid-input", "threshold")


# --- the calendar year ----------------------------------------------------------------------------


def test_calendar_year_runs_in_the_programs_time_zone(client: TestClient, clock: FrozenClock) -> None:
    assert client.patch("/v1/program", json={"timezone": "Asia/Riyadh"}).status_code == 200
    ladder(client, POINTS[:2], window="calendar_year")
    member_id = member(client)
    buy(client, "A", "1000.00")  # 1 March 2026
    body = standing(client, member_id)
    assert body["tier"]["key"] == "silver"
    # Reached in 2026: secured to the end of 2027, Riyadh time (UTC+3).
    assert at(body["secured_until"]) == datetime(2027, 12, 31, 21, tzinfo=UTC)
    assert at(body["next"]["by"]) == datetime(2026, 12, 31, 21, tzinfo=UTC)
    assert body["progress"] == "1,000 of 3,000 points, 2,000 to go by 2026-12-31"

    # 23:59:59 on 31 December in Riyadh: still 2026 there.
    clock.set(datetime(2026, 12, 31, 20, 59, 59, tzinfo=UTC))
    buy(client, "B", "1500.00")
    body = standing(client, member_id)
    assert (body["value"], body["progress"]) == ("2500", "2,500 of 3,000 points, 500 to go by 2026-12-31")

    # Local midnight: a new year and a new window, though it is still 31 December in UTC.
    clock.set(datetime(2026, 12, 31, 21, tzinfo=UTC))
    body = standing(client, member_id)
    assert (body["tier"]["key"], body["value"]) == ("silver", "0")
    assert body["progress"] == "0 of 3,000 points, 3,000 to go by 2027-12-31"
    assert at(body["next"]["by"]) == datetime(2027, 12, 31, 21, tzinfo=UTC)

    clock.set(datetime(2026, 12, 31, 21, 30, tzinfo=UTC))
    buy(client, "C", "3000.00")
    body = standing(client, member_id)
    assert (body["tier"]["key"], body["value"]) == ("gold", "3000")
    assert at(body["secured_until"]) == datetime(2028, 12, 31, 21, tzinfo=UTC)  # reached in 2027 locally
    assert body["progress"] == "3,000 points: the top tier"


def test_calendar_year_member_who_qualified_again_in_the_secured_year_keeps_the_tier(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    # Silver reached in 2026 is secured to the end of 2027. Earning silver again during 2027 keeps it
    # for 2028: the review at the local new year must judge the year that just closed.
    assert client.patch("/v1/program", json={"timezone": "Asia/Riyadh"}).status_code == 200
    ladder(client, POINTS[:2], window="calendar_year", grace_days=30)
    member_id = member(client)
    buy(client, "A", "1000.00")
    clock.set(datetime(2027, 6, 1, 9, tzinfo=UTC))
    buy(client, "B", "1200.00")
    assert standing(client, member_id)["value"] == "1200"
    clock.set(datetime(2027, 12, 31, 21, tzinfo=UTC))  # 1 January 2028, 00:00 in Riyadh
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    body = standing(client, member_id)
    assert body["tier"]["key"] == "silver"
    assert body["grace_until"] is None, body
    assert at(body["secured_until"]) == datetime(2028, 12, 31, 21, tzinfo=UTC)  # kept for 2028, earned in 2027
    assert [h[2] for h in history(client, member_id)] == ["qualified"]


# --- what counts toward points earned -------------------------------------------------------------


def test_a_rule_with_a_tier_condition_awards_only_once_the_member_is_gold(client: TestClient) -> None:
    ladder(client, POINTS[:2])
    made = client.post("/v1/rules", json={
        "name_en": "Gold bonus", "name_ar": "مكافأة", "trigger": "purchase", "status": "active",
        "conditions": [{"type": "tier", "any_of": ["gold"]}], "actions": [{"type": "fixed_points", "points": 50}],
    })
    assert made.status_code == 201, made.text
    member_id = member(client)
    assert buy(client, "A", "1000.00")["rules"] == []  # no tier yet
    assert buy(client, "B", "1999.00")["rules"] == []  # silver
    # The purchase that reaches gold was made as silver: gold conditions start with the next one.
    assert buy(client, "C", "1.00")["rules"] == []
    assert tier(client, member_id) == "gold"
    body = buy(client, "D", "10.00")
    assert [(r["rule_id"], r["points"]) for r in body["rules"]] == [(made.json()["id"], 50)]
    assert body["total_points"] == 60
    # Rule points are points earned: 3000 + 10 + 50.
    assert standing(client, member_id)["value"] == "3060"


def test_custom_events_with_points_count_toward_points_earned(client: TestClient) -> None:
    ladder(client, POINTS[:2])
    declared = client.post("/v1/event-types", json={"name": "review_written", "attributes_schema": {
        "type": "object", "properties": {"stars": {"type": "integer"}}, "required": ["stars"]}})
    assert declared.status_code == 201, declared.text
    made = client.post("/v1/rules", json={
        "name_en": "Reviews", "name_ar": "مراجعات", "trigger": "review_written", "status": "active",
        "conditions": [{"type": "event_attribute", "path": "stars", "op": "gte", "value": 4}],
        "actions": [{"type": "fixed_points", "points": 600}],
    })
    assert made.status_code == 201, made.text
    member_id = member(client)
    buy(client, "A", "400.00")

    def review(reference: str, stars: int) -> dict:
        sent = client.post("/v1/events", json={"type": "review_written", "member": {"external_id": "m-1"}, "reference": reference,
                                               "attributes": {"stars": stars}})
        assert sent.status_code == 201, sent.text
        return sent.json()

    assert review("r-1", 2)["total_points"] == 0
    assert (standing(client, member_id)["value"], tier(client, member_id)) == ("400", None)
    assert review("r-2", 5)["total_points"] == 600
    assert (standing(client, member_id)["value"], tier(client, member_id)) == ("1000", "silver")
    assert history(client, member_id) == [(None, "silver", "qualified", "1000")]


# --- a manual floor -------------------------------------------------------------------------------


def test_setting_no_tier_lifts_the_floor_and_the_next_review_may_drop(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    ladder(client, grace_days=0, max_drop=3)
    member_id = member(client)
    until = (clock.now() + timedelta(days=900)).isoformat()
    made = client.post(f"/v1/members/{member_id}/tier", json={"tier": "platinum", "reason": "VIP guest", "until": until})
    assert made.status_code == 200 and made.json()["floor"]["tier"]["key"] == "platinum"

    lifted = client.post(f"/v1/members/{member_id}/tier", json={"tier": None, "reason": "VIP year over"})
    assert lifted.status_code == 200, lifted.text
    body = lifted.json()
    assert body["floor"] is None
    assert body["tier"]["key"] == "platinum"  # lifting the floor moves no one by itself
    assert history(client, member_id)[0][:3] == ("platinum", "platinum", "floor_lifted")
    assert client.get(f"/v1/members/{member_id}/tier-history").json()["items"][0]["reason"] == "VIP year over"

    clock.advance(timedelta(days=366))
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).tier_reviews == 1
    assert tier(client, member_id) is None  # nothing earned, max_drop 3, no floor any more
    assert [h[2] for h in history(client, member_id)] == ["review", "floor_lifted", "manual"]


# --- history --------------------------------------------------------------------------------------


def test_tier_history_pages_newest_first(client: TestClient) -> None:
    ladder(client)
    member_id = member(client)
    buy(client, "A", "1000.00")
    buy(client, "B", "2000.00")
    buy(client, "C", "7000.00")
    assert client.post(f"/v1/members/{member_id}/tier", json={"tier": "silver", "reason": "fraud check"}).status_code == 200
    assert client.post(f"/v1/members/{member_id}/tier", json={"tier": None, "reason": "cleared"}).status_code == 200
    everything = client.get(f"/v1/members/{member_id}/tier-history").json()
    assert everything["next_cursor"] is None
    assert [(h["from_tier"], h["to_tier"], h["cause"]) for h in everything["items"]] == [
        ("silver", "silver", "floor_lifted"), ("platinum", "silver", "manual"), ("gold", "platinum", "qualified"),
        ("silver", "gold", "qualified"), (None, "silver", "qualified"),
    ]

    pages, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = client.get(f"/v1/members/{member_id}/tier-history{query}")
        assert page.status_code == 200, page.text
        pages.append([h["id"] for h in page.json()["items"]])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    ids = [i for p in pages for i in p]
    assert ids == [h["id"] for h in everything["items"]] and ids == sorted(ids, reverse=True)

    problem(client.get(f"/v1/members/{member_id}/tier-history?cursor=not-ours"), 422, "/problems/invalid-input", "cursor")
    assert client.get(f"/v1/members/{member_id}/tier-history?limit=0").status_code == 422
    assert client.get(f"/v1/members/{member_id}/tier-history?limit=201").status_code == 422
    problem(client.get(f"/v1/members/{member_id + 10**6}/tier-history"), 404, "/problems/not-found")


# --- editing the ladder ---------------------------------------------------------------------------


def test_changing_a_threshold_moves_members_at_their_next_event(client: TestClient) -> None:
    ids = ladder(client, POINTS[:2])
    member_id = member(client)
    buy(client, "A", "2500.00")
    assert tier(client, member_id) == "silver"
    changed = client.patch(f"/v1/tiers/{ids['gold']}", json={"threshold": "2000"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["threshold"], changed.json()["name"]) == ("2000", {"en": "Gold", "ar": "gold"})
    body = standing(client, member_id)
    assert body["tier"]["key"] == "silver"  # not moved by the edit itself
    assert (body["next"]["to_go"], body["progress"]) == ("0", "2,500 of 2,000 points: Gold at the next purchase")
    buy(client, "B", "1.00")
    assert tier(client, member_id) == "gold"
    assert history(client, member_id)[0] == ("silver", "gold", "qualified", "2501")


def test_changing_benefits_applies_to_the_next_purchase(client: TestClient) -> None:
    ids = ladder(client, POINTS[:2])
    member_id = member(client)
    buy(client, "A", "3000.00")
    assert buy(client, "B", "100.00")["total_points"] == 100
    benefits = {"earn_multiplier": "2.0", "welcome_points": 0, "flags": ["lounge"]}
    changed = client.patch(f"/v1/tiers/{ids['gold']}", json={"benefits": benefits})
    assert changed.status_code == 200, changed.text
    assert changed.json()["benefits"] == {"earn_multiplier": "2", "welcome_points": 0, "flags": ["lounge"]}
    assert changed.json()["threshold"] == "3000"  # untouched
    assert standing(client, member_id)["benefits"] == {"earn_multiplier": "2", "welcome_points": 0, "flags": ["lounge"]}
    assert buy(client, "C", "100.00")["total_points"] == 200
    renamed = client.patch(f"/v1/tiers/{ids['gold']}", json={"name_en": "Golden", "name_ar": "ذهبي"})
    assert renamed.json()["name"] == {"en": "Golden", "ar": "ذهبي"} and renamed.json()["benefits"]["earn_multiplier"] == "2"
    problem(client.patch(f"/v1/tiers/{ids['gold']}", json={"benefits": {"earn_multiplier": "10.5"}}), 422, "/problems/invalid-input")
    problem(client.patch(f"/v1/tiers/{ids['gold']}", json={"rank": 7}), 422, "/problems/invalid-input")
    problem(client.patch(f"/v1/tiers/{ids['gold'] + 10**6}", json={"name_en": "X"}), 404, "/problems/not-found")


def test_thresholds_must_rise_with_rank(client: TestClient) -> None:
    ids = ladder(client, [("silver", 0, "1000"), ("gold", 10, "3000")])

    def add(key: str, rank: int, threshold: str):  # type: ignore[no-untyped-def]
        return client.post("/v1/tiers", json={"key": key, "name_en": key, "name_ar": key, "rank": rank, "threshold": threshold})

    for rank, threshold in [(20, "3000"), (20, "2999"), (20, "0"), (5, "1000"), (5, "3000"), (5, "999"), (5, "3001"), (1, "999")]:
        problem(add("bronze", rank, threshold), 422, "/problems/invalid-input", "threshold")
    problem(add("bronze", 10, "5000"), 409, "/problems/conflict", "rank")
    assert add("silver_plus", 5, "1001").status_code == 201
    assert add("platinum", 20, "3001").status_code == 201
    # Edits are held to the same ladder, and a refused edit changes nothing.
    problem(client.patch(f"/v1/tiers/{ids['gold']}", json={"threshold": "1001"}), 422, "/problems/invalid-input", "threshold")
    problem(client.patch(f"/v1/tiers/{ids['gold']}", json={"threshold": "3001"}), 422, "/problems/invalid-input", "threshold")
    problem(client.patch(f"/v1/tiers/{ids['silver']}", json={"threshold": "1001"}), 422, "/problems/invalid-input", "threshold")
    assert client.patch(f"/v1/tiers/{ids['silver']}", json={"threshold": "0"}).status_code == 200
    listed = client.get("/v1/tiers").json()["items"]
    assert [(t["key"], t["rank"], t["threshold"]) for t in listed] == [
        ("silver", 0, "0"), ("silver_plus", 5, "1001"), ("gold", 10, "3000"), ("platinum", 20, "3001"),
    ]


def test_a_return_counts_on_the_date_of_the_purchase_it_undoes(client: TestClient, clock: FrozenClock) -> None:
    """Bought in December, returned in January: December's points drop, January's do not."""
    ladder(client, POINTS[:2], window="calendar_year")
    member_id = member(client)
    clock.set(datetime(2026, 12, 30, 12, tzinfo=UTC))
    buy(client, "DEC", "3000.00")
    assert tier(client, member_id) == "gold"
    clock.set(datetime(2027, 1, 3, 12, tzinfo=UTC))
    give_back(client, "DEC", amount="3000.00")
    buy(client, "JAN", "3000.00")
    body = standing(client, member_id)
    assert (body["tier"]["key"], body["value"]) == ("gold", "3000")  # 2027 counts January's purchase whole
    assert at(body["secured_until"]) == datetime(2029, 1, 1, tzinfo=UTC)  # qualified again in 2027


def test_changing_the_metric_needs_every_tiers_new_threshold(client: TestClient) -> None:
    ladder(client, POINTS[:2])
    problem(client.put("/v1/tier-policy", json={"metric": "money_spent"}), 422, "/problems/invalid-input", "thresholds")
    problem(client.put("/v1/tier-policy", json={"metric": "money_spent", "thresholds": {"silver": "500.00"}}), 422,
            "/problems/invalid-input", "thresholds")
    problem(client.put("/v1/tier-policy", json={"metric": "money_spent", "thresholds": {"silver": "900.00", "gold": "800.00"}}),
            422, "/problems/invalid-input", "threshold")
    changed = client.put("/v1/tier-policy", json={"metric": "money_spent", "thresholds": {"silver": "500.00", "gold": "2000.00"}})
    assert changed.status_code == 200, changed.text
    assert [(t["key"], t["threshold"]) for t in client.get("/v1/tiers").json()["items"]] == [("silver", "500.00"), ("gold", "2000.00")]
    member_id = member(client)
    buy(client, "A", "10.00")
    assert tier(client, member_id) is None  # 10 SAR is not the 1,000 points silver used to need
    assert client.put("/v1/tier-policy", json={"metric": "money_spent", "grace_days": 10}).status_code == 200  # same metric

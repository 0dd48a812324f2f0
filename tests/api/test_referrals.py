"""Referrals over HTTP: a new member enrolling with a code is linked to the referrer; the first
qualifying purchase that clears the return window completes it and rewards both; abuse is refused
and recorded with the reason; a referral with no qualifying purchase expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, problem
from wafa.clock import FrozenClock
from wafa.jobs.service import run_due


def setup(client: TestClient, **policy: object) -> tuple[int, str]:
    client.patch("/v1/program", json={"pending_days": 14})
    answer = client.put("/v1/referral-policy", json={"referrer_points": 500, "referee_points": 200, "min_purchase": "50.00",
                                                     "max_per_month": 2, "expire_days": 60, **policy})
    assert answer.status_code == 200, answer.text
    referrer = client.post("/v1/members", json={"external_id": "ref-1", "email": "Sara@Example.com", "phone": "+966551234567"}).json()
    return referrer["id"], referrer["referral_code"]


def enrol(client: TestClient, external_id: str, code: str, **fields: object) -> int:
    made = client.post("/v1/members", json={"external_id": external_id, "referral_code": code, **fields})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def referral_of(client: TestClient, member_id: int) -> dict:  # type: ignore[type-arg]
    return client.get(f"/v1/members/{member_id}/referrals").json()["referred_by"]


def buy(client: TestClient, member_id: int, order_id: str, amount: str) -> None:
    made = client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": order_id,
                                           "amount": amount, "currency": "SAR"})
    assert made.status_code == 201, made.text


def points(client: TestClient, member_id: int) -> int:
    balance = client.get(f"/v1/members/{member_id}/balance").json()
    return balance["available"] + balance["pending"]


def test_referral_completes_when_the_first_qualifying_purchase_clears_the_return_window(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    referrer_id, code = setup(client)
    new_id = enrol(client, "new-1", code.lower(), email="omar@example.com")
    assert referral_of(client, new_id)["status"] == "pending"
    buy(client, new_id, "A", "49.99")  # below the minimum
    buy(client, new_id, "B", "80.00")
    clock.advance(timedelta(days=13))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert referral_of(client, new_id)["status"] == "pending"  # the return window is still open
    clock.advance(timedelta(days=2))
    report = run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert report.referrals_completed == 1
    done = referral_of(client, new_id)
    assert done["status"] == "completed" and done["referrer_id"] == referrer_id
    assert points(client, referrer_id) == 500
    assert points(client, new_id) == 49 + 80 + 200
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).referrals_completed == 0  # once
    mine = client.get(f"/v1/members/{referrer_id}/referrals").json()
    assert mine["referral_code"] == code and [r["status"] for r in mine["referrals"]] == ["completed"]


def test_a_purchase_returned_in_the_window_does_not_complete_the_referral(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    _, code = setup(client)
    new_id = enrol(client, "new-1", code)
    buy(client, new_id, "A", "100.00")
    client.post("/v1/events", json={"type": "return", "order_id": "A", "amount": "60.00"})  # 40 kept: below 50
    clock.advance(timedelta(days=15))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert referral_of(client, new_id)["status"] == "pending"


def test_referral_without_a_qualifying_purchase_expires(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    _, code = setup(client)
    new_id = enrol(client, "new-1", code)
    clock.advance(timedelta(days=61))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    found = referral_of(client, new_id)
    assert (found["status"], found["reason"]) == ("expired", "no qualifying purchase within 60 days")


def test_self_referral_is_refused_with_the_reason(client: TestClient) -> None:
    _, code = setup(client)
    new_id = enrol(client, "new-1", code, email="sara@EXAMPLE.com")
    found = referral_of(client, new_id)
    assert found["status"] == "refused" and found["reason"].startswith("self-referral")


@pytest.mark.parametrize(("referrer_email", "alias"), [
    ("Sara@Example.com", "sara+promo@example.com"),            # a sub-address: the same inbox at most providers
    ("sara.ali@gmail.com", "SaraAli+2@googlemail.com"),          # Gmail ignores dots, and googlemail is Gmail
    ("s.a.r.a@gmail.com", "sara@gmail.com"),
])
def test_self_referral_with_an_alias_of_the_referrers_inbox_is_refused(client: TestClient, referrer_email: str, alias: str) -> None:
    """+tag aliases and Gmail's dots made a second account that passed as a new customer."""
    _, code = setup(client)
    client.patch(f"/v1/members/{referral_owner(client, code)}", json={"email": referrer_email})
    found = referral_of(client, enrol(client, "new-1", code, email=alias))
    assert found["status"] == "refused" and found["reason"].startswith("self-referral"), found


def test_an_alias_of_another_members_inbox_is_not_a_new_customer(client: TestClient) -> None:
    _, code = setup(client)
    client.post("/v1/members", json={"external_id": "old-1", "email": "noura.h@gmail.com"})
    found = referral_of(client, enrol(client, "new-1", code, email="nourah+deal@gmail.com"))
    assert found["status"] == "refused" and found["reason"].startswith("not a new customer"), found


def test_dots_count_outside_gmail(client: TestClient) -> None:
    """Other providers deliver first.last@ and firstlast@ to different people."""
    _, code = setup(client)
    client.patch(f"/v1/members/{referral_owner(client, code)}", json={"email": "sara.ali@example.com"})
    found = referral_of(client, enrol(client, "new-1", code, email="saraali@example.com"))
    assert found["status"] == "pending", found


def referral_owner(client: TestClient, code: str) -> int:
    return client.get("/v1/members", params={"external_id": "ref-1"}).json()["items"][0]["id"]


def test_referee_who_is_not_new_is_refused_phone_formats_normalised(client: TestClient) -> None:
    _, code = setup(client)
    client.post("/v1/members", json={"external_id": "old-1", "phone": "+966 50 111 2222"})
    new_id = enrol(client, "new-1", code, phone="0501112222")
    found = referral_of(client, new_id)
    assert found["status"] == "refused" and found["reason"].startswith("not a new customer")


def test_unknown_code_and_limit_per_month_and_suspended_referrer_are_refused(client: TestClient) -> None:
    referrer_id, code = setup(client)
    assert referral_of(client, enrol(client, "n-0", "NOPE1234"))["reason"] == "unknown referral code"
    assert referral_of(client, enrol(client, "n-1", code))["status"] == "pending"
    assert referral_of(client, enrol(client, "n-2", code))["status"] == "pending"
    third = referral_of(client, enrol(client, "n-3", code))
    assert third["status"] == "refused" and "most allowed" in third["reason"]
    client.post(f"/v1/members/{referrer_id}/suspend", json={"reason": "fraud review"})
    client.put("/v1/referral-policy", json={"referrer_points": 500, "max_per_month": 10})
    assert referral_of(client, enrol(client, "n-4", code))["reason"] == "the referrer is suspended"


def test_referrals_off_are_recorded_as_refused(client: TestClient) -> None:
    referrer = client.post("/v1/members", json={"external_id": "ref-1"}).json()
    new_id = enrol(client, "new-1", referrer["referral_code"])
    assert referral_of(client, new_id)["reason"] == "the program takes no referrals"


def test_referral_policy_names_a_reward_that_exists(client: TestClient) -> None:
    problem(client.put("/v1/referral-policy", json={"referrer_reward": "nope"}), 422, "/problems/invalid-input", "referrer_reward")
    client.post("/v1/rewards", json={"key": "ten-off", "name_en": "10 off", "name_ar": "خصم", "points": 0,
                                     "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}}})
    body = client.put("/v1/referral-policy", json={"referee_reward": "ten-off", "min_purchase": "20.00"}).json()
    assert (body["referee_reward"], body["min_purchase"], body["enabled"]) == ("ten-off", "20.00", True)


def test_referral_rewards_come_from_the_catalog(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    client.post("/v1/rewards", json={"key": "ten-off", "name_en": "10 off", "name_ar": "خصم", "points": 0,
                                     "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}}})
    referrer_id, code = setup(client, referee_reward="ten-off", referrer_points=0)
    new_id = enrol(client, "new-1", code)
    buy(client, new_id, "A", "60.00")
    clock.advance(timedelta(days=15))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    granted = client.get(f"/v1/members/{new_id}/reward-redemptions").json()["items"]
    assert [(g["reward"]["key"], g["source"], g["status"]) for g in granted] == [("ten-off", "referral", "issued")]
    assert points(client, referrer_id) == 0


def test_backdated_purchase_does_not_skip_the_return_window(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    _, code = setup(client)
    new_id = enrol(client, "new-1", code)
    backdated = (clock.now() - timedelta(days=30)).isoformat()
    made = client.post("/v1/events", json={"type": "purchase", "member": {"id": new_id}, "order_id": "OLD", "amount": "100.00",
                                           "currency": "SAR", "occurred_at": backdated})
    assert made.status_code == 201
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert referral_of(client, new_id)["status"] == "pending"  # made before the referral: it does not count


def test_purchase_made_in_time_keeps_the_referral_pending_through_its_window(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    _, code = setup(client)  # expire_days 60, pending_days 14
    new_id = enrol(client, "new-1", code)
    clock.advance(timedelta(days=55))
    buy(client, new_id, "LATE", "100.00")
    clock.advance(timedelta(days=6))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert referral_of(client, new_id)["status"] == "pending"
    clock.advance(timedelta(days=9))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert referral_of(client, new_id)["status"] == "completed"


def test_referral_link_is_the_portal_join_page_or_the_shops_own(client: TestClient, tenant: TenantCtx) -> None:
    referrer_id, code = setup(client)
    mine = client.get(f"/v1/members/{referrer_id}/referrals").json()
    assert mine["referral_link"] == f"http://127.0.0.1:8000/m/{tenant.slug}/join?ref={code}"
    client.put("/v1/referral-policy", json={"referrer_points": 500, "link_template": "https://noor.example/join?ref={code}&src=app"})
    assert client.get(f"/v1/members/{referrer_id}/referrals").json()["referral_link"] == f"https://noor.example/join?ref={code}&src=app"
    assert client.get("/v1/referral-policy").json()["link_template"] == "https://noor.example/join?ref={code}&src=app"


def test_referral_link_template_without_the_code_is_refused(client: TestClient) -> None:
    problem(client.put("/v1/referral-policy", json={"link_template": "https://noor.example/join"}), 422, "/problems/invalid-input",
            "link_template")


def test_referral_points_that_cross_a_threshold_upgrade_at_once(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    client.post("/v1/tiers", json={"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 1, "threshold": "1000"})
    referrer_id, code = setup(client)
    buy(client, referrer_id, "R", "600.00")
    new_id = enrol(client, "new-1", code)
    buy(client, new_id, "A", "80.00")
    clock.advance(timedelta(days=15))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert client.get(f"/v1/members/{referrer_id}/tier").json()["tier"]["key"] == "gold"  # 600 + 500 referral points


def test_a_referred_member_without_contact_is_refused_when_the_policy_requires_one(client: TestClient) -> None:
    _, code = setup(client, require_contact=True)
    bare = enrol(client, "new-1", code)
    found = referral_of(client, bare)
    assert (found["status"], found["reason"]) == ("refused", "a referred member needs an e-mail or phone, to tell whether they are new")
    assert referral_of(client, enrol(client, "new-2", code, email="omar@example.com"))["status"] == "pending"


def completed(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock, **policy: object) -> tuple[int, int]:
    """A referral completed by a purchase of 100.00 (order Q-1) that cleared a return window of 0 days."""
    client.patch("/v1/program", json={"pending_days": 0})
    answer = client.put("/v1/referral-policy", json={"referrer_points": 1500, "referee_points": 200, "min_purchase": "50.00", **policy})
    assert answer.status_code == 200, answer.text
    referrer_id = client.post("/v1/members", json={"external_id": "ref-1", "email": "sara@example.com"}).json()["id"]
    code = client.get(f"/v1/members/{referrer_id}/referrals").json()["referral_code"]
    new_id = enrol(client, "new-1", code, email="huda@example.com")
    client.post("/v1/events", json={"type": "purchase", "member": {"id": new_id}, "order_id": "Q-1", "amount": "100.00", "currency": "SAR"})
    clock.advance(timedelta(minutes=5))
    run_due(factory, now=clock.now(), tenant_id=tenant.id)
    assert referral_of(client, new_id)["status"] == "completed"
    return referrer_id, new_id


def available(client: TestClient, member_id: int) -> int:
    return client.get(f"/v1/members/{member_id}/balance").json()["available"]


def test_a_referral_whose_purchase_is_returned_is_reversed_and_its_bonuses_clawed_back(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    """Farming: the bonuses paid, the qualifying purchase returned; the referrer kept 1,500 points and the new member 200."""
    referrer_id, new_id = completed(client, factory, tenant, clock)
    assert (available(client, referrer_id), available(client, new_id)) == (1500, 300)  # 100 for the purchase, 200 the bonus
    clock.advance(timedelta(days=3))
    assert client.post("/v1/events", json={"type": "return", "order_id": "Q-1"}).status_code == 201
    found = referral_of(client, new_id)
    assert (found["status"], found["reason"]) == ("reversed", "the qualifying purchase was returned")
    assert (available(client, referrer_id), available(client, new_id)) == (0, 0)
    from wafa.ledger.verify import verify

    with factory() as session:
        assert verify(session, tenant_id=tenant.id).ok


def test_spent_bonuses_come_back_as_a_debt(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    referrer_id, _ = completed(client, factory, tenant, clock)
    assert client.post(f"/v1/members/{referrer_id}/redemptions", json={"points": 1500, "reason": "gift"}).status_code == 201
    client.post("/v1/events", json={"type": "return", "order_id": "Q-1"})
    assert available(client, referrer_id) == -1500


def test_a_partial_return_that_still_qualifies_keeps_the_referral(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    referrer_id, new_id = completed(client, factory, tenant, clock)
    client.post("/v1/events", json={"type": "return", "order_id": "Q-1", "amount": "40.00"})  # 60.00 kept, over 50.00
    assert referral_of(client, new_id)["status"] == "completed" and available(client, referrer_id) == 1500
    client.post("/v1/events", json={"type": "return", "order_id": "Q-1", "amount": "20.00"})  # 40.00 kept: no longer
    assert referral_of(client, new_id)["status"] == "reversed" and available(client, referrer_id) == 0


def test_a_return_after_the_window_or_with_reversal_off_keeps_the_referral(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    referrer_id, new_id = completed(client, factory, tenant, clock, reverse_within_days=10)
    clock.advance(timedelta(days=11))
    client.post("/v1/events", json={"type": "return", "order_id": "Q-1"})
    assert referral_of(client, new_id)["status"] == "completed" and available(client, referrer_id) == 1500
    assert client.get("/v1/referral-policy").json()["reverse_within_days"] == 10

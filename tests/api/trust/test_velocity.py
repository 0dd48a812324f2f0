"""Velocity limits: an action past a limit (per member, payment card, store or API key, over an hour, a day or a
week) is held for review instead of refused, and a person approves or rejects it. Before these limits, a
member could earn, redeem or be credited any amount at any pace; nothing ever paused for a look."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_key, problem
from wafa.clock import FrozenClock
from wafa.ledger.verify import verify
from wafa.tenants.models import AuditEntry
from wafa.trust.models import VelocityMark


def limits(client: TestClient, *items: dict) -> None:  # type: ignore[type-arg]
    answer = client.put("/v1/trust/velocity-limits", json={"limits": list(items)})
    assert answer.status_code == 200, answer.text


def member(client: TestClient, external_id: str = "v-1") -> int:
    return client.post("/v1/members", json={"external_id": external_id}).json()["id"]


def buy(client: TestClient, member_id: int, order_id: str, amount: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": order_id, "amount": amount,
                                           "currency": "SAR", **extra})


def balance(client: TestClient, member_id: int) -> dict[str, int]:
    return client.get(f"/v1/members/{member_id}/balance").json()


def held(client: TestClient) -> list[dict]:  # type: ignore[type-arg]
    return client.get("/v1/trust/reviews", params={"status": "held"}).json()["items"]


def verified(factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    with factory() as session:
        report = verify(session, tenant_id=tenant.id)
    assert report.ok, report.problems


EARN_PER_DAY = {"subject": "member", "action": "earn", "window": "day", "max_value": 1000}


def test_without_limits_nothing_is_counted_and_nothing_held(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    member_id = member(client)
    answer = buy(client, member_id, "N-1", "5000.00").json()
    assert answer["award"]["status"] == "available" and answer["review_id"] is None
    with factory() as session:
        assert session.execute(select(func.count()).select_from(VelocityMark).where(VelocityMark.tenant_id == tenant.id)).scalar_one() == 0
    assert held(client) == []


def test_a_purchase_past_the_members_daily_earn_limit_is_credited_held_and_approved(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    limits(client, EARN_PER_DAY)
    member_id = member(client)
    assert buy(client, member_id, "E-1", "600.00").json()["award"]["status"] == "available"
    answer = buy(client, member_id, "E-2", "500.00")
    assert answer.status_code == 201, answer.text
    second = answer.json()
    assert second["award"]["status"] == "held" and second["review_id"] is not None
    assert balance(client, member_id)["available"] == 600 and balance(client, member_id)["pending"] == 500
    # A replay of the order answers the same: held, with its review.
    replay = buy(client, member_id, "E-2", "500.00")
    assert replay.status_code == 200 and replay.json()["award"]["status"] == "held" and replay.json()["review_id"] == second["review_id"]

    [review] = held(client)
    assert review["id"] == second["review_id"] and review["action"] == "earn" and review["value"] == 500
    assert review["limit"] == {**EARN_PER_DAY, "max_count": None} and review["observed"] == {"count": 1, "value": 600}
    assert review["order_id"] == "E-2" and review["subjects"]["member"] == member_id

    approved = client.post(f"/v1/trust/reviews/{review['id']}/approve", json={"note": "regular customer, big family"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"].startswith("api-key:")
    assert balance(client, member_id)["available"] == 1100 and balance(client, member_id)["pending"] == 0
    problem(client.post(f"/v1/trust/reviews/{review['id']}/reject", json={}), 409, "/problems/conflict")
    with factory() as session:
        actions = session.execute(select(AuditEntry.action).where(AuditEntry.tenant_id == tenant.id)).scalars().all()
    assert "review.approved" in actions and "velocity_limits.updated" in actions
    verified(factory, tenant)


def test_approved_points_keep_the_pending_window_they_would_have_had(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    assert client.patch("/v1/program", json={"pending_days": 14}).status_code == 200
    limits(client, {"subject": "member", "action": "earn", "window": "week", "max_count": 1})
    member_id = member(client)
    buy(client, member_id, "W-1", "10.00")
    review_id = buy(client, member_id, "W-2", "20.00").json()["review_id"]
    clock.advance(timedelta(days=2))
    assert client.post(f"/v1/trust/reviews/{review_id}/approve", json={}).json()["outcome"]["points_released"] == 0
    assert balance(client, member_id)["pending"] == 30  # both still in the return window
    clock.advance(timedelta(days=13))
    with factory() as session:
        from wafa.ledger.models import Lot
        dates = sorted(session.execute(select(Lot.available_at).where(Lot.tenant_id == tenant.id)).scalars().all())
    assert all(when.year < 9999 for when in dates)


def test_rejecting_a_held_purchase_reverses_it_as_a_whole_return(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    client.post("/v1/rules", json={"name_en": "Cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active",
                                   "actions": [{"type": "cashback", "percent": "10"}]})
    limits(client, EARN_PER_DAY)
    member_id = member(client)
    buy(client, member_id, "R-1", "900.00")
    review_id = buy(client, member_id, "R-2", "400.00").json()["review_id"]
    rejected = client.post(f"/v1/trust/reviews/{review_id}/reject", json={"note": "card testing"}).json()
    assert rejected["status"] == "rejected" and rejected["outcome"]["points_reversed"] == 400
    assert balance(client, member_id)["available"] == 900 and balance(client, member_id)["pending"] == 0
    wallet = client.get(f"/v1/members/{member_id}/wallet").json()["currencies"][0]
    assert (wallet["available"], wallet["pending"]) == ("90.00", "0.00")  # the held cashback went back too
    # The shop's own return of that order later takes nothing twice.
    problem(client.post("/v1/events", json={"type": "return", "order_id": "R-2"}), 422, "/problems/invalid-input", "order_id")
    assert balance(client, member_id)["available"] == 900
    verified(factory, tenant)


def test_limits_per_store_card_and_key_count_across_members(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    limits(
        client,
        {"subject": "store", "action": "earn", "window": "hour", "max_count": 2},
        {"subject": "card", "action": "earn", "window": "day", "max_count": 1},
    )
    a, b, c = member(client, "s-a"), member(client, "s-b"), member(client, "s-c")
    assert buy(client, a, "S-1", "10.00", store="RUH-01").json()["review_id"] is None
    assert buy(client, b, "S-2", "10.00", store="RUH-01").json()["review_id"] is None
    third = buy(client, c, "S-3", "10.00", store="RUH-01").json()
    assert third["review_id"] is not None and third["award"]["status"] == "held"
    clock.advance(timedelta(hours=1, seconds=1))  # the window slides: the store is within its limit again
    assert buy(client, c, "S-4", "10.00", store="RUH-01").json()["review_id"] is None

    assert buy(client, a, "C-1", "10.00", card="tok_4242").json()["review_id"] is None
    shared = buy(client, b, "C-2", "10.00", card="tok_4242").json()
    assert shared["review_id"] is not None
    review = client.get(f"/v1/trust/reviews/{shared['review_id']}").json()
    assert review["limit"]["subject"] == "card" and review["subjects"]["card"] == "tok_4242"

    limits(client, {"subject": "key", "action": "earn", "window": "day", "max_value": 15})
    tills = []
    for _ in range(2):
        till = TestClient(client.app, raise_server_exceptions=False)
        till.headers["Authorization"] = f"Bearer {make_key(factory, tenant.id, ['events:write'], clock.now())}"
        tills.append(till)
    assert buy(tills[0], a, "K-1", "10.00").json()["review_id"] is None
    assert buy(tills[0], b, "K-2", "10.00").json()["review_id"] is not None
    assert buy(tills[1], c, "K-3", "10.00").json()["review_id"] is None  # another key counts on its own


def test_a_redemption_past_the_limit_waits_as_its_request(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    member_id = member(client)
    buy(client, member_id, "P-1", "1000.00")
    limits(client, {"subject": "member", "action": "redeem", "window": "day", "max_value": 300})
    first = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 200, "reason": "coffee"})
    assert first.status_code == 201
    second = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 200, "reason": "cake"})
    assert second.status_code == 202, second.text
    assert second.json()["status"] == "held" and second.json()["request"]["points"] == 200
    assert balance(client, member_id)["available"] == 800  # nothing spent while it waits
    approved = client.post(f"/v1/trust/reviews/{second.json()['id']}/approve", json={}).json()
    assert approved["status"] == "approved" and approved["outcome"]["points"] == 200
    assert balance(client, member_id)["available"] == 600

    # A hold at a till past the limit waits too; approved when the points are gone, it fails and says why.
    hold = client.post(f"/v1/members/{member_id}/holds", json={"points": 600, "reason": "till"})
    assert hold.status_code == 202, hold.text
    client.post(f"/v1/members/{member_id}/adjustments", json={"points": -500, "reason": "correction"})
    failed = client.post(f"/v1/trust/reviews/{hold.json()['id']}/approve", json={}).json()
    assert failed["status"] == "failed" and failed["outcome"]["problem"] == "/problems/insufficient-points"
    assert balance(client, member_id)["available"] == 100
    verified(factory, tenant)


def test_a_reward_redemption_past_the_limit_is_carried_out_on_approval(client: TestClient) -> None:
    member_id = member(client)
    buy(client, member_id, "G-1", "1000.00")
    reward = client.post("/v1/rewards", json={"key": "mug", "name_en": "Mug", "name_ar": "كوب", "points": 100,
                                              "gives": {"type": "gift", "sku": "MUG"}})
    assert reward.status_code == 201, reward.text
    limits(client, {"subject": "member", "action": "redeem", "window": "week", "max_count": 1})
    assert client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_key": "mug"}).status_code == 201
    waiting = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_key": "mug"})
    assert waiting.status_code == 202, waiting.text
    rejected = client.post(f"/v1/trust/reviews/{waiting.json()['id']}/reject", json={}).json()
    assert rejected["status"] == "rejected" and rejected["outcome"] == {"dropped": True}
    assert balance(client, member_id)["available"] == 900
    third = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_key": "mug"})
    approved = client.post(f"/v1/trust/reviews/{third.json()['id']}/approve", json={}).json()
    assert approved["status"] == "approved" and approved["outcome"]["redemption_id"]
    assert balance(client, member_id)["available"] == 800


def test_wallet_debits_and_adjustments_past_their_limits(client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    client.post("/v1/rules", json={"name_en": "Cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active",
                                   "actions": [{"type": "cashback", "percent": "10"}]})
    member_id = member(client)
    buy(client, member_id, "M-1", "1000.00")  # 100.00 SAR in the wallet
    limits(
        client,
        {"subject": "member", "action": "wallet_debit", "window": "day", "max_value": 5000},
        {"subject": "member", "action": "adjust", "window": "day", "max_value": 100},
    )
    pay = {"amount": "40.00", "currency": "SAR", "reason": "till", "order_id": "T-9"}
    assert client.post(f"/v1/members/{member_id}/wallet/debits", json=pay).status_code == 201
    waiting = client.post(f"/v1/members/{member_id}/wallet/debits", json=pay | {"amount": "20.00"})
    assert waiting.status_code == 202 and waiting.json()["value"] == 2000
    approved = client.post(f"/v1/trust/reviews/{waiting.json()['id']}/approve", json={}).json()
    assert approved["outcome"]["available"] == "40.00"

    adjusted = client.post(f"/v1/members/{member_id}/adjustments", json={"points": 150, "reason": "goodwill"})
    assert adjusted.status_code == 202, adjusted.text
    assert balance(client, member_id)["pending"] == 150  # credited held: pending, not lost
    rejected = client.post(f"/v1/trust/reviews/{adjusted.json()['id']}/reject", json={}).json()
    assert rejected["outcome"]["points_reversed"] == 150 and balance(client, member_id)["pending"] == 0
    # Debits by hand are never held: taking points away is not how a limit is abused.
    assert client.post(f"/v1/members/{member_id}/adjustments", json={"points": -500, "reason": "fix"}).status_code == 201
    verified(factory, tenant)


def test_limits_are_checked_and_replaced_as_a_whole(client: TestClient) -> None:
    problem(client.put("/v1/trust/velocity-limits", json={"limits": [{"subject": "member", "action": "earn", "window": "day"}]}),
            422, "/problems/invalid-input")
    problem(client.put("/v1/trust/velocity-limits", json={"limits": [{**EARN_PER_DAY, "window": "month"}]}), 422, "/problems/invalid-input")
    problem(client.put("/v1/trust/velocity-limits", json={"limits": [{**EARN_PER_DAY, "max_value": True}]}), 422, "/problems/invalid-input")
    limits(client, EARN_PER_DAY)
    assert client.get("/v1/trust/velocity-limits").json()["limits"] == [{**EARN_PER_DAY, "max_count": None}]
    limits(client)
    assert client.get("/v1/trust/velocity-limits").json()["limits"] == []
    problem(client.post("/v1/trust/reviews/999999/approve", json={}), 404, "/problems/not-found")

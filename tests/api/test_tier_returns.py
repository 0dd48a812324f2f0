"""A tier won by a purchase then returned: under the program's "demote" policy the member drops at once to
the tier their points still reach and the lost tier's welcome points are taken back (into debt if spent);
under "keep" (the default), outside `tier_return_days`, above the threshold or for a tier set by hand,
the member keeps the tier."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_tiers import buy, ladder, member, tier
from tests.conftest import TenantCtx, problem
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.events.models import Event
from wafa.ledger.verify import verify
from wafa.outbox.models import OutboxMessage
from wafa.tiers import returns as tier_returns

# The ladder of test_tiers: silver 1,000 points, gold 3,000 (100 welcome points), platinum 10,000; 1 point per SAR.
WELCOME = 100


def demote(client: TestClient, days: int = 30) -> None:
    changed = client.patch("/v1/program", json={"tier_return_policy": "demote", "tier_return_days": days})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["tier_return_policy"], changed.json()["tier_return_days"]) == ("demote", days)


def give_back(client: TestClient, order_id: str, amount: str | None = None, return_id: str | None = None):  # type: ignore[no-untyped-def]
    body = {"type": "return", "order_id": order_id, **({"amount": amount} if amount else {}), **({"return_id": return_id} if return_id else {})}
    made = client.post("/v1/events", json=body)
    assert made.status_code in (200, 201), made.text
    return made


def available(client: TestClient, member_id: int) -> int:
    return client.get(f"/v1/members/{member_id}/balance").json()["available"]


def history(client: TestClient, member_id: int) -> list[tuple[str | None, str | None, str]]:
    items = client.get(f"/v1/members/{member_id}/tier-history").json()["items"]
    return [(item["from_tier"], item["to_tier"], item["cause"]) for item in items]


def welcome_entries(client: TestClient, member_id: int) -> list[int]:
    """The points of the member's welcome entries and their take-backs, oldest first."""
    items = client.get(f"/v1/members/{member_id}/entries").json()["items"]
    return [item["points"] for item in reversed(items) if "welcome to" in item["reason"]]


def ledger_verifies(factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    with factory() as session:
        report = verify(session, tenant_id=tenant.id)
    assert report.ok, report.problems


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def to_gold(client: TestClient, clock: FrozenClock) -> int:
    """Silver by order A (1,500), five days later gold by order B (2,000): 3,500 points and 100 welcome points."""
    ladder(client)
    member_id = member(client)
    buy(client, "A", "1500.00")
    assert tier(client, member_id) == "silver"
    clock.advance(timedelta(days=5))
    buy(client, "B", "2000.00")
    assert tier(client, member_id) == "gold"
    assert available(client, member_id) == 3500 + WELCOME
    return member_id


def test_return_of_the_upgrading_purchase_demotes_at_once_and_takes_back_the_welcome(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    demote(client)
    silver_since = clock.now()
    member_id = to_gold(client, clock)
    clock.advance(timedelta(days=2))
    give_back(client, "B")
    body = client.get(f"/v1/members/{member_id}/tier").json()
    assert body["tier"]["key"] == "silver" and body["value"] == "1500"
    # Silver since it was reached, secured anew (1,500 points qualify for it now).
    assert at(body["since"]) == silver_since
    assert at(body["secured_until"]) == clock.now().replace(year=clock.now().year + 1)
    assert available(client, member_id) == 1500
    assert welcome_entries(client, member_id) == [WELCOME, -WELCOME]
    assert history(client, member_id) == [("gold", "silver", "returned"), ("silver", "gold", "qualified"), (None, "silver", "qualified")]
    latest = client.get(f"/v1/members/{member_id}/tier-history").json()["items"][0]
    assert latest["value"] == "1500" and "order B returned" in latest["reason"]
    with factory() as session:
        told = session.execute(
            select(OutboxMessage.payload).where(OutboxMessage.tenant_id == tenant.id, OutboxMessage.type == "tier.downgraded")
        ).scalars().all()
    assert [(p["from_tier"], p["to_tier"], p["cause"]) for p in told] == [("gold", "silver", "returned")]
    ledger_verifies(factory, tenant)


def test_keep_policy_keeps_the_tier_and_the_welcome(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    assert client.get("/v1/program").json()["tier_return_policy"] == "keep"
    member_id = to_gold(client, clock)
    with factory() as session:
        assert not tier_returns.demotes(session, tenant_id=tenant.id)  # the return's tier handler does not even run
    give_back(client, "B")
    assert tier(client, member_id) == "gold"
    assert available(client, member_id) == 1500 + WELCOME
    assert history(client, member_id)[0] == ("silver", "gold", "qualified")
    ledger_verifies(factory, tenant)


def test_tier_reached_before_the_window_is_kept(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    demote(client, days=30)
    member_id = to_gold(client, clock)
    clock.advance(timedelta(days=31))
    give_back(client, "B")
    assert tier(client, member_id) == "gold"
    assert available(client, member_id) == 1500 + WELCOME
    ledger_verifies(factory, tenant)


def test_partial_return_still_above_the_threshold_keeps_the_tier_until_one_goes_below(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    demote(client)
    member_id = to_gold(client, clock)
    give_back(client, "B", amount="500.00")  # 3,000 points: gold's threshold exactly
    assert tier(client, member_id) == "gold"
    assert available(client, member_id) == 3000 + WELCOME
    give_back(client, "B", amount="1.00")  # 2,999
    assert tier(client, member_id) == "silver"
    assert available(client, member_id) == 2999
    ledger_verifies(factory, tenant)


def test_replaying_the_return_takes_back_once(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    demote(client)
    member_id = to_gold(client, clock)
    first = give_back(client, "B", return_id="R-1")
    again = give_back(client, "B", return_id="R-1")
    assert first.status_code == 201 and again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    # The handler run once more on the same return finds nothing to undo.
    with factory() as session:
        returned = session.execute(select(Event.id).where(Event.tenant_id == tenant.id, Event.type == "return")).scalar_one()
    with unit_of_work(factory) as session:
        assert not tier_returns.on_return(session, tenant_id=tenant.id, member_id=member_id, order_id="B", return_event_id=returned,
                                          now=clock.now())
    assert tier(client, member_id) == "silver"
    assert available(client, member_id) == 1500
    assert welcome_entries(client, member_id) == [WELCOME, -WELCOME]
    assert [cause for _, _, cause in history(client, member_id)] == ["returned", "qualified", "qualified"]
    ledger_verifies(factory, tenant)


def test_welcome_points_spent_leave_a_debt(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    demote(client)
    member_id = to_gold(client, clock)
    spent = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 1600, "reason": "a gift"})
    assert spent.status_code == 201, spent.text  # 2,000 points left: order B's
    give_back(client, "B")
    assert tier(client, member_id) == "silver"
    assert available(client, member_id) == -WELCOME
    problem(client.post(f"/v1/members/{member_id}/redemptions", json={"points": 1, "reason": "more"}), 422, "/problems/member-in-debt", "points")
    ledger_verifies(factory, tenant)


def test_tier_held_before_the_upgrade_comes_back_with_its_own_period(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    """A member no longer qualifying for silver is not given a new silver year by buying gold and returning it."""
    demote(client)
    ladder(client)
    member_id = member(client)
    silver_since = clock.now()
    buy(client, "A", "1500.00")
    clock.advance(timedelta(days=40))
    give_back(client, "A", amount="600.00")  # 900 points: below silver, reached 40 days ago, kept
    assert tier(client, member_id) == "silver"
    buy(client, "B", "2500.00")  # 3,400: gold
    assert tier(client, member_id) == "gold"
    give_back(client, "B")
    body = client.get(f"/v1/members/{member_id}/tier").json()
    assert body["tier"]["key"] == "silver" and body["value"] == "900"
    assert at(body["since"]) == silver_since
    assert at(body["secured_until"]) == silver_since.replace(year=silver_since.year + 1)  # as reached, not from now
    assert available(client, member_id) == 900
    ledger_verifies(factory, tenant)


def test_upgrades_within_the_window_are_undone_down_to_the_tier_the_points_reach(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    demote(client)
    ladder(client)
    member_id = member(client)
    buy(client, "A", "500.00")
    buy(client, "B", "10000.00")  # platinum at once, skipping silver and gold
    assert tier(client, member_id) == "platinum"
    give_back(client, "B", amount="8000.00")  # 2,500: silver (never held) is what the points reach
    body = client.get(f"/v1/members/{member_id}/tier").json()
    assert body["tier"]["key"] == "silver" and at(body["since"]) == clock.now()
    assert history(client, member_id)[0] == ("platinum", "silver", "returned")
    assert available(client, member_id) == 2500  # platinum has no welcome points; silver gives none on the way down
    ledger_verifies(factory, tenant)


def test_tier_set_by_hand_is_never_demoted_by_a_return(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    demote(client)
    ladder(client)
    member_id = member(client)
    buy(client, "A", "1500.00")
    assert client.post(f"/v1/members/{member_id}/tier", json={"tier": "gold", "reason": "VIP"}).status_code == 200
    give_back(client, "A")
    assert tier(client, member_id) == "gold"
    assert available(client, member_id) == WELCOME
    ledger_verifies(factory, tenant)


def test_climbing_back_after_a_return_welcomes_again(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    demote(client)
    member_id = to_gold(client, clock)
    give_back(client, "B")
    assert tier(client, member_id) == "silver"
    clock.advance(timedelta(days=1))
    buy(client, "C", "1500.00")  # 3,000: gold again, really this time
    assert tier(client, member_id) == "gold"
    assert available(client, member_id) == 3000 + WELCOME
    assert welcome_entries(client, member_id) == [WELCOME, -WELCOME, WELCOME]
    ledger_verifies(factory, tenant)

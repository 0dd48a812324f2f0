"""What the offers model reads of other domains, and the ranking a member is shown (both databases): the
events domain's orders per member and category, the rewards domain's rewards given per member (a cancelled
one is no interaction), and the top k with retired rewards left out, looked up a few at a time, equal to
ranking every item and then leaving the retired ones out."""

from __future__ import annotations

from datetime import UTC, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx
from tests.integration.offers.test_offers_service import program
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.events import category_orders
from wafa.offers import interactions, service
from wafa.rewards import active_names, given_rewards


def test_category_orders_count_each_members_orders_per_category_with_first_and_last_day(
    client: TestClient, clock: FrozenClock, tenant: TenantCtx, factory: sessionmaker[Session],
) -> None:
    started = clock.now()
    made = program(client, clock)
    members: dict[str, list[int]] = made["members"]  # type: ignore[assignment]
    drinker = members["coffee"][4]  # coffee, cake and tea four times, ten days apart from the start
    now = clock.advance(timedelta(days=1))
    with unit_of_work(factory) as session:
        mine = category_orders.by_member_and_category(session, tenant_id=tenant.id, last_day=now.date(), member_id=drinker)
        first, last = started.astimezone(UTC).date(), (started + timedelta(days=30)).astimezone(UTC).date()
        assert sorted(mine) == [(drinker, c, 4, first, last) for c in ("cake", "coffee", "tea")]
        # Up to a day: the orders after it are not counted, nor anyone else's when one member is asked for.
        early = category_orders.by_member_and_category(session, tenant_id=tenant.id, last_day=first + timedelta(days=10), member_id=drinker)
        assert sorted(early) == [(drinker, c, 2, first, first + timedelta(days=10)) for c in ("cake", "coffee", "tea")]
        everyone = category_orders.by_member_and_category(session, tenant_id=tenant.id, last_day=now.date())
        assert {row[0] for row in everyone} == {m for taste in members.values() for m in taste}


def test_given_rewards_count_rewards_not_cancelled_with_aware_times(
    client: TestClient, clock: FrozenClock, tenant: TenantCtx, factory: sessionmaker[Session],
) -> None:
    made = program(client, clock)
    rewards: dict[str, int] = made["rewards"]  # type: ignore[assignment]
    shoppers: list[int] = made["members"]["grocery"]  # type: ignore[index]
    now = clock.advance(timedelta(days=1))
    with unit_of_work(factory) as session:
        given = given_rewards.by_member_and_reward(session, tenant_id=tenant.id, until=now)
        # Every shopper took the tote once; the mug the drinker took was cancelled: no row for it.
        assert sorted((member, reward, count) for member, reward, count, _, _ in given) == [(m, rewards["tote"], 1) for m in sorted(shoppers)]
        assert all(first.tzinfo is not None and first == last and first < now for _, _, _, first, last in given)
        assert given_rewards.by_member_and_reward(session, tenant_id=tenant.id, until=now, member_id=made["taker"]) == []  # type: ignore[arg-type]
        # The same rows as the model's interactions.
        read = interactions.read(session, tenant_id=tenant.id, until=now)
        had = {(i.member_id, i.item, i.weight, i.first) for i in read if i.item.startswith("reward:")}
        assert had == {(member, f"reward:{reward}", count, first) for member, reward, count, first, _ in given}


def test_top_active_is_the_ranking_without_retired_rewards_cut_at_k(
    client: TestClient, clock: FrozenClock, tenant: TenantCtx, factory: sessionmaker[Session],
) -> None:
    made = program(client, clock)
    rewards: dict[str, int] = made["rewards"]  # type: ignore[assignment]
    shopper: int = made["members"]["grocery"][4]  # type: ignore[index]
    now = clock.advance(timedelta(days=1))
    with unit_of_work(factory) as session:
        service.train(session, tenant_id=tenant.id, now=now, seed=1)
    with factory() as session:
        stored = service.current(session, tenant_id=tenant.id)
        assert stored is not None
        tote = f"reward:{rewards['tote']}"
        everything = [o.item for o in service.rank(session, stored=stored, member_id=shopper, k=len(stored.recommender.items))]
        assert tote in everything[:3]  # a shopper's tastes: the tote among the first
        for k in range(1, len(everything) + 2):
            kept, names = service.top_active(session, stored=stored, member_id=shopper, k=k)
            assert [o.item for o in kept] == everything[:k]
            assert (tote in names) == (tote in everything[:k])
        assert names[tote] == active_names.ActiveReward(rewards["tote"], "tote", "Tote", "هدية")

    client.patch(f"/v1/rewards/{rewards['tote']}", json={"status": "archived"}).raise_for_status()
    with factory() as session:
        stored = service.current(session, tenant_id=tenant.id)
        assert stored is not None
        without = [item for item in everything if item != tote]
        for k in range(1, len(everything) + 2):
            kept, names = service.top_active(session, stored=stored, member_id=shopper, k=k)
            assert [o.item for o in kept] == without[:k] and names == {}
        newcomer = service.top_active(session, stored=stored, member_id=made["newcomer"], k=3)[0]  # type: ignore[arg-type]
        assert {o.source for o in newcomer} == {"popular"} and tote not in {o.item for o in newcomer}


def test_active_names_answer_only_active_rewards_of_the_tenant(client: TestClient, clock: FrozenClock, tenant: TenantCtx,
                                                                 factory: sessionmaker[Session]) -> None:
    made = program(client, clock)
    rewards: dict[str, int] = made["rewards"]  # type: ignore[assignment]
    client.patch(f"/v1/rewards/{rewards['mug']}", json={"status": "archived"}).raise_for_status()
    with factory() as session:
        found = active_names.among(session, tenant_id=tenant.id, reward_ids=[rewards["tote"], rewards["mug"], 10**12])
        assert found == {rewards["tote"]: active_names.ActiveReward(rewards["tote"], "tote", "Tote", "هدية")}
        assert active_names.among(session, tenant_id=tenant.id + 1, reward_ids=[rewards["tote"]]) == {}
        assert active_names.among(session, tenant_id=tenant.id, reward_ids=[]) == {}

"""Next-best offers on a real program (both databases): purchases with categorised lines and rewards
redeemed through the API, a model trained and stored with its holdout metrics, rankings for a member it
knows and for a member with no history, and `wafa offers evaluate --json` on the same data."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx
from tests.integration.test_cli import wafa  # noqa: F401  (the fixture)
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.offers import interactions, service

TASTES = {"coffee": ["coffee", "cake"], "grocery": ["grocery", "dates"]}


def _post(client: TestClient, path: str, body: dict) -> dict:  # type: ignore[type-arg]
    made = client.post(path, json=body)
    assert made.status_code in (200, 201), made.text
    return made.json()


def program(client: TestClient, clock: FrozenClock) -> dict[str, object]:
    """Six coffee drinkers and six grocery shoppers buying their two categories every ten days for a month,
    half of the drinkers with tea and half of the shoppers taking a tote bag on day 15; then, on day 45,
    the other drinkers trying tea and the other shoppers taking the tote (a mug taken and cancelled counts
    for nothing); and one member who never bought anything."""
    rewards = {key: _post(client, "/v1/rewards", {"key": key, "name_en": key.title(), "name_ar": "هدية", "points": 100,
                                                    "gives": {"type": "gift", "sku": key.upper()}})["id"] for key in ("tote", "mug")}

    def tote(takers: list[int]) -> None:
        for member in takers:
            _post(client, f"/v1/members/{member}/adjustments", {"points": 500, "reason": "opening balance"})
            _post(client, f"/v1/members/{member}/reward-redemptions", {"reward_id": rewards["tote"]})

    members = {taste: [_post(client, "/v1/members", {"external_id": f"{taste}-{n}"})["id"] for n in range(6)] for taste in TASTES}
    for round_ in range(4):
        for taste, categories in TASTES.items():
            for n, member in enumerate(members[taste]):
                bought = [*categories, "tea"] if taste == "coffee" and n >= 3 else categories
                lines = [{"sku": f"{c}-{n}", "category": c, "quantity": 1, "unit_price": "10.00"} for c in bought]
                _post(client, "/v1/events", {"type": "purchase", "member": {"id": member}, "order_id": f"{member}-{round_}",
                                             "amount": "20.00", "currency": "SAR", "items": lines})
        if round_ == 1:
            clock.advance(timedelta(days=5))
            tote(members["grocery"][3:])
            clock.advance(timedelta(days=5))
        else:
            clock.advance(timedelta(days=10))
    clock.advance(timedelta(days=5))
    for member in members["coffee"][:3]:
        _post(client, "/v1/events", {"type": "purchase", "member": {"id": member}, "order_id": f"{member}-tea", "amount": "8.00",
                                     "currency": "SAR", "items": [{"sku": "tea", "category": "tea", "quantity": 1, "unit_price": "8.00"}]})
    tote(members["grocery"][:3])
    taker = members["coffee"][5]
    _post(client, f"/v1/members/{taker}/adjustments", {"points": 500, "reason": "opening balance"})
    mug = _post(client, f"/v1/members/{taker}/reward-redemptions", {"reward_id": rewards["mug"]})
    _post(client, f"/v1/reward-redemptions/{mug['id']}/cancel", {})
    newcomer = _post(client, "/v1/members", {"external_id": "newcomer"})["id"]
    return {"rewards": rewards, "members": members, "newcomer": newcomer, "taker": taker}


def test_train_stores_the_model_with_its_metrics_and_ranks_known_and_new_members(
    client: TestClient, clock: FrozenClock, tenant: TenantCtx, factory: sessionmaker[Session],
) -> None:
    made = program(client, clock)
    members: dict[str, list[int]] = made["members"]  # type: ignore[assignment]
    tote, mug = f"reward:{made['rewards']['tote']}", f"reward:{made['rewards']['mug']}"  # type: ignore[index]
    now = clock.advance(timedelta(days=1))
    with unit_of_work(factory) as session:
        assert service.latest(session, tenant_id=tenant.id) is None
        had = {row.item for row in interactions.read(session, tenant_id=tenant.id, until=now, member_id=made["taker"])}  # type: ignore[arg-type]
        assert had == {"category:coffee", "category:cake", "category:tea"}  # the cancelled mug is no interaction
        row = service.train(session, tenant_id=tenant.id, now=now, seed=1)
    with factory() as session:
        stored = service.latest(session, tenant_id=tenant.id)
        assert stored is not None and stored.id == row.id and stored.algorithm == "als"
        assert set(stored.item_ids) == {"category:coffee", "category:cake", "category:grocery", "category:dates", "category:tea", tote}
        assert mug not in stored.item_ids and len(stored.member_ids) == 12
        assert stored.parameters["member_factors_shape"] == [12, stored.parameters["factors"]]
        metrics = stored.metrics
        # The cut-off leaves day 45 to the test: three drinkers found tea, three shoppers the tote bag.
        assert metrics["members_evaluated"] == 6 and metrics["members_cold"] == 0 and metrics["train_items"] == 6
        for name in ("model", "baseline"):
            assert set(metrics[name]) == {"precision@5", "recall@5", "ndcg@5"}
            # Six items were known before the cut-off and each member had two: the four left include the test item.
            assert metrics[name]["recall@5"] == pytest.approx(1.0) and metrics[name]["precision@5"] == pytest.approx(1 / 5)
        # Popularity puts the other taste's two categories (six members each) before tea or the tote (three
        # each): the test item comes third or fourth. The model knows who took them.
        assert metrics["baseline"]["ndcg@5"] == pytest.approx((1 / math.log2(4) + 1 / math.log2(5)) / 2)
        assert metrics["model"]["ndcg@5"] == pytest.approx(1.0)

        drinker = members["coffee"][4]
        offers = service.ranked(session, tenant_id=tenant.id, member_id=drinker, k=3)
        assert len(offers) == 3 and {o.source for o in offers} == {"model"}
        assert [o.score for o in offers] == sorted((o.score for o in offers), reverse=True)
        assert {o.item for o in offers} == {"category:coffee", "category:cake", "category:tea"}  # a member's own habits first
        fresh = service.ranked(session, tenant_id=tenant.id, member_id=drinker, k=3, exclude_seen=True, now=now)
        assert {o.item for o in fresh} == {"category:grocery", "category:dates", tote}

        cold = service.ranked(session, tenant_id=tenant.id, member_id=made["newcomer"], k=4)  # type: ignore[arg-type]
        assert {o.source for o in cold} == {"popular"}
        # Every item was had by six of the twelve members by now: ties go by name.
        assert [o.item for o in cold] == ["category:cake", "category:coffee", "category:dates", "category:grocery"]
        assert [o.score for o in cold] == [0.5] * 4


def test_cli_evaluate_prints_model_and_baseline_scores_as_json(client: TestClient, clock: FrozenClock, tenant: TenantCtx, wafa) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    program(client, clock)
    code, out, err = wafa("offers", "evaluate", "--tenant", tenant.slug, "--json", "--seed", "2")
    assert code == 0, err
    body = json.loads(out)
    assert body["members_evaluated"] == 6 and body["k"] == 5 and body["seed"] == 2 and body["training_seconds"] >= 0
    assert set(body["model"]) == set(body["baseline"]) == {"precision@5", "recall@5", "ndcg@5"}
    assert body["cutoff"] < body["end"]
    code, _, err = wafa("offers", "evaluate", "--tenant", tenant.slug, "--cutoff", "March 1st")
    assert code == 2 and "YYYY-MM-DD" in err

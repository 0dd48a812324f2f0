"""Next-best offers over HTTP: training a model now (admin), its metrics, and a member's ranked items
with their reasons in the member's language; a new member's popular items; no model yet; other tenants."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TenantCtx, make_key, make_member, make_tenant, problem
from wafa.clock import FrozenClock

TASTES = {"coffee": ["coffee", "cake"], "grocery": ["grocery", "dates"]}


def _post(client: TestClient, path: str, body: dict) -> dict:  # type: ignore[type-arg]
    made = client.post(path, json=body)
    assert made.status_code in (200, 201), made.text
    return made.json()


def shop(client: TestClient, clock: FrozenClock) -> dict[str, object]:
    """Four coffee drinkers (English) and four grocery shoppers (Arabic) buying their two categories every ten
    days for a month; the shoppers take a tote bag and a mug that is then retired."""
    rewards = {key: _post(client, "/v1/rewards", {"key": key, "name_en": key.title(), "name_ar": f"هدية {key}", "points": 100,
                                                    "gives": {"type": "gift", "sku": key.upper()}}) for key in ("tote", "mug")}
    members = {taste: [_post(client, "/v1/members", {"external_id": f"{taste}-{n}", "locale": "en" if taste == "coffee" else "ar"})["id"]
                       for n in range(4)] for taste in TASTES}
    for round_ in range(3):
        for taste, categories in TASTES.items():
            for member in members[taste]:
                lines = [{"sku": c, "category": c, "quantity": 1, "unit_price": "10.00"} for c in categories]
                _post(client, "/v1/events", {"type": "purchase", "member": {"id": member}, "order_id": f"{member}-{round_}",
                                             "amount": "20.00", "currency": "SAR", "items": lines})
        clock.advance(timedelta(days=10))
    for member in members["grocery"]:
        _post(client, f"/v1/members/{member}/adjustments", {"points": 500, "reason": "opening balance"})
        for reward in rewards.values():
            _post(client, f"/v1/members/{member}/reward-redemptions", {"reward_id": reward["id"]})
    _post(client, "/v1/members", {"external_id": "newcomer"})
    client.patch(f"/v1/rewards/{rewards['mug']['id']}", json={"status": "archived"}).raise_for_status()
    clock.advance(timedelta(days=1))
    return {"rewards": rewards, "members": members}


def test_train_answers_the_model_and_its_metrics(client: TestClient, clock: FrozenClock) -> None:
    shop(client, clock)
    made = client.post("/v1/offers/model:train")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["algorithm"] == "als" and body["parameters"]["seed"] == 0 and "model" in body["metrics"]
    read = client.get("/v1/offers/model")
    assert read.status_code == 200 and read.json() == body


def test_recommendations_rank_a_known_members_tastes_with_reasons_in_their_language(client: TestClient, clock: FrozenClock) -> None:
    made = shop(client, clock)
    model = _post(client, "/v1/offers/model:train", {})
    drinker = made["members"]["coffee"][0]  # type: ignore[index]
    answer = client.get(f"/v1/members/{drinker}/recommendations", params={"k": 2}).json()
    assert answer["model"] == {"id": model["id"], "trained_at": model["trained_at"], "metrics": model["metrics"]}
    assert {i["item"] for i in answer["items"]} == {"category:coffee", "category:cake"}
    first = answer["items"][0]
    assert (first["kind"], first["source"], first["key"]) == ("category", "model", None)
    assert first["reason"] == f"Members with tastes like yours often choose {first['item'].split(':')[1]}"
    assert answer["items"][0]["score"] >= answer["items"][1]["score"]
    arabic = client.get(f"/v1/members/{drinker}/recommendations", params={"k": 2, "lang": "ar"}).json()
    assert arabic["items"][0]["reason"].startswith("الأعضاء") and first["item"].split(":")[1] in arabic["items"][0]["reason"]


def test_recommendations_name_active_rewards_and_leave_out_retired_ones(client: TestClient, clock: FrozenClock) -> None:
    made = shop(client, clock)
    _post(client, "/v1/offers/model:train", {})
    shopper = made["members"]["grocery"][0]  # type: ignore[index]
    items = client.get(f"/v1/members/{shopper}/recommendations", params={"k": 50}).json()["items"]
    tote = made["rewards"]["tote"]  # type: ignore[index]
    assert f"reward:{made['rewards']['mug']['id']}" not in [i["item"] for i in items]  # type: ignore[index]
    reward = next(i for i in items if i["item"] == f"reward:{tote['id']}")
    assert (reward["kind"], reward["key"], reward["name_en"], reward["name_ar"]) == ("reward", "tote", "Tote", "هدية tote")
    assert reward["reason"].endswith("هدية tote")  # the member's language: Arabic
    assert len(items) == len({i["item"] for i in items})


def test_recommendations_for_a_new_member_are_popular_items(client: TestClient, clock: FrozenClock) -> None:
    shop(client, clock)
    _post(client, "/v1/offers/model:train", {})
    newcomer = _post(client, "/v1/members", {"external_id": "later", "locale": "en"})["id"]
    items = client.get(f"/v1/members/{newcomer}/recommendations").json()["items"]
    assert items and {i["source"] for i in items} == {"popular"}
    assert {i["reason"] for i in items} == {"Popular with members like you"}
    arabic = client.get(f"/v1/members/{newcomer}/recommendations", params={"lang": "ar"}).json()["items"]
    assert {i["reason"] for i in arabic} == {"رائج بين الأعضاء المشابهين لك"}


def test_recommendations_before_any_model_are_empty(client: TestClient) -> None:
    member = _post(client, "/v1/members", {"external_id": "early"})["id"]
    assert client.get(f"/v1/members/{member}/recommendations").json() == {"items": [], "model": None}
    problem(client.get("/v1/offers/model"), 404, "/problems/not-found")


def test_train_without_interactions_is_422(client: TestClient) -> None:
    problem(client.post("/v1/offers/model:train"), 422, "/problems/invalid-input")


def test_recommendations_unknown_member_is_404(client: TestClient) -> None:
    problem(client.get("/v1/members/999999999/recommendations"), 404, "/problems/not-found")


def test_recommendations_another_tenants_member_is_404(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session],
) -> None:
    other = make_tenant(factory, clock.now())
    theirs = make_member(factory, other.id, clock.now())
    problem(client.get(f"/v1/members/{theirs}/recommendations"), 404, "/problems/not-found")


@pytest.mark.parametrize("k", [0, 51, -1])
def test_recommendations_k_out_of_range_is_422(client: TestClient, k: int) -> None:
    member = _post(client, "/v1/members", {"external_id": "k"})["id"]
    assert client.get(f"/v1/members/{member}/recommendations", params={"k": k}).status_code == 422


def test_a_read_key_reads_but_cannot_train(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    made = shop(client, clock)
    _post(client, "/v1/offers/model:train", {})
    reader = {"Authorization": f"Bearer {make_key(factory, tenant.id, ['read'], clock.now())}"}
    member = made["members"]["coffee"][1]  # type: ignore[index]
    assert client.get(f"/v1/members/{member}/recommendations", headers=reader).json()["items"]
    assert client.get("/v1/offers/model", headers=reader).status_code == 200
    problem(client.post("/v1/offers/model:train", headers=reader), 403, "/problems/forbidden")


def test_recommendations_answer_from_a_newly_trained_model(client: TestClient, clock: FrozenClock) -> None:
    made = shop(client, clock)
    member = made["members"]["coffee"][2]  # type: ignore[index]
    first = _post(client, "/v1/offers/model:train", {})
    assert client.get(f"/v1/members/{member}/recommendations").json()["model"]["id"] == first["id"]  # now kept in the process
    clock.advance(timedelta(hours=1))
    second = _post(client, "/v1/offers/model:train", {})
    assert client.get(f"/v1/members/{member}/recommendations").json()["model"]["id"] == second["id"] != first["id"]
    assert client.get("/v1/offers/model").json()["id"] == second["id"]

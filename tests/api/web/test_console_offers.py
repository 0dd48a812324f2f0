"""The console's next-best offers page, on both databases: before any model it says how to get one; trained
from the page (audited once) it shows the holdout metrics against popularity as a chart and a table, and
the popular items by name, in English and Arabic; a marketer sees it but cannot train; nothing to learn from
is a form error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.conftest import TenantCtx
from wafa.clock import FrozenClock
from wafa.tenants import audit

TASTES = {"coffee": ["coffee", "cake", "tea"], "grocery": ["grocery", "dates", "rice"], "play": ["toys", "books", "games"]}


@pytest.fixture
def admin(browser: Browser, factory: sessionmaker[Session], clock: FrozenClock, tenant: TenantCtx) -> TestClient:
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def actions(factory: sessionmaker[Session], tenant_id: int) -> list[str]:
    with factory() as session:
        return [entry.action for entry in audit.list_(session, tenant_id=tenant_id, limit=200)]


def _post(client: TestClient, path: str, body: dict) -> dict:  # type: ignore[type-arg]
    made = client.post(path, json=body)
    assert made.status_code in (200, 201), made.text
    return made.json()


def shop(client: TestClient, clock: FrozenClock) -> dict[str, int]:
    """Twelve members in three tastes buying weekly for six weeks: two of each taste buy the taste's three
    categories throughout, two buy two of them and the third only in the last week (what the holdout tests);
    the grocery shoppers take a tote bag. Returns the tote's id."""
    tote = _post(client, "/v1/rewards", {"key": "tote", "name_en": "Tote bag", "name_ar": "حقيبة قماشية", "points": 100,
                                         "gives": {"type": "gift", "sku": "TOTE"}})
    members = {taste: [_post(client, "/v1/members", {"external_id": f"{taste}-{n}"})["id"] for n in range(4)] for taste in TASTES}
    for week in range(6):
        for taste, categories in TASTES.items():
            for n, member in enumerate(members[taste]):
                early = n < 2  # half of each taste take all three from the start: the model can learn the third
                bought = categories if early else categories[:2] if week < 5 else categories[2:]
                lines = [{"sku": c, "category": c, "quantity": 1, "unit_price": "10.00"} for c in bought]
                _post(client, "/v1/events", {"type": "purchase", "member": {"id": member}, "order_id": f"{member}-{week}",
                                             "amount": f"{10 * len(bought)}.00", "currency": "SAR", "items": lines})
        if week == 1:
            for member in members["grocery"]:
                _post(client, f"/v1/members/{member}/adjustments", {"points": 500, "reason": "opening balance"})
                _post(client, f"/v1/members/{member}/reward-redemptions", {"reward_id": tote["id"]})
        clock.advance(timedelta(days=7))
    return {"tote": tote["id"]}


def test_no_model_says_how_to_get_one(admin: TestClient) -> None:
    page = admin.get("/admin/offers", params={"lang": "en"})
    assert page.status_code == 200 and 'data-empty="model"' in page.text
    assert "Train now" in page.text and "wafa offers train" in page.text and "nightly worker" in page.text


def test_train_now_shows_the_metrics_and_chart_audited_once(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    made = shop(client, clock)
    admin = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))  # after six weeks: a fresh session
    csrf = csrf_of(admin.get("/admin/offers").text)
    trained = admin.post("/admin/offers/train", data={"csrf": csrf}, follow_redirects=False)
    assert trained.status_code == 303, trained.text
    assert trained.headers["location"].endswith("/admin/offers?done=trained")
    assert actions(factory, tenant.id).count("offers.model_trained") == 1

    page = admin.get("/admin/offers", params={"lang": "en"})
    assert page.status_code == 200 and "A new model is trained." not in page.text and 'data-empty="model"' not in page.text
    metrics = client.get("/v1/offers/model").json()["metrics"]
    assert metrics["model"]["ndcg@5"] > 0 and metrics["members_evaluated"] == 6
    assert '<svg class="trend"' in page.text and 'role="img"' in page.text and "<rect" in page.text
    assert "Precision@5" in page.text and "Recall@5" in page.text and "NDCG@5" in page.text
    assert "Members evaluated: 6" in page.text and "implicit ALS" in page.text
    assert ('data-verdict="better"' in page.text) == (metrics["model"]["ndcg@5"] > metrics["baseline"]["ndcg@5"])
    assert f'data-item="reward:{made["tote"]}"' in page.text and "Tote bag" in page.text and 'data-item="category:coffee"' in page.text
    assert "Train now" in page.text

    flashed = admin.get("/admin/offers", params={"lang": "en", "done": "trained"})
    assert "A new model is trained." in flashed.text

    arabic = admin.get("/admin/offers", params={"lang": "ar"})
    assert arabic.status_code == 200 and 'dir="rtl"' in arabic.text
    assert "حقيبة قماشية" in arabic.text and "<svg" in arabic.text and "Members evaluated" not in arabic.text
    assert 'scale(-1 1)' in arabic.text and 'scale(-1 1)' not in page.text  # the bars grow from the right in Arabic


def test_a_marketer_sees_the_page_but_cannot_train(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    shop(client, clock)
    marketer = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="marketer"))
    page = marketer.get("/admin/offers", params={"lang": "en"})
    assert page.status_code == 200 and 'action="/admin/offers/train"' not in page.text
    refused = marketer.post("/admin/offers/train", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/v1/offers/model").status_code == 404
    assert "offers.model_trained" not in actions(factory, tenant.id)


def test_train_now_with_nothing_to_learn_from_is_a_form_error(admin: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    csrf = csrf_of(admin.get("/admin/offers").text)
    refused = admin.post("/admin/offers/train", data={"csrf": csrf, "lang": "en"}, follow_redirects=False)
    assert refused.status_code == 422
    assert "لا شيء نتعلم منه بعد" in refused.text  # the console speaks Arabic unless told
    assert "offers.model_trained" not in actions(factory, tenant.id)

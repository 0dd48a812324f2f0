"""The console's experiments pages, on both databases: the list and the form for a new one (audited; bad
input beside its field), an experiment's page with the lift chart and table, "provisional until" before
the horizon and "horizon reached" after, shipping (refused before the horizon unless ticked, audited as
forced), and a marketer who sees the pages without the buttons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.conftest import TenantCtx
from wafa.clock import FrozenClock
from wafa.tenants import audit

FORM = {"name": "Double points", "key": "double", "subject": "rules", "arms": "a, b:2", "holdout_percent": "20",
        "primary_metric": "purchases", "horizon_days": "14"}


@pytest.fixture
def admin(browser: Browser, factory: sessionmaker[Session], clock: FrozenClock, tenant: TenantCtx) -> TestClient:
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def actions(factory: sessionmaker[Session], tenant_id: int) -> list[str]:
    with factory() as session:
        return [entry.action for entry in audit.list_(session, tenant_id=tenant_id, limit=200)]


def create(admin: TestClient, **change: str) -> object:
    csrf = csrf_of(admin.get("/admin/experiments").text)
    return admin.post("/admin/experiments", data={"csrf": csrf, **FORM, **change}, follow_redirects=False)


def test_the_list_links_every_experiment_and_the_nav_names_it(admin: TestClient, client: TestClient) -> None:
    page = admin.get("/admin/experiments", params={"lang": "en"})
    assert page.status_code == 200 and "No experiments yet." in page.text and 'href="/admin/experiments"' in page.text
    client.post("/v1/experiments", json={"key": "spring", "name": "Spring offers", "subject": "offers", "arms": [{"key": "a"}],
                                         "primary_metric": "redemptions", "horizon_days": 7})
    page = admin.get("/admin/experiments", params={"lang": "en"})
    assert 'href="/admin/experiments/spring"' in page.text and "Spring offers" in page.text
    assert "التجارب" in admin.get("/admin/experiments", params={"lang": "ar"}).text


def test_create_from_the_form_is_audited(admin: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    made = create(admin)
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    assert made.headers["location"].endswith("/admin/experiments/double?done=created")  # type: ignore[attr-defined]
    found = client.get("/v1/experiments/double").json()
    assert found["arms"] == [{"key": "a", "weight": 1}, {"key": "b", "weight": 2}] and found["holdout_percent"] == 20
    assert actions(factory, tenant.id).count("experiment.created") == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"arms": "A B"}, "arms"), ({"holdout_percent": "70"}, "holdout_percent"), ({"key": "Bad Key"}, "key"),
])
def test_create_refused_beside_the_field(admin: TestClient, change: dict[str, str], field: str) -> None:
    refused = create(admin, **change)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert f'id="err-{field}"' in refused.text  # type: ignore[attr-defined]


def test_a_duplicate_key_is_refused_beside_the_key(admin: TestClient) -> None:
    create(admin)
    refused = create(admin)
    assert refused.status_code == 422 and 'id="err-key"' in refused.text  # type: ignore[attr-defined]


def test_the_page_is_provisional_then_reached_and_ships(
    admin: TestClient, browser: Browser, client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    create(admin, subject="offers")
    members = [client.post("/v1/members", json={"external_id": f"c-{n}"}).json()["id"] for n in range(40)]
    page = admin.get("/admin/experiments/double", params={"lang": "en"})
    assert "nothing to compare yet" in page.text and 'id="start"' in page.text
    started = admin.post("/admin/experiments/double/start", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert started.status_code == 303 and client.get("/v1/experiments/double").json()["status"] == "running"
    clock.advance(timedelta(days=1))
    for m in members:
        client.post("/v1/events", json={"type": "purchase", "member": {"id": m}, "order_id": f"o-{m}", "amount": "10.00", "currency": "SAR"})

    admin = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))  # a day later: a fresh session
    page = admin.get("/admin/experiments/double", params={"lang": "en"})
    assert 'id="provisional"' in page.text and "Provisional until" in page.text and 'id="horizon-reached"' not in page.text
    assert 'id="lift-chart"' in page.text and page.text.count('<line data-arm="') == 2 and 'data-arm="b" data-metric="purchases"' in page.text
    refused = admin.post("/admin/experiments/double/ship", data={"csrf": csrf_of(page.text), "arm": "b"})
    assert refused.status_code == 422 and "provisional until the horizon" in refused.text
    assert client.get("/v1/experiments/double").json()["status"] == "running"

    clock.advance(timedelta(days=14))
    admin = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))
    page = admin.get("/admin/experiments/double", params={"lang": "en"})
    assert 'id="horizon-reached"' in page.text and 'id="provisional"' not in page.text
    shipped = admin.post("/admin/experiments/double/ship", data={"csrf": csrf_of(page.text), "arm": "b"}, follow_redirects=False)
    assert shipped.status_code == 303, shipped.text
    assert client.get("/v1/experiments/double").json()["shipped_arm"] == "b"
    with factory() as session:
        [entry] = audit.list_(session, tenant_id=tenant.id, action="experiment.shipped")
        assert entry.details["forced"] is False and entry.details["arm"] == "b"
    assert "experiment.started" in actions(factory, tenant.id)


def test_ship_before_the_horizon_when_ticked_is_audited_as_forced(admin: TestClient, client: TestClient, factory: sessionmaker[Session],
                                                                   tenant: TenantCtx) -> None:
    create(admin, subject="campaigns")
    client.post("/v1/experiments/double:start")
    page = admin.get("/admin/experiments/double")
    shipped = admin.post("/admin/experiments/double/ship", data={"csrf": csrf_of(page.text), "arm": "a", "force": "yes"}, follow_redirects=False)
    assert shipped.status_code == 303, shipped.text
    with factory() as session:
        [entry] = audit.list_(session, tenant_id=tenant.id, action="experiment.shipped")
        assert entry.details["forced"] is True


def test_a_marketer_sees_the_page_without_the_buttons(browser: Browser, client: TestClient, factory: sessionmaker[Session],
                                                      clock: FrozenClock, tenant: TenantCtx) -> None:
    client.post("/v1/experiments", json={"key": "double", "name": "D", "subject": "rules", "arms": [{"key": "a"}],
                                         "primary_metric": "purchases", "horizon_days": 7})
    client.post("/v1/experiments/double:start")
    marketer = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="marketer"))
    page = marketer.get("/admin/experiments/double", params={"lang": "en"})
    assert page.status_code == 200 and 'id="ship"' not in page.text and 'id="new-experiment"' not in marketer.get("/admin/experiments").text
    refused = marketer.post("/admin/experiments/double/ship", data={"csrf": csrf_of(marketer.get("/admin/experiments").text), "arm": "a",
                                                                   "force": "yes"})
    assert refused.status_code in (403, 422)
    assert client.get("/v1/experiments/double").json()["status"] == "running"


def test_an_unknown_experiment_is_the_404_page(admin: TestClient) -> None:
    assert admin.get("/admin/experiments/nope").status_code == 404

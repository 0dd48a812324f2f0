"""The console's personal offers, on both databases: a new offer written through the form is a draft (audited
as the API audits it), listed in the table with its audience in words, then activated, paused, resumed and
ended from its buttons, each audited; a read-only role sees the table but neither the form nor the buttons,
and its posts change nothing; bad input comes back with the problem beside its field and what was typed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.conftest import TenantCtx
from wafa.clock import FrozenClock
from wafa.tenants import audit


@pytest.fixture
def admin(browser: Browser, factory: sessionmaker[Session], clock: FrozenClock, tenant: TenantCtx) -> TestClient:
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def audited(factory: sessionmaker[Session], tenant_id: int) -> list[tuple[str, str, Any]]:
    """(action, target, details) of the offers' audit entries, oldest first."""
    with factory() as session:
        entries = audit.list_(session, tenant_id=tenant_id, limit=200)
    return [(e.action, e.target, e.details) for e in reversed(entries) if e.action.startswith("offer.")]


def _post(client: TestClient, path: str, body: dict) -> dict:
    made = client.post(path, json=body)
    assert made.status_code in (200, 201), made.text
    return made.json()


def _catalog(client: TestClient) -> None:
    _post(client, "/v1/rewards", {"key": "latte", "name_en": "Latte", "name_ar": "لاتيه", "points": 400, "gives": {"type": "gift", "sku": "LATTE"}})
    for external_id in ("chosen", "other"):
        _post(client, "/v1/members", {"external_id": external_id})


FORM = {"key": "latte-half", "name_en": "Half-price latte", "name_ar": "لاتيه بنصف السعر", "kind": "reward", "reward_key": "latte",
        "points": "200", "audience": "external_ids", "external_ids": "external_id\nchosen\n", "valid_days": "5", "per_member_cap": "2",
        "model_top": "5"}


def _row(page: str, key: str) -> str:
    found = re.search(rf'<tr data-offer="{key}".*?</tr>', page, flags=re.DOTALL)
    assert found, f"no row for {key}"
    return found.group(0)


def test_an_offer_written_in_the_form_is_activated_paused_resumed_and_ended_each_audited(
    admin: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    _catalog(client)
    page = admin.get("/admin/offers", params={"lang": "en"})
    assert page.status_code == 200 and 'data-empty="offers"' in page.text and 'id="new-offer"' in page.text
    assert '<option value="latte">Latte (latte)</option>' in page.text
    created = admin.post("/admin/offers", data={**FORM, "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/admin/offers?done=created#offers"
    offer = client.get("/v1/offers/latte-half").json()
    assert (offer["status"], offer["kind"], offer["reward_key"], offer["points"], offer["valid_days"], offer["per_member_cap"]) == (
        "draft", "reward", "latte", 200, 5, 2)
    assert offer["audience"] == {"external_ids": ["chosen"]} and offer["granted"] == 0  # the CSV's header row is not an id
    assert [(a, t) for a, t, _ in audited(factory, tenant.id)] == [("offer.created", "latte-half")]
    assert audited(factory, tenant.id)[0][2]["audience"] == {"external_ids": 1}  # the count, not the list

    listed = admin.get("/admin/offers", params={"lang": "en", "done": "created"}).text
    row = _row(listed, "latte-half")
    assert "Half-price latte" in row and "Latte" in row and "200 points" in row and "By external id (1)" in row
    assert 'data-status="draft"' in row and 'action="/admin/offers/latte-half/activate"' in row
    assert "The offer is saved as a draft" in listed

    steps = [("activate", "activated", "active", "offer.activated"), ("pause", "paused", "paused", "offer.paused"),
             ("resume", "resumed", "active", "offer.active"), ("end", "ended", "ended", "offer.ended")]
    for action, outcome, status, audited_as in steps:
        csrf = csrf_of(admin.get("/admin/offers").text)
        answer = admin.post(f"/admin/offers/latte-half/{action}", data={"csrf": csrf}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == f"/admin/offers?done={outcome}#offers"
        assert client.get("/v1/offers/latte-half").json()["status"] == status
        assert audited(factory, tenant.id)[-1][:2] == (audited_as, "latte-half")
        if action == "activate":
            assert audited(factory, tenant.id)[-1][2] == {"given": 1}
            row = _row(admin.get("/admin/offers", params={"lang": "en"}).text, "latte-half")
            assert 'data-status="active"' in row and re.search(r'<td class="num">1</td>\s*<td class="num">0</td>', row)  # given 1, used 0
    assert [a for a, _, _ in audited(factory, tenant.id)] == ["offer.created", "offer.activated", "offer.paused", "offer.active", "offer.ended"]
    ended = _row(admin.get("/admin/offers", params={"lang": "en"}).text, "latte-half")
    assert "<form" not in ended  # nothing more to do with an ended offer


def test_a_rule_offer_and_an_audience_of_segments_in_the_form(
    admin: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    rule = _post(client, "/v1/rules", {"name_en": "Coffee bonus", "name_ar": "مكافأة القهوة", "trigger": "purchase", "status": "active",
                                       "conditions": [{"type": "offer", "any_of": ["coffee-double"]}],
                                       "actions": [{"type": "fixed_points", "points": 50}]})
    page = admin.get("/admin/offers", params={"lang": "en"}).text
    assert f'<option value="{rule["id"]}">#{rule["id"]} Coffee bonus</option>' in page
    form = {"key": "coffee-double", "name_en": "Coffee bonus", "name_ar": "مكافأة القهوة", "kind": "rule", "rule_id": str(rule["id"]),
            "category": "coffee", "audience": "segments", "segments": ["champions", "loyal"], "valid_days": "7", "csrf": csrf_of(page)}
    assert admin.post("/admin/offers", data=form, follow_redirects=False).status_code == 303
    offer = client.get("/v1/offers/coffee-double").json()
    assert (offer["kind"], offer["rule_id"], offer["category"], offer["audience"]) == ("rule", rule["id"], "coffee",
                                                                                    {"segments": ["champions", "loyal"]})
    row = _row(admin.get("/admin/offers", params={"lang": "en"}).text, "coffee-double")
    assert f"rule #{rule['id']} Coffee bonus" in row and "Segments: champions, loyal" in row and "category coffee" in row
    arabic = admin.get("/admin/offers", params={"lang": "ar"}).text
    assert "العروض الشخصية" in arabic and "الشرائح: champions, loyal" in arabic


@pytest.mark.parametrize("role", ["viewer", "marketer"])
def test_a_read_only_role_sees_the_offers_but_cannot_change_them(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock, role: str,
) -> None:
    _catalog(client)
    _post(client, "/v1/offers", {"key": "latte-half", "name_en": "Half-price latte", "name_ar": "لاتيه", "kind": "reward", "reward_key": "latte",
                                 "audience": {"all": True}})
    reader = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role=role))
    page = reader.get("/admin/offers", params={"lang": "en"})
    assert page.status_code == 200 and "Half-price latte" in _row(page.text, "latte-half")
    assert 'id="new-offer"' not in page.text and "/admin/offers/latte-half/activate" not in page.text
    csrf = csrf_of(page.text)  # the sign-out form's
    assert reader.post("/admin/offers/latte-half/activate", data={"csrf": csrf}, follow_redirects=False).status_code == 403
    assert reader.post("/admin/offers", data={**FORM, "key": "mine", "csrf": csrf}, follow_redirects=False).status_code == 403
    assert client.get("/v1/offers/latte-half").json()["status"] == "draft"
    assert client.get("/v1/offers/mine").status_code == 404
    assert [(a, t) for a, t, _ in audited(factory, tenant.id)] == [("offer.created", "latte-half")]  # the API's, nothing since


def test_bad_input_comes_back_beside_its_field_with_what_was_typed(
    admin: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    _catalog(client)
    csrf = csrf_of(admin.get("/admin/offers").text)
    wrong = {**FORM, "key": "Bad Key", "reward_key": "", "audience": "tiers", "valid_days": "400", "per_member_cap": "two",
             "starts_at-date": "2026-03-10", "ends_at-date": "2026-03-01", "name_en": "Typed name", "csrf": csrf}
    refused = admin.post("/admin/offers?lang=en", data=wrong, follow_redirects=False)
    assert refused.status_code == 422
    text = refused.text
    for field in ("key", "reward_key", "tiers", "per_member_cap", "ends_at"):
        assert f'id="err-{field}"' in text, field
    assert "Choose a reward." in text and "Tick at least one tier." in text and "Enter a whole number." in text
    assert "Choose an end after the start." in text
    assert 'value="Typed name"' in text and 'value="Bad Key"' in text  # what was typed is kept
    assert client.get("/v1/offers").json()["items"] == [] and audited(factory, tenant.id) == []

    # The domain's refusals land beside their fields too: a key taken, a segment the program does not have.
    assert admin.post("/admin/offers", data={**FORM, "csrf": csrf}, follow_redirects=False).status_code == 303
    taken = admin.post("/admin/offers?lang=en", data={**FORM, "csrf": csrf}, follow_redirects=False)
    assert taken.status_code == 422 and 'id="err-key"' in taken.text and "exists already" in taken.text
    unknown = admin.post("/admin/offers", data={**FORM, "key": "other", "audience": "segments", "segments": ["no-such"], "csrf": csrf},
                         follow_redirects=False)
    assert unknown.status_code == 422 and 'id="err-segments"' in unknown.text
    model = admin.post("/admin/offers?lang=en", data={**FORM, "key": "other", "audience": "model", "model_top": "99", "csrf": csrf},
                       follow_redirects=False)
    assert model.status_code == 422 and 'id="err-model_top"' in model.text and "Enter a number from 1 to 50." in model.text
    assert [o["key"] for o in client.get("/v1/offers").json()["items"]] == ["latte-half"]
    assert [a for a, _, _ in audited(factory, tenant.id)] == ["offer.created"]


def test_a_change_the_offer_cannot_make_is_said_on_the_page(
    admin: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    _catalog(client)
    _post(client, "/v1/offers", {"key": "latte-half", "name_en": "Half", "name_ar": "نصف", "kind": "reward", "reward_key": "latte",
                                 "audience": {"all": True}})
    csrf = csrf_of(admin.get("/admin/offers").text)
    refused = admin.post("/admin/offers/latte-half/resume?lang=en", data={"csrf": csrf}, follow_redirects=False)
    assert refused.status_code == 422 and "offer &#39;latte-half&#39; is draft" in refused.text
    missing = admin.post("/admin/offers/nothing/pause", data={"csrf": csrf}, follow_redirects=False)
    assert missing.status_code == 422 and "no offer &#39;nothing&#39;" in missing.text
    assert client.get("/v1/offers/latte-half").json()["status"] == "draft"
    assert [a for a, _, _ in audited(factory, tenant.id)] == ["offer.created"]  # the API's, nothing since

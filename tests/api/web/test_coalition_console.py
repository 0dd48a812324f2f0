"""The coalition in the console: the operator's pages (settings, partners and their terms, stores, keys and
people, closing periods, statements and their files, the open period, the flows between partners), each
form's success, bad input and refusal for a narrower role, all audited; and a partner's person, who signs
in to the same console and reaches their partner's pages only: every other console route, filled with
real ids of the operator's things, is the 403 page, and another partner's statement is refused."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.api.test_coalition import as_partner, buy, coalition, enrol
from tests.api.test_memberships import PLUS
from tests.api.test_rewards_catalog import GIFT, reward_body
from tests.api.test_surveys import NPS_SURVEY
from tests.api.test_tenant_isolation import RULE
from tests.api.web.conftest import PASSWORD, Browser, Inbox, csrf_of, make_admin, sign_in, signed_in, unique_email
from tests.conftest import make_member
from wafa.db import unit_of_work
from wafa.events import import_jobs
from wafa.tenants import admin_users, audit

PARTNER_ONLY = "Your account sees your partner&#39;s pages only."
OPERATOR_PAGES = ["/admin/coalition", "/admin/coalition/partners/new", "/admin/coalition/partners/{cafe}", "/admin/coalition/settlements",
                  "/admin/coalition/settlements/{run}", "/admin/coalition/statements/{statement}", "/admin/coalition/flows"]
TERMS = {"name": "Zaytoon Grocer", "name_ar": "بقالة زيتون", "currency": "SAR", "period": "monthly", "earn_rate": "1", "issue_price": "0.05",
         "redeem_value": "0.04", "issue_fee": "0.1", "redeem_fee": "0"}


def console(browser: Browser, factory, tenant, clock, role: str = "owner") -> TestClient:  # type: ignore[no-untyped-def]
    """A signed-in operator's person of `role`, reading English."""
    signed = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role=role))
    signed.get("/admin/account", params={"lang": "en"})
    return signed


def partner_person(browser: Browser, factory, tenant, clock, partner_id: int) -> TestClient:  # type: ignore[no-untyped-def]
    """A signed-in person of a partner, reading English."""
    email = unique_email("partner")
    with unit_of_work(factory) as session:
        admin_users.create(session, tenant_id=tenant.id, email=email, name="Huda Partner", password=PASSWORD, role="partner",
                           now=clock.now(), partner_id=partner_id)
    person = signed_in(browser(), tenant.slug, email)
    person.get("/admin/account", params={"lang": "en"})
    return person


def post(page_client: TestClient, path: str, data: dict[str, Any], page: str) -> Any:
    """Send a form the way its page would: with the page's CSRF token."""
    return page_client.post(path, data={**data, "csrf": csrf_of(page_client.get(page).text)}, follow_redirects=False)


def actions(factory, tenant_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return [entry.action for entry in audit.list_(session, tenant_id=tenant_id, limit=200)]


def history(client: TestClient, clock) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A coalition (café, pharmacy) where a member who joined at the café earned 200 points there and
    spent 150 at the pharmacy, in March; the month is closed in April."""
    partners = coalition(client)
    member_id = enrol(client, partners["cafe"])
    assert buy(client, member_id, "1", "100.00", partners["cafe"]).status_code == 201
    spent = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 150, "reason": "till"},
                        headers=as_partner(client, partners["pharmacy"]))
    assert spent.status_code == 201, spent.text
    clock.advance(timedelta(days=40))
    closed = client.post("/v1/coalition/settlements", json={"period": "2026-03"})
    assert closed.status_code == 201, closed.text
    by_party = {s["party"]: s["id"] for s in closed.json()["statements"]}
    return {
        "partners": partners, "member": member_id, "run": closed.json()["id"], "cafe": partners["cafe"]["id"], "pharmacy": partners["pharmacy"]["id"],
        "statement": by_party[f"partner:{partners['cafe']['id']}"], "other_statement": by_party[f"partner:{partners['pharmacy']['id']}"],
        "operator_statement": by_party["operator"],
    }


def fill(route: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{([^}:]+)(?::[^}]+)?\}", lambda m: str(ids[m.group(1)]), route)


# --- the operator's pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_every_coalition_page_renders_for_every_role_in_both_languages(browser: Browser, client: TestClient, factory, tenant, clock,
                                                                        role: str) -> None:  # type: ignore[no-untyped-def]
    made = history(client, clock)
    reader = console(browser, factory, tenant, clock, role)
    for lang in ("en", "ar"):
        for path in OPERATOR_PAGES:
            page = reader.get(fill(path, made), params={"lang": lang})
            assert page.status_code == 200, (path, page.text[:500])
            assert f'<html lang="{lang}"' in page.text and "Traceback" not in page.text
    nav = reader.get("/admin/coalition", params={"lang": "en"}).text.split("<main", 1)[0]
    assert 'href="/admin/coalition"' in nav and 'href="/admin/coalition/settlements"' in nav and 'href="/admin/coalition/flows"' in nav
    shown = reader.get(f"/admin/coalition/partners/{made['cafe']}").text
    forms = ('action="/admin/coalition/partners/', 'action="/admin/coalition/settlements"')
    if role == "viewer":  # reads everything, is offered no button that changes anything
        assert not re.search(r'<form method="post" action="/admin/coalition[^"]*"[^>]*>(?:(?!</form>).)*<button', shown, flags=re.DOTALL)
    else:
        assert all(f in shown + reader.get("/admin/coalition/settlements").text for f in forms)


def test_the_program_becomes_a_coalition_from_the_console(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    owner = console(browser, factory, tenant, clock)
    page = owner.get("/admin/coalition").text
    assert "This program is not a coalition" in page and 'href="/admin/coalition/settlements"' not in page.split("<main", 1)[0]
    bad = post(owner, "/admin/coalition", {"breakage_policy": "everyone"}, "/admin/coalition")
    assert bad.status_code == 422 and "Choose one of the options." in bad.text
    assert client.get("/v1/coalition").status_code == 404
    marketer = console(browser, factory, tenant, clock, "marketer")
    refused = post(marketer, "/admin/coalition", {"breakage_policy": "operator"}, "/admin/coalition")
    assert refused.status_code == 403 and "Only owners and admins can change the coalition." in refused.text
    made = post(owner, "/admin/coalition", {"breakage_policy": "partners"}, "/admin/coalition")
    assert made.status_code == 303 and made.headers["location"] == "/admin/coalition?done=saved"
    assert client.get("/v1/coalition").json()["breakage_policy"] == "partners"
    assert 'href="/admin/coalition/settlements"' in owner.get("/admin/coalition").text.split("<main", 1)[0]
    with unit_of_work(factory) as session:
        (entry,) = audit.list_(session, tenant_id=tenant.id, action="coalition.configured")
        assert entry.details == {"breakage_policy": {"from": None, "to": "partners"}}


def test_a_partner_is_added_with_its_terms(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    assert client.put("/v1/coalition", json={"breakage_policy": "operator"}).status_code == 200
    owner = console(browser, factory, tenant, clock)
    new = "/admin/coalition/partners/new"
    made = post(owner, "/admin/coalition/partners", {"key": "zaytoon", **TERMS, "own_points_name": "Olives", "own_points_rate": "10"}, new)
    assert made.status_code == 303, made.text[:2000]
    partner = client.get("/v1/partners").json()["items"][0]
    assert made.headers["location"] == f"/admin/coalition/partners/{partner['id']}?done=created"
    assert {k: partner[k] for k in (*TERMS, "own_points_rate")} == {**TERMS, "own_points_rate": 10}
    assert "zaytoon" in owner.get("/admin/coalition").text
    assert "partner.created" in actions(factory, tenant.id)


@pytest.mark.parametrize(("change", "field", "said"), [
    ({"key": "Bad Key"}, "key", "Use small Latin letters"),
    ({"key": "zaytoon"}, "key", "Another partner has this key."),
    ({"earn_rate": ""}, "earn_rate", "This field is required."),
    ({"issue_price": "cheap"}, "issue_price", "This value is not in the expected form."),
    ({"issue_fee": "1.5"}, "issue_fee", "This value is not in the expected form."),
    ({"currency": "ZZZ"}, "currency", "Enter a currency code, such as SAR."),
    ({"own_points_name": "Olives"}, "own_points_rate", "Own points need both a name and a rate"),
    ({"own_points_rate": "ten"}, "own_points_rate", "Enter a whole number."),
])
def test_a_partner_with_wrong_terms_is_refused_beside_the_field(browser: Browser, client: TestClient, factory, tenant, clock,
                                                                 change: dict, field: str, said: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    assert client.put("/v1/coalition", json={"breakage_policy": "operator"}).status_code == 200
    assert client.post("/v1/partners", json={"key": "zaytoon", **{k: v for k, v in TERMS.items() if k != "period"}}).status_code == 201
    owner = console(browser, factory, tenant, clock)
    refused = post(owner, "/admin/coalition/partners", {"key": "other", **TERMS, **change}, "/admin/coalition/partners/new")
    assert refused.status_code == 422
    assert re.search(rf'<span class="field-error" id="err-{field}">[^<]*{re.escape(said)}', refused.text.replace("&#34;", '"')), refused.text
    assert 'value="Zaytoon Grocer"' in refused.text  # what was typed stays
    assert len(client.get("/v1/partners").json()["items"]) == 1


def test_only_owners_and_admins_add_partners(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    assert client.put("/v1/coalition", json={"breakage_policy": "operator"}).status_code == 200
    viewer = console(browser, factory, tenant, clock, "viewer")
    assert 'action="/admin/coalition/partners"' not in viewer.get("/admin/coalition/partners/new").text
    refused = post(viewer, "/admin/coalition/partners", {"key": "x", **TERMS}, "/admin/coalition")
    assert refused.status_code == 403 and "Only owners and admins can change the coalition." in refused.text
    assert client.get("/v1/partners").json()["items"] == []


def test_a_partners_terms_change_and_it_is_suspended_and_reactivated(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    made = history(client, clock)
    owner = console(browser, factory, tenant, clock)
    page = f"/admin/coalition/partners/{made['cafe']}"
    cafe = client.get(f"/v1/partners/{made['cafe']}").json()
    terms = {k: cafe[k] or "" for k in (*TERMS, "own_points_name")}
    saved = post(owner, page, {**terms, "earn_rate": "3"}, page)
    assert saved.status_code == 303 and saved.headers["location"] == f"{page}?done=saved"
    assert client.get(f"/v1/partners/{made['cafe']}").json()["earn_rate"] == "3"
    wrong = post(owner, page, {**terms, "redeem_value": "-1"}, page)
    assert wrong.status_code == 422 and 'id="err-redeem_value"' in wrong.text
    support = console(browser, factory, tenant, clock, "support")
    assert post(support, page, {**terms, "earn_rate": "9"}, page).status_code == 403
    assert client.get(f"/v1/partners/{made['cafe']}").json()["earn_rate"] == "3"
    assert post(owner, f"{page}/status", {"action": "suspend"}, page).headers["location"] == f"{page}?done=suspended"
    assert client.get(f"/v1/partners/{made['cafe']}").json()["status"] == "suspended"
    assert buy(client, made["member"], "2", "10.00", made["partners"]["cafe"]).status_code == 403
    assert post(owner, f"{page}/status", {"action": "reactivate"}, page).status_code == 303
    assert buy(client, made["member"], "3", "10.00", made["partners"]["cafe"]).status_code == 201
    with unit_of_work(factory) as session:
        (changed,) = audit.list_(session, tenant_id=tenant.id, action="partner.updated")
        assert changed.details == {"earn_rate": {"from": "2", "to": "3"}}
    assert {"partner.suspended", "partner.reactivated"} <= set(actions(factory, tenant.id))


def test_stores_are_given_and_taken(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    made = history(client, clock)
    owner = console(browser, factory, tenant, clock)
    page = f"/admin/coalition/partners/{made['pharmacy']}"
    added = post(owner, f"{page}/stores", {"store_code": "JED-PH-1", "store_name": "Tahlia", "store_city": "Jeddah"}, page)
    assert added.status_code == 303
    stores = client.get(f"/v1/partners/{made['pharmacy']}").json()["stores"]
    assert stores == [{"code": "JED-PH-1", "name": "Tahlia", "city": "Jeddah"}]
    taken = post(owner, f"{page}/stores", {"store_code": "RUH-CAFE-1", "store_name": "Olaya"}, page)  # the café's
    assert taken.status_code == 422 and "This store belongs to a partner already." in taken.text
    empty = post(owner, f"{page}/stores", {"store_code": "", "store_name": "Nameless"}, page)
    assert empty.status_code == 422 and 'id="err-store_code"' in empty.text
    assert post(owner, f"{page}/stores/remove", {"code": "JED-PH-1"}, page).status_code == 303
    assert client.get(f"/v1/partners/{made['pharmacy']}").json()["stores"] == []
    assert post(owner, f"{page}/stores/remove", {"code": "JED-PH-1"}, page).status_code == 422  # not its store (any more)
    marketer = console(browser, factory, tenant, clock, "marketer")
    assert post(marketer, f"{page}/stores", {"store_code": "X", "store_name": "X"}, page).status_code == 403
    assert {"partner.store_added", "partner.store_removed"} <= set(actions(factory, tenant.id))


def test_a_partner_key_is_shown_once_and_records_as_the_partner(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    made = history(client, clock)
    owner = console(browser, factory, tenant, clock)
    page = f"/admin/coalition/partners/{made['pharmacy']}"
    answer = post(owner, f"{page}/keys", {"key_name": "Tahlia till", "scopes": ["members:write", "events:write"]}, page)
    assert answer.status_code == 200
    secret = re.search(r'id="new-secret">([^<]+)<', answer.text).group(1)  # type: ignore[union-attr]
    enrolled = client.post("/v1/members", json={"external_id": "via-key"}, headers={"Authorization": f"Bearer {secret}"})
    assert enrolled.status_code == 201 and enrolled.json()["partner_id"] == made["pharmacy"]
    again = owner.get(page).text
    assert secret not in again and "Tahlia till" in again
    no_scope = post(owner, f"{page}/keys", {"key_name": "Empty"}, page)
    assert no_scope.status_code == 422 and 'id="err-scopes"' in no_scope.text
    admin_scope = post(owner, f"{page}/keys", {"key_name": "Sneaky", "scopes": ["admin"]}, page)
    assert admin_scope.status_code == 422
    key_id = re.search(rf'Tahlia till</bdi>(?:(?!</tr>).)*action="{page}/keys/(\d+)/revoke"', again, flags=re.DOTALL).group(1)  # type: ignore[union-attr]
    assert post(owner, f"{page}/keys/{key_id}/revoke", {}, page).status_code == 303
    assert client.post("/v1/members", json={"external_id": "late"}, headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    with unit_of_work(factory) as session:
        (created,) = [e for e in audit.list_(session, tenant_id=tenant.id, action="api_key.created") if e.details.get("partner_id")]
        assert created.details["partner_id"] == made["pharmacy"] and created.details["scopes"] == ["events:write", "members:write"]


def test_a_partners_person_is_invited_and_sees_their_partners_pages(browser: Browser, client: TestClient, factory, tenant, clock,
                                                                     inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    made = history(client, clock)
    owner = console(browser, factory, tenant, clock)
    page = f"/admin/coalition/partners/{made['cafe']}"
    address = unique_email("huda")
    invited = post(owner, f"{page}/people", {"email": address, "language": "en"}, page)
    assert invited.status_code == 303 and invited.headers["location"] == f"{page}?done=invited#people"
    (mail,) = inbox.to(address)
    assert "the pages of Qahwa Café" in mail.get_content()
    path = re.search(r"(/admin/invite/[A-Za-z0-9_-]+)", mail.get_content()).group(1)  # type: ignore[union-attr]
    visitor = browser()
    form = visitor.get(path, params={"lang": "en"})
    joined = visitor.post(path, data={"csrf": csrf_of(form.text), "name": "Huda", "password": PASSWORD, "password_again": PASSWORD},
                          follow_redirects=False)
    assert joined.status_code == 303
    answer = sign_in(browser(), tenant.slug, address)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/partner"
    with unit_of_work(factory) as session:
        person = admin_users.get_by_email(session, tenant_id=tenant.id, email=address)
        assert (person.role, person.partner_id, person.status) == ("partner", made["cafe"], "active")
    assert address in owner.get(page).text
    assert address not in owner.get("/admin/people").text  # the People page is the operator's people
    bad = post(owner, f"{page}/people", {"email": "not an address"}, page)
    assert bad.status_code == 422 and 'id="err-email"' in bad.text
    viewer = console(browser, factory, tenant, clock, "viewer")
    assert post(viewer, f"{page}/people", {"email": unique_email()}, page).status_code == 403


def test_the_people_page_never_mixes_partners_people_with_the_operators(browser: Browser, client: TestClient, factory, tenant, clock,
                                                                        inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    made = history(client, clock)
    owner = console(browser, factory, tenant, clock)
    page = f"/admin/coalition/partners/{made['cafe']}"
    waiting = unique_email("waiting")
    assert post(owner, f"{page}/people", {"email": waiting, "language": "en"}, page).status_code == 303
    as_operator = post(owner, "/admin/people/invite", {"email": waiting, "role": "admin", "language": "en"}, "/admin/people")
    assert as_operator.status_code == 422 and "This e-mail already belongs to someone in this organisation." in as_operator.text
    as_partner_role = post(owner, "/admin/people/invite", {"email": unique_email(), "role": "partner", "language": "en"}, "/admin/people")
    assert as_partner_role.status_code == 422 and "Choose one of the options." in as_partner_role.text
    staff = make_admin(factory, tenant.id, clock.now(), role="viewer")
    as_partners = post(owner, f"{page}/people", {"email": staff, "language": "en"}, page)
    assert as_partners.status_code == 422 and "This e-mail already belongs to someone in this organisation." in as_partners.text
    with unit_of_work(factory) as session:
        person = admin_users.get_by_email(session, tenant_id=tenant.id, email=waiting)
        viewer = admin_users.get_by_email(session, tenant_id=tenant.id, email=staff)
        person_id, viewer_id = person.id, viewer.id
    promoted = post(owner, f"/admin/people/{person_id}/role", {"role": "admin"}, "/admin/people")
    assert promoted.status_code == 422 and "keeps the partner role" in promoted.text
    demoted = post(owner, f"/admin/people/{viewer_id}/role", {"role": "partner"}, "/admin/people")
    assert demoted.status_code == 422
    with unit_of_work(factory) as session:
        assert admin_users.get(session, tenant_id=tenant.id, user_id=person_id).role == "partner"
        assert admin_users.get(session, tenant_id=tenant.id, user_id=viewer_id).role == "viewer"
    # A partner's person can be deactivated from the partner's page, which ends their sessions.
    assert post(owner, f"{page}/people/{person_id}/status", {"action": "deactivate"}, page).status_code == 303
    assert post(owner, f"/admin/coalition/partners/{made['pharmacy']}/people/{person_id}/status", {"action": "reactivate"},
                page).status_code == 422  # not the pharmacy's


def test_a_period_is_closed_from_the_console(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    partners = coalition(client)
    member_id = enrol(client, partners["cafe"])
    buy(client, member_id, "1", "100.00", partners["cafe"])
    owner = console(browser, factory, tenant, clock)
    page = "/admin/coalition/settlements"
    early = post(owner, page, {"period": "2026-03"}, page)
    assert early.status_code == 422 and "This period cannot be closed" in early.text
    wrong = post(owner, page, {"period": "March"}, page)
    assert wrong.status_code == 422 and 'id="err-period"' in wrong.text
    clock.advance(timedelta(days=40))
    owner = console(browser, factory, tenant, clock)  # the earlier session has ended by now
    assert 'value="2026-03"' in owner.get(page).text  # the period due is offered
    marketer = console(browser, factory, tenant, clock, "marketer")
    assert post(marketer, page, {"period": "2026-03"}, page).status_code == 403
    closed = post(owner, page, {"period": "2026-03"}, page)
    assert closed.status_code == 303
    run_page = closed.headers["location"]
    assert re.fullmatch(r"/admin/coalition/settlements/\d+\?done=closed", run_page)
    shown = owner.get(run_page).text
    assert "Qahwa Café" in shown and "Operator" in shown and "SAR" in shown
    runs = client.get("/v1/coalition/settlements").json()
    assert len(runs) == 1 and runs[0]["closed_by"].startswith("admin-")
    again = post(owner, page, {"period": "2026-03"}, page)
    assert again.headers["location"].endswith("?done=before")
    assert len(client.get("/v1/coalition/settlements").json()) == 1
    assert actions(factory, tenant.id).count("settlement.closed") == 1


def test_a_statement_shows_its_lines_and_downloads_as_csv_and_pdf(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    made = history(client, clock)
    viewer = console(browser, factory, tenant, clock, "viewer")
    page = viewer.get(f"/admin/coalition/statements/{made['statement']}").text
    assert "Points issued to the partner's customers" in page and f'href="/admin/statements/{made["statement"]}.csv"' in page
    assert re.search(r'id="statement-net"><bdi>[^<]*10\.00', page) and "The partner pays the operator" in page
    arabic = viewer.get(f"/admin/coalition/statements/{made['statement']}", params={"lang": "ar"}).text
    assert "Points issued to the partner" not in arabic.split("<main", 1)[1]
    got = viewer.get(f"/admin/statements/{made['statement']}.csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.text.lstrip("\ufeff"))))
    assert rows[1] == ["party", "Qahwa Café"] and rows[-1] == ["net", "positive: the operator pays the partner", "", "-10.00"]
    operator = viewer.get(f"/admin/statements/{made['operator_statement']}.csv")
    assert operator.status_code == 200 and "Operator" in operator.text
    pdf = viewer.get(f"/admin/statements/{made['statement']}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert viewer.get("/admin/statements/999999999.csv").status_code == 404


def test_the_open_period_and_the_flows_between_partners(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    made = history(client, clock)
    member_id = enrol(client, made["partners"]["pharmacy"], external_id="m-2")
    buy(client, member_id, "9", "30.00", made["partners"]["pharmacy"])  # 30 points at 0.06: the pharmacy owes 1.80 so far
    clock.advance(timedelta(minutes=1))
    viewer = console(browser, factory, tenant, clock, "viewer")
    home = viewer.get("/admin/coalition").text
    row = re.search(r'<tr data-partner="pharmacy">.*?</tr>', home, flags=re.DOTALL).group(0)  # type: ignore[union-attr]
    assert "1.80" in row, row
    flows = viewer.get("/admin/coalition/flows", params={"period": "custom", "from-date": "2026-03-01", "to-date": "2026-03-31"}).text
    assert re.search(r'<tr data-earned="cafe" data-spent="pharmacy">.*?150</td>', flows, flags=re.DOTALL), flows
    chart = json.loads(re.search(r'<script type="application/json" data-for="chart-flows">(.*?)</script>', flows, flags=re.DOTALL).group(1))  # type: ignore[union-attr]
    assert chart["labels"] == ["Shifa Pharmacy"] and chart["datasets"] == [["Qahwa Café", [150]]]
    empty = viewer.get("/admin/coalition/flows", params={"period": "7d"}).text
    assert "No points were spent in these days." in empty


# --- a partner's person ----------------------------------------------------------------------------------


def test_a_partners_person_sees_their_figures_statements_and_offers(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    made = history(client, clock)
    assert client.post("/v1/rewards", json=reward_body("cafe-cup", GIFT, partner="cafe")).status_code == 201
    assert client.post("/v1/rewards", json=reward_body("own-mug", GIFT)).status_code == 201
    offer = {**RULE, "name_en": "Café double points", "partner": "cafe"}
    assert client.post("/v1/rules", json=offer).status_code == 201, client.post("/v1/rules", json=offer).text
    cafe = partner_person(browser, factory, tenant, clock, made["cafe"])
    board = cafe.get("/admin/partner", params={"period": "90d"}).text
    figures = dict(re.findall(r'data-figure="(\w+)"><h2>[^<]*</h2><p class="value">([^<]*)<', board))
    assert (figures["points_issued"], figures["points_redeemed"], figures["members_joined"]) == ("200", "0", "1")
    assert re.search(r'<tr data-partner="pharmacy"><td><bdi>Shifa Pharmacy</bdi></td><td class="num">1</td><td class="num">1</td>', board)
    assert "/admin/members/" not in board  # counts, never who
    nav = board.split("<main", 1)[0]
    assert 'href="/admin/partner/statements"' in nav and 'href="/admin/members"' not in nav and 'href="/admin/coalition"' not in nav
    statements = cafe.get("/admin/partner/statements").text
    assert f'href="/admin/statements/{made["statement"]}.csv"' in statements and f'/admin/statements/{made["other_statement"]}.csv' not in statements
    assert cafe.get(f"/admin/partner/statements/{made['statement']}").status_code == 200
    offers = cafe.get("/admin/partner/offers").text
    assert "Café double points" in offers and 'data-reward="cafe-cup"' in offers and "own-mug" not in offers
    pharmacy = partner_person(browser, factory, tenant, clock, made["pharmacy"])
    theirs = pharmacy.get("/admin/partner", params={"period": "90d"}).text
    figures = dict(re.findall(r'data-figure="(\w+)"><h2>[^<]*</h2><p class="value">([^<]*)<', theirs))
    assert (figures["points_issued"], figures["points_redeemed"], figures["members_joined"]) == ("0", "150", "0")
    assert re.search(r'<tr data-partner="cafe"><td><bdi>Qahwa Café</bdi></td><td class="num">1</td><td class="num">1</td>', theirs)
    assert "Café double points" not in pharmacy.get("/admin/partner/offers").text


def test_a_partners_person_downloads_their_statements_only(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    made = history(client, clock)
    cafe = partner_person(browser, factory, tenant, clock, made["cafe"])
    own = cafe.get(f"/admin/statements/{made['statement']}.csv")
    assert own.status_code == 200 and "Qahwa Café" in own.text
    for other in (made["other_statement"], made["operator_statement"], 999999999):
        for suffix in ("csv", "pdf"):
            refused = cafe.get(f"/admin/statements/{other}.{suffix}")
            assert refused.status_code == 403 and PARTNER_ONLY in refused.text and "Shifa" not in refused.text, (other, suffix)
        assert cafe.get(f"/admin/partner/statements/{other}").status_code == 403
    pharmacy = partner_person(browser, factory, tenant, clock, made["pharmacy"])
    assert pharmacy.get(f"/admin/statements/{made['statement']}.csv").status_code == 403
    assert pharmacy.get(f"/admin/statements/{made['other_statement']}.csv").status_code == 200


def test_a_suspended_partners_people_are_refused_until_it_is_reactivated(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    made = history(client, clock)
    cafe = partner_person(browser, factory, tenant, clock, made["cafe"])
    token = csrf_of(cafe.get("/admin/partner").text)
    assert client.patch(f"/v1/partners/{made['cafe']}", json={"status": "suspended"}).status_code == 200
    closed = cafe.get("/admin/partner")
    assert closed.status_code == 403 and "Your partner is suspended" in closed.text
    assert cafe.get(f"/admin/statements/{made['statement']}.csv").status_code == 403
    assert cafe.post("/admin/logout", data={"csrf": token}, follow_redirects=False).status_code == 303


def test_the_operators_people_do_not_have_a_partners_pages(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    history(client, clock)
    owner = console(browser, factory, tenant, clock)
    for path in ("/admin/partner", "/admin/partner/statements", "/admin/partner/offers"):
        assert owner.get(path).status_code == 403, path


# Routes that need no session: they answer anyone the same (a form, a redirect, or an expired link).
PUBLIC = {"/admin/login", "/admin/password/forgot", "/admin/password/reset/{token}", "/admin/invite/{token}"}


def operator_things(client: TestClient, factory, tenant, clock, made: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One of each of the operator's things a console route names, made as the operator makes them."""
    member_id = make_member(factory, tenant.id, clock.now(), name="Private Person", email="private@example.com")
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "OP-1", "amount": "500.00", "currency": "SAR"})
    reward = client.post("/v1/rewards", json=reward_body("mug", GIFT)).json()
    redemption = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": reward["id"]})
    assert redemption.status_code == 201, redemption.text
    tier = client.post("/v1/tiers", json={"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 1, "threshold": "1000"}).json()
    plan = client.post("/v1/membership-plans", json=PLUS).json()
    coupons = client.post("/v1/coupon-campaigns", json={"name": "Ten", "discount": {"type": "percent", "percent": "10"}, "count": 1}).json()
    survey = client.post("/v1/surveys", json=NPS_SURVEY).json()
    goal = client.post("/v1/analytics/goals", json={"kpi": "purchase_frequency", "target": "2", "starts_on": "2026-02-01", "ends_on": "2026-02-28"})
    endpoint = client.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook"}).json()
    campaign = client.post("/v1/campaigns", json={"name": "Eid", "audience": {"all": True}, "channel": "sms", "body": {"en": "Hi", "ar": "مرحبا"},
                                                  "send_at": (clock.now() + timedelta(days=1)).isoformat()})
    assert campaign.status_code == 201, campaign.text
    rule = client.post("/v1/rules", json=RULE).json()
    key = client.get("/v1/api-keys").json()[0]
    owner_email = make_admin(factory, tenant.id, clock.now(), role="owner")
    with unit_of_work(factory) as session:
        job = import_jobs.create(session, tenant_id=tenant.id, file_name="purchases.csv", award=False, created_by="owner", now=clock.now())
        job_id, owner_id = job.id, admin_users.get_by_email(session, tenant_id=tenant.id, email=owner_email).id
    return {
        "member_id": member_id, "rule_id": rule["id"], "reward_id": reward["id"], "redemption_id": redemption.json()["id"], "tier_id": tier["id"],
        "plan_id": plan["id"], "job_id": job_id, "key_id": key["id"], "user_id": owner_id, "token": uuid.uuid4().hex, "survey_id": survey["id"],
        "goal_id": goal.json()["id"], "endpoint_id": endpoint["id"], "kind": "welcome", "channel": "email", "language": "en",
        "partner_id": made["pharmacy"], "run_id": made["run"], "statement_id": made["other_statement"], "index": 0, "review_id": 1,
        "coupons": coupons["id"], "campaigns": campaign.json()["id"], "offer_key": "latte-half",
        "key": "spring-test",  # an experiment's key (/admin/experiments/{key}): refused before it is looked up
        "store_code": "RUH-01",  # a store's code (/admin/stores/{store_code}): refused before it is looked up
    }


def console_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) of the console, as the app has them (pages added later included)."""
    return sorted({(method, route.path) for route in iter_route_contexts(app.routes) if route.path.startswith("/admin")
                   for method in (route.methods or ()) if method in ("GET", "POST")})


def test_a_partners_person_gets_the_403_page_on_every_other_console_route(browser: Browser, client: TestClient, factory, tenant, clock,
                                                                          allow_private_webhooks: None) -> None:  # type: ignore[no-untyped-def]
    """Route by route, like tenant isolation: every GET and POST of the console, its ids those of real things
    of the operator's (another partner's where it names a partner), is the 403 page for a partner's person,
    saying why and showing nothing of the operator's; the pages that need no session answer as to anyone."""
    made = history(client, clock)
    things = operator_things(client, factory, tenant, clock, made)
    cafe = partner_person(browser, factory, tenant, clock, made["cafe"])
    token = csrf_of(cafe.get("/admin/partner").text)
    before = actions(factory, tenant.id)
    mine = {"/admin/partner", "/admin/partner/statements", "/admin/partner/offers", "/admin/account", "/admin/account/password",
            "/admin/partner/statements/{statement_id}", "/admin/statements/{statement_id}.csv", "/admin/statements/{statement_id}.pdf"}
    routes = console_routes(client.app)
    assert ("GET", "/admin/coalition/partners/{partner_id}") in routes and ("GET", "/admin/members/{member_id}") in routes
    wrong, checked = [], 0
    for method, route in routes:
        if route == "/admin/logout":
            continue
        ids = {**things, "campaign_id": things["coupons"] if route.startswith("/admin/coupons") else things["campaigns"]}
        path = fill(route, ids)
        if method == "GET":
            answer = cafe.get(path, follow_redirects=False)
        else:
            answer = cafe.post(path, data={"csrf": token}, headers={"X-CSRF-Token": token}, follow_redirects=False)
        checked += 1
        # Their own pages name the other partners (their customers' visits there, as counts); nothing else may.
        private = "Private Person" in answer.text or "private@example.com" in answer.text or "Traceback" in answer.text
        other = "Shifa" in answer.text
        if route in PUBLIC:
            ok = answer.status_code in (200, 303, 401, 403, 410, 422) and not private and not other
        elif route in mine and route.startswith(("/admin/statements", "/admin/partner/statements/")):
            ok = answer.status_code == 403 and PARTNER_ONLY in answer.text and not private and not other  # another partner's statement
        elif route in mine:
            ok = answer.status_code in (200, 303, 422) and not private
        elif route == "/admin" and method == "GET":
            # The console's start page (the error page links to it) sends them to their partner's.
            ok = answer.status_code == 303 and answer.headers["location"] == "/admin/partner"
        else:
            ok = answer.status_code == 403 and PARTNER_ONLY in answer.text and not private and not other
        if not ok:
            wrong.append(f"{method} {route}: {answer.status_code}")
    assert not wrong, "\n".join(wrong)
    assert checked > 100
    # Nothing the partner's person sent changed anything of the operator's.
    assert [a for a in actions(factory, tenant.id) if a not in before] == []

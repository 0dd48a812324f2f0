"""Members' data rights in the console: each read of personal data leaves one audit record (a profile, a
page of the list, the consent history, an export), the member's export is a zip posted with the CSRF
token by the roles that look after members, owners alone erase after a confirmation (and tick what is
forfeited), the whole consent history pages, and the retention period is set on the settings page."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.conftest import TenantCtx, make_member
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.tenants import audit
from wafa.tenants.models import AuditEntry


def as_role(browser: Browser, factory, tenant, clock, role: str) -> TestClient:  # type: ignore[no-untyped-def]
    console = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role=role))
    console.get("/admin/people", params={"lang": "en"})  # the language cookie, as the switch link sets it
    return console


def records(factory: sessionmaker[Session], tenant_id: int, action: str) -> list[AuditEntry]:
    with unit_of_work(factory) as session:
        return audit.list_(session, tenant_id=tenant_id, action=action)


def post(console: TestClient, path: str, page: str, **data: str):  # type: ignore[no-untyped-def]
    return console.post(path, data={"csrf": csrf_of(console.get(page).text), **data}, follow_redirects=False)


@pytest.fixture
def owner(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return as_role(browser, factory, tenant, clock, "owner")


# --- reads of personal data, audited -------------------------------------------------------------------


def test_a_profile_a_page_of_the_list_and_the_consent_history_each_leave_one_read_record(
    owner: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    ids = [make_member(factory, tenant.id, clock.now(), name=f"Member {n}", email=f"m{n}@example.com") for n in range(3)]
    assert owner.get(f"/admin/members/{ids[0]}").status_code == 200
    (viewed,) = records(factory, tenant.id, "member.viewed")
    assert (viewed.target, viewed.details, viewed.admin_user_id is not None) == (f"member:{ids[0]}", {"page": "profile"}, True)
    assert owner.get("/admin/members").status_code == 200
    (listed,) = records(factory, tenant.id, "members.listed")
    assert sorted(listed.details["members"]) == sorted(ids) and listed.target == "members"
    owner.get("/admin/members", params={"q": "m1@example.com"}, headers={"HX-Request": "true"})  # a search as typed
    searched = records(factory, tenant.id, "members.listed")[0]
    assert searched.details["members"] == [ids[1]] and "example.com" not in json.dumps(searched.details)  # who was shown, not what was typed
    assert owner.get(f"/admin/members/{ids[1]}/consents").status_code == 200
    assert records(factory, tenant.id, "member.viewed")[0].details == {"page": "consents"}
    assert owner.get("/admin/members.csv").status_code == 200
    assert records(factory, tenant.id, "members.exported")[0].details["page"] == "members.csv"
    # An empty list shows nobody's data: nothing to record.
    before = len(records(factory, tenant.id, "members.listed"))
    owner.get("/admin/members", params={"q": "nobody-at-all"})
    assert len(records(factory, tenant.id, "members.listed")) == before


# --- export ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin", "support"])
def test_the_roles_that_look_after_members_export_a_member_as_a_zip_audited(
    browser: Browser, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock, role: str,
) -> None:
    member_id = make_member(factory, tenant.id, clock.now(), name="Layla", email="layla@example.com")
    console = as_role(browser, factory, tenant, clock, role)
    page = console.get(f"/admin/members/{member_id}").text
    assert 'id="export-form"' in page
    answer = post(console, f"/admin/members/{member_id}/export", f"/admin/members/{member_id}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert json.loads(archive.read("member.json"))["sections"]["profile"][0]["email"] == "layla@example.com"
    (exported,) = records(factory, tenant.id, "member.exported")
    assert (exported.target, exported.details) == (f"member:{member_id}", {"format": "zip"})


@pytest.mark.parametrize("role", ["marketer", "viewer"])
def test_other_roles_get_no_export_and_a_get_exports_nothing(
    browser: Browser, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock, role: str,
) -> None:
    member_id = make_member(factory, tenant.id, clock.now(), name="Layla")
    console = as_role(browser, factory, tenant, clock, role)
    page = console.get(f"/admin/members/{member_id}").text
    assert 'id="export-form"' not in page and 'id="erase-form"' not in page
    refused = post(console, f"/admin/members/{member_id}/export", f"/admin/members/{member_id}")
    assert refused.status_code == 403 and "Only owners, admins and support staff" in refused.text
    assert console.get(f"/admin/members/{member_id}/export").status_code in (404, 405)  # a link cannot export
    assert records(factory, tenant.id, "member.exported") == []


# --- erasure -----------------------------------------------------------------------------------------------


def test_an_owner_erases_after_confirming_and_the_erasure_is_audited(
    owner: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    member_id = make_member(factory, tenant.id, clock.now(), name="Yasmin", email="yasmin@example.com")
    profile = f"/admin/members/{member_id}"
    asked = post(owner, f"{profile}/erase", profile)
    assert asked.status_code == 200 and "Yes, erase" in asked.text and 'id="confirm"' in asked.text
    assert client.get(f"/v1/members/{member_id}").json()["name"] == "Yasmin"  # nothing happens before the confirmation
    done = post(owner, f"{profile}/erase", profile, confirmed="yes")
    assert done.status_code == 303 and done.headers["location"] == f"{profile}?done=erased"
    member = client.get(f"/v1/members/{member_id}").json()
    assert (member["name"], member["email"], member["status"]) == (None, None, "closed")
    page = owner.get(profile, params={"done": "erased", "lang": "en"}).text
    assert "personal data is erased" in page and 'id="erased"' in page and 'id="erase-form"' not in page
    (record,) = records(factory, tenant.id, "member.erased")
    assert (record.target, record.details, record.admin_user_id is not None) == (f"member:{member_id}", {"via": "console"}, True)


def test_an_erasure_of_a_member_with_points_asks_to_tick_the_forfeit(
    owner: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    member_id = make_member(factory, tenant.id, clock.now(), name="Dana")
    client.post(f"/v1/members/{member_id}/adjustments", json={"points": 80, "reason": "gift"})
    profile = f"/admin/members/{member_id}"
    assert 'name="forfeit_balance"' in owner.get(profile).text and 'name="write_off_debt"' not in owner.get(profile).text
    refused = post(owner, f"{profile}/erase", profile, confirmed="yes")
    assert refused.status_code == 409 and "tick “Forfeit what the member holds”" in refused.text
    assert client.get(f"/v1/members/{member_id}").json()["name"] == "Dana"
    asked = post(owner, f"{profile}/erase", profile, forfeit_balance="on")
    assert "What the member still holds is forfeited." in asked.text and 'name="forfeit_balance" value="on"' in asked.text
    assert post(owner, f"{profile}/erase", profile, forfeit_balance="on", confirmed="yes").status_code == 303
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 0


@pytest.mark.parametrize("role", ["admin", "support"])
def test_only_owners_erase(browser: Browser, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
                           role: str) -> None:
    member_id = make_member(factory, tenant.id, clock.now(), name="Nada")
    console = as_role(browser, factory, tenant, clock, role)
    assert 'id="erase-form"' not in console.get(f"/admin/members/{member_id}").text
    refused = post(console, f"/admin/members/{member_id}/erase", f"/admin/members/{member_id}", confirmed="yes")
    assert refused.status_code == 403 and "Only owners can do this." in refused.text
    assert client.get(f"/v1/members/{member_id}").json()["name"] == "Nada"


def test_the_erasure_confirmation_speaks_arabic(owner: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> None:
    member_id = make_member(factory, tenant.id, clock.now(), name="Yasmin")
    profile = f"/admin/members/{member_id}"
    owner.get(profile, params={"lang": "ar"})
    asked = post(owner, f"{profile}/erase", profile)
    assert "نعم، امسح" in asked.text and "لا يمكن التراجع عن ذلك" in asked.text


# --- the whole consent history ---------------------------------------------------------------------------


def test_the_whole_consent_history_pages_fifty_at_a_time_from_a_link_on_the_profile(
    owner: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    member_id = make_member(factory, tenant.id, clock.now(), name="Hala")
    for n in range(60):
        client.patch(f"/v1/members/{member_id}", json={"consent": {"sms": n % 2 == 0}})
    profile = owner.get(f"/admin/members/{member_id}").text
    assert f'href="/admin/members/{member_id}/consents"' in profile
    first = owner.get(f"/admin/members/{member_id}/consents", params={"lang": "en"}).text
    assert first.count("<tr><td") == 50
    older = re.search(rf'href="(/admin/members/{member_id}/consents\?before=\d+)"', first)
    assert older
    rest = owner.get(older.group(1)).text
    assert rest.count("<tr><td") == 10 and "?before=" not in rest and f'href="/admin/members/{member_id}/consents"' in rest


def test_the_consent_history_of_another_tenants_member_is_404(owner: TestClient, factory: sessionmaker[Session], clock: FrozenClock) -> None:
    from tests.conftest import make_tenant

    other = make_tenant(factory, clock.now())
    theirs = make_member(factory, other.id, clock.now(), name="Elsewhere")
    page = owner.get(f"/admin/members/{theirs}/consents")
    assert page.status_code == 404 and "Elsewhere" not in page.text


# --- the retention period -----------------------------------------------------------------------------------


def test_the_retention_period_is_set_cleared_and_checked_on_the_settings_page(
    owner: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    assert 'action="/admin/settings/retention"' in owner.get("/admin/settings").text
    assert post(owner, "/admin/settings/retention", "/admin/settings", anonymise_inactive_after_years="3").status_code == 303
    assert client.get("/v1/program/retention").json() == {"anonymise_inactive_after_years": 3}
    assert 'name="anonymise_inactive_after_years" value="3"' in owner.get("/admin/settings").text
    (changed,) = records(factory, tenant.id, "program.retention_changed")
    assert changed.details == {"anonymise_inactive_after_years": 3}
    for typed, says in (("three", "Enter a whole number."), ("0", "Enter 1 or more."), ("500", "Enter 100 or less.")):
        wrong = post(owner, "/admin/settings/retention", "/admin/settings", anonymise_inactive_after_years=typed)
        assert wrong.status_code == 422 and says in wrong.text, typed
    assert client.get("/v1/program/retention").json() == {"anonymise_inactive_after_years": 3}
    assert post(owner, "/admin/settings/retention", "/admin/settings", anonymise_inactive_after_years="").status_code == 303
    assert client.get("/v1/program/retention").json() == {"anonymise_inactive_after_years": None}


def test_a_marketer_cannot_set_the_retention_period(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    marketer = as_role(browser, factory, tenant, clock, "marketer")
    refused = post(marketer, "/admin/settings/retention", "/admin/settings", anonymise_inactive_after_years="2")
    assert refused.status_code == 403 and "Only owners and admins" in refused.text
    assert client.get("/v1/program/retention").json() == {"anonymise_inactive_after_years": None}

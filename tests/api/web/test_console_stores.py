"""The console's stores page and the portal's stores page, on both databases: a store added, changed and
imported from a CSV file in the console (each change audited, a bad file importing nothing), today's
check-ins per store; a member finds nearby stores, checks in once, and is refused a second time."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import Browser, Inbox, csrf_of, make_admin, signed_in
from tests.api.web.test_portal_auth import member_signed_in, member_with_email
from tests.conftest import TenantCtx
from wafa.clock import FrozenClock
from wafa.tenants import audit

STORE = {"code": "RUH-01", "name_en": "Olaya", "name_ar": "العليا", "latitude": "24.69", "longitude": "46.685", "timezone": "Asia/Riyadh",
         "radius_m": "150", "hours": "mon-sun 00:00-24:00"}
CSV = ("code,name_en,name_ar,latitude,longitude,timezone,radius_m,hours\n"
       'JED-01,Tahlia,التحلية,21.54,39.17,Asia/Riyadh,,"mon-thu 09:00-23:00; fri 18:00-02:00; sat-sun closed"\n')


@pytest.fixture
def admin(browser: Browser, factory: sessionmaker[Session], clock: FrozenClock, tenant: TenantCtx) -> TestClient:
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def actions(factory: sessionmaker[Session], tenant_id: int) -> list[str]:
    with factory() as session:
        return [entry.action for entry in reversed(audit.list_(session, tenant_id=tenant_id, limit=200))]


def test_add_change_and_import_stores_from_the_console(admin: TestClient, client: TestClient, factory: sessionmaker[Session],
                                                       tenant: TenantCtx) -> None:
    page = admin.get("/admin/stores", params={"lang": "en"})
    assert page.status_code == 200 and "No stores yet." in page.text and 'href="/admin/stores"' in page.text
    csrf = csrf_of(page.text)
    refused = admin.post("/admin/stores", data={"csrf": csrf, **STORE, "timezone": "Mars/Olympus", "hours": "someday", "latitude": "north"},
                         follow_redirects=False)
    assert refused.status_code == 422
    assert "Choose an IANA time zone" in refused.text and "Write the hours like this" in refused.text and "Enter a number, such as" in refused.text
    added = admin.post("/admin/stores", data={"csrf": csrf, **STORE}, follow_redirects=False)
    assert added.status_code == 303, added.text
    assert client.get("/v1/stores/RUH-01").json()["hours"]["fri"] == [["00:00", "24:00"]]

    edit = admin.get("/admin/stores/RUH-01", params={"lang": "en"})
    assert edit.status_code == 200 and 'value="mon-sun 00:00-24:00"' in edit.text
    changed = admin.post("/admin/stores/RUH-01", data={"csrf": csrf, **STORE, "radius_m": "300", "hours": "fri 18:00-02:00"},
                         follow_redirects=False)  # the active box left unticked: deactivated
    assert changed.status_code == 303, changed.text
    body = client.get("/v1/stores/RUH-01").json()
    assert (body["radius_m"], body["active"], body["hours"]["fri"], body["hours"]["mon"]) == (300, False, [["18:00", "02:00"]], [])

    bad = admin.post("/admin/stores/import", data={"csrf": csrf}, files={"file": ("stores.csv", CSV + "BAD,Bad,,95,1,UTC,,\n", "text/csv")})
    assert bad.status_code == 422 and "line 3: latitude" in bad.text
    assert client.get("/v1/stores/JED-01").status_code == 404
    imported = admin.post("/admin/stores/import", data={"csrf": csrf}, files={"file": ("stores.csv", CSV, "text/csv")}, follow_redirects=False)
    assert imported.status_code == 303, imported.text
    listed = admin.get("/admin/stores", params={"lang": "en"}).text
    assert 'data-store="JED-01"' in listed and "mon-thu 09:00-23:00; fri 18:00-02:00; sat-sun closed" in listed
    assert actions(factory, tenant.id)[-3:] == ["store.created", "store.updated", "stores.imported"]
    assert admin.get("/admin/stores/NOPE").status_code == 404
    arabic = admin.get("/admin/stores", params={"lang": "ar"}).text
    assert "المتاجر" in arabic and "تسجيلات الحضور اليوم" in arabic


def test_a_viewer_sees_the_stores_but_cannot_change_them(browser: Browser, client: TestClient, factory: sessionmaker[Session],
                                                        clock: FrozenClock, tenant: TenantCtx) -> None:
    client.post("/v1/stores", json={**STORE, "latitude": 24.69, "longitude": 46.685, "radius_m": 150, "hours": {}})
    viewer = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="viewer"))
    page = viewer.get("/admin/stores", params={"lang": "en"})
    assert page.status_code == 200 and 'data-store="RUH-01"' in page.text and 'action="/admin/stores"' not in page.text
    refused = viewer.post("/admin/stores", data={"csrf": csrf_of(page.text), **STORE, "code": "X"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/v1/stores/X").status_code == 404


def test_a_member_finds_nearby_stores_checks_in_once_and_the_console_counts_it(
    browser: Browser, admin: TestClient, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    client.post("/v1/stores", json={**STORE, "latitude": 24.69, "longitude": 46.685, "radius_m": 150,
                                    "hours": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    client.post("/v1/stores", json={**STORE, "code": "SHUT", "name_en": "Shut", "latitude": 24.6905, "longitude": 46.685, "radius_m": 150,
                                    "hours": {}})
    member_id, email = member_with_email(factory, tenant, "Sara")
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    base = f"/m/{tenant.slug}"
    assert f'href="{base}/stores"' in phone.get(f"{base}/achievements").text
    empty = phone.get(f"{base}/stores", params={"lang": "en"})
    assert empty.status_code == 200 and "it is not stored" in empty.text and "data-locate" in empty.text
    assert "لا يُحفظ" in phone.get(f"{base}/my-data", params={"lang": "ar"}).text
    csrf = csrf_of(empty.text)
    here = {"csrf": csrf, "latitude": "24.691", "longitude": "46.685"}
    near = phone.post(f"{base}/stores", data=here)
    assert near.status_code == 200
    assert re.search(r'data-store="RUH-01".*?data-open="yes".*?/stores/RUH-01/check-in', near.text, re.DOTALL)
    assert 'data-store="SHUT"' in near.text and "/stores/SHUT/check-in" not in near.text  # closed: no button
    done = phone.post(f"{base}/stores/RUH-01/check-in", data=here)
    assert done.status_code == 200 and 'id="checked-in"' in done.text and "data-checked-in" in done.text
    again = phone.post(f"{base}/stores/RUH-01/check-in", data=here)
    assert again.status_code == 409 and 'id="check-in-problem"' in again.text
    far = phone.post(f"{base}/stores/SHUT/check-in", data={**here, "latitude": "24.70"})
    assert far.status_code == 422 and "أنت على بعد" in far.text  # the page speaks Arabic since my-data was asked in it
    assert phone.post(f"{base}/stores/RUH-01/check-in", data={**here, "csrf": "forged"}).status_code == 403
    items = client.get(f"/v1/members/{member_id}/check-ins").json()["items"]
    assert [i["store"] for i in items] == ["RUH-01"]
    assert client.get(f"/v1/events/{items[0]['event_id']}").json()["type"] == "check_in"
    listed = admin.get("/admin/stores", params={"lang": "en"}).text
    assert re.search(r'data-store="RUH-01".*?data-today="1"', listed, re.DOTALL)

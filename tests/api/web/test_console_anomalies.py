"""The console's anomaly flags, on both databases: each kind lists the flagged members with the evidence
and links to their profiles, leaves ordinary members out, reads in Arabic, and is audited as a read of
personal data (once per page shown, naming the members it showed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import Browser, make_admin, signed_in
from tests.conftest import TenantCtx
from wafa.clock import FrozenClock
from wafa.tenants import audit


@pytest.fixture
def admin(browser: Browser, factory: sessionmaker[Session], clock: FrozenClock, tenant: TenantCtx) -> TestClient:
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def enrol(client: TestClient, external_id: str, **fields: str) -> int:
    made = client.post("/v1/members", json={"external_id": external_id, **fields})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def listed(factory: sessionmaker[Session], tenant_id: int) -> list[dict]:  # type: ignore[type-arg]
    with factory() as session:
        return [entry.details for entry in audit.list_(session, tenant_id=tenant_id, action="anomalies.listed")]


def test_returns_flags_the_returner_with_the_figures_and_audits_the_read(
    admin: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    returner = enrol(client, "returner")
    plain = [enrol(client, f"plain-{n}") for n in range(4)]
    for name in ("returner", "plain-0", "plain-1", "plain-2", "plain-3"):
        for n in range(4):
            body = {"type": "purchase", "member": {"external_id": name}, "order_id": f"{name}-{n}", "amount": "25.00", "currency": "SAR"}
            assert client.post("/v1/events", json=body).status_code == 201
    for n in range(3):
        assert client.post("/v1/events", json={"type": "return", "order_id": f"returner-{n}"}).status_code == 201
    clock.advance(timedelta(minutes=5))

    page = admin.get("/admin/anomalies", params={"lang": "en"})

    assert page.status_code == 200, page.text
    assert f'href="/admin/members/{returner}"' in page.text
    assert not any(f'href="/admin/members/{m}"' in page.text for m in plain)
    assert "75.00" in page.text and "100.00" in page.text and "15.0%" in page.text  # returned, bought, the program's share
    assert listed(factory, tenant.id) == [{"page": "anomalies", "kind": "returns", "members": [returner]}]


def test_shared_contacts_list_the_members_and_their_enrolment(
    admin: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    sharing = [enrol(client, f"share-{n}", phone="0501234567") for n in range(3)]
    pair = [enrol(client, f"pair-{n}", phone="0559876543") for n in range(2)]

    page = admin.get("/admin/anomalies", params={"kind": "shared_contact", "lang": "en"})

    assert page.status_code == 200
    assert "+966501234567" in page.text and "+966559876543" not in page.text
    assert all(f'href="/admin/members/{m}"' in page.text for m in sharing)
    assert not any(f'href="/admin/members/{m}"' in page.text for m in pair)
    assert "share-0" in page.text and "no device id" in page.text
    assert listed(factory, tenant.id)[0]["members"] == sorted(sharing)


def test_quick_redemptions_show_the_spends_in_arabic(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    quick = enrol(client, "quick")
    later = enrol(client, "later")
    for member_id in (quick, later):
        assert client.post(f"/v1/members/{member_id}/adjustments", json={"points": 300, "reason": "welcome"}).status_code == 201
    clock.advance(timedelta(hours=2))
    assert client.post(f"/v1/members/{quick}/redemptions", json={"points": 120, "reason": "coffee"}).status_code == 201
    clock.advance(timedelta(days=3))
    assert client.post(f"/v1/members/{later}/redemptions", json={"points": 120, "reason": "coffee"}).status_code == 201

    admin = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))  # signed in after the days went by
    page = admin.get("/admin/anomalies", params={"kind": "quick_redemption", "lang": "ar"})

    assert page.status_code == 200
    assert "مؤشرات الاشتباه" in page.text and "إنفاق بعد التسجيل مباشرة" in page.text
    assert f'href="/admin/members/{quick}"' in page.text and f'href="/admin/members/{later}"' not in page.text


def test_nothing_flagged_says_so_and_writes_no_audit_record(admin: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    for kind in ("returns", "shared_contact", "quick_redemption", "no-such-kind"):
        page = admin.get("/admin/anomalies", params={"kind": kind, "lang": "en"})
        assert page.status_code == 200 and "Nothing is flagged." in page.text
    assert listed(factory, tenant.id) == []


def test_the_page_is_in_the_navigation_and_needs_a_signed_in_person(admin: TestClient, browser: Browser) -> None:
    assert 'href="/admin/anomalies"' in admin.get("/admin", params={"lang": "en"}).text
    assert browser().get("/admin/anomalies", follow_redirects=False).status_code in (302, 303)

"""Members and the audit trail without a browser, on both databases: lists that page past 50 with the
total, filter, sort and export as CSV; a profile's history paged to its first line; adjustments and
suspensions that ask first, need a reason and stay within a bound; Arabic details read as Arabic."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.conftest import make_member
from wafa.db import unit_of_work
from wafa.ledger import service as ledger
from wafa.tenants import audit


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def shown_total(page: str) -> str:
    found = re.search(r"(\d+)–(\d+) of (\d+)", page)
    assert found, "no total on the page"
    return found.group(0)


def rows_of(answer) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text.removeprefix("\ufeff"))))


def test_the_member_list_pages_past_fifty_with_the_total_and_exports_every_row(admin: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    ids = [make_member(factory, tenant.id, clock.now(), external_id=f"M{n:03d}", name=f"Member {n:03d}") for n in range(60)]
    first = admin.get("/admin/members", params={"lang": "en"})
    assert shown_total(first.text) == "1–50 of 60"
    assert first.text.count('href="/admin/members/') >= 50
    last = admin.get("/admin/members", params={"lang": "en", "page": "2"})
    assert shown_total(last.text) == "51–60 of 60"
    by_name = admin.get("/admin/members", params={"lang": "en", "sort": "name", "dir": "desc", "size": "25"})
    assert shown_total(by_name.text) == "1–25 of 60" and by_name.text.index("Member 059") < by_name.text.index("Member 058")
    exported = rows_of(admin.get("/admin/members.csv", params={"sort": "name", "dir": "asc"}))
    assert [int(r["id"]) for r in exported] == ids
    assert exported[0]["external_id"] == "M000" and exported[0]["status"] == "active"


def test_the_member_list_filters_by_status_tier_and_joining_dates(admin: TestClient, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    kept = make_member(factory, tenant.id, clock.now(), external_id="KEEP")
    gone = make_member(factory, tenant.id, clock.now(), external_id="GONE")
    assert client.post(f"/v1/members/{gone}/suspend", json={"reason": "test"}).status_code == 200
    suspended = admin.get("/admin/members", params={"lang": "en", "status": "suspended"})
    assert shown_total(suspended.text) == "1–1 of 1" and f"/admin/members/{gone}" in suspended.text
    assert f"/admin/members/{kept}" in admin.get("/admin/members", params={"tier": "none"}).text
    assert "Nothing to show." in admin.get("/admin/members", params={"lang": "en", "tier": "gold"}).text
    today = clock.now().date().isoformat()
    assert shown_total(admin.get("/admin/members", params={"lang": "en", "joined-from-date": today, "joined-to-date": today}).text) == "1–2 of 2"
    assert "Nothing to show." in admin.get("/admin/members", params={"lang": "en", "joined-to-date": "2000-01-01"}).text
    wrong = admin.get("/admin/members", params={"lang": "en", "joined-from-date": "13/13/2026"})
    assert wrong.status_code == 200 and 'id="err-joined-from"' in wrong.text
    # An exact external id goes straight to the profile.
    found = admin.get("/admin/members", params={"q": "KEEP"}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/admin/members/{kept}"


def test_a_profile_pages_through_the_whole_history(admin: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    member_id = make_member(factory, tenant.id, clock.now())
    with unit_of_work(factory) as session:
        for n in range(120):
            ledger.adjust(session, tenant_id=tenant.id, member_id=member_id, points=n + 1, reason=f"gesture {n + 1}",
                          idempotency_key=f"hist-{member_id}-{n}", now=clock.now(), expires_at=None)
    first = admin.get(f"/admin/members/{member_id}", params={"lang": "en"})
    assert "Lines 1–50 of 120" in first.text and "gesture 120" in first.text and 'rel="next"' in first.text
    last = admin.get(f"/admin/members/{member_id}", params={"lang": "en", "page": "3"})
    assert "Lines 101–120 of 120" in last.text and "gesture 1<" in last.text and 'rel="next"' not in last.text


def test_an_adjustment_needs_a_reason_stays_within_the_bound_and_asks_first(admin: TestClient, client: TestClient, factory, clock,  # type: ignore[no-untyped-def]
                                                                           tenant) -> None:
    member_id = make_member(factory, tenant.id, clock.now())
    path = f"/admin/members/{member_id}/adjust"
    token = csrf_of(admin.get(f"/admin/members/{member_id}").text)

    def send(**fields: str):  # type: ignore[no-untyped-def]
        return admin.post(path, data={"csrf": token, "request_id": "r-1", **fields}, params={"lang": "en"}, follow_redirects=False)

    too_much = send(points="1000001", reason="typo")
    assert too_much.status_code == 422 and "Enter at most 1,000,000 points either way." in too_much.text
    assert 'value="1000001"' in too_much.text, "what was typed stays"
    no_reason = send(points="50", reason="   ")
    assert no_reason.status_code == 422 and 'id="err-reason"' in no_reason.text
    asked = send(points="50", reason="Goodwill")
    assert asked.status_code == 200 and 'id="confirm"' in asked.text and 'name="confirmed" value="yes"' in asked.text
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 0
    for _ in range(2):  # a double submit of the confirmation posts once
        assert send(points="50", reason="Goodwill", confirmed="yes").status_code == 303
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 50
    taken = send(points="-80", reason="Wrong card", confirmed="yes", request_id="r-2")
    assert taken.status_code == 422 and "The member has 50 points available to take away." in taken.text


def test_suspending_asks_first(admin: TestClient, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    member_id = make_member(factory, tenant.id, clock.now())
    token = csrf_of(admin.get(f"/admin/members/{member_id}").text)
    asked = admin.post(f"/admin/members/{member_id}/status", data={"csrf": token, "action": "suspend", "reason": "fraud"},
                       follow_redirects=False)
    assert asked.status_code == 200 and 'id="confirm"' in asked.text
    assert client.get(f"/v1/members/{member_id}").json()["status"] == "active"
    done = admin.post(f"/admin/members/{member_id}/status", data={"csrf": token, "action": "suspend", "reason": "fraud", "confirmed": "yes"},
                      follow_redirects=False)
    assert done.status_code == 303 and client.get(f"/v1/members/{member_id}").json()["status"] == "suspended"
    back = admin.post(f"/admin/members/{member_id}/status", data={"csrf": token, "action": "reactivate"}, follow_redirects=False)
    assert back.status_code == 303 and client.get(f"/v1/members/{member_id}").json()["status"] == "active"


def test_the_audit_trail_pages_filters_exports_and_shows_arabic(admin: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        for n in range(55):
            audit.record(session, tenant_id=tenant.id, user_id=None, actor="sara@example.com", action="member.points_adjusted",
                         target=f"member:{n}", details={"reason": "تعويض عن تأخير التوصيل", "points": n, "city": {"ar": "جدة"}}, now=clock.now())
    page = admin.get("/admin/audit", params={"lang": "ar"})
    assert "تعويض عن تأخير التوصيل" in page.text and "جدة" in page.text
    assert "\\u0" not in page.text
    english = admin.get("/admin/audit", params={"lang": "en"})
    assert shown_total(english.text) == "1–50 of 56"  # and the admin's sign-in
    assert shown_total(admin.get("/admin/audit", params={"lang": "en", "page": "2"}).text) == "51–56 of 56"
    only = admin.get("/admin/audit", params={"lang": "en", "action": "admin.signed_in"})
    assert shown_total(only.text) == "1–1 of 1"
    assert shown_total(admin.get("/admin/audit", params={"lang": "en", "who": "SARA@"}).text) == "1–50 of 55"
    assert "Nothing to show." in admin.get("/admin/audit", params={"lang": "en", "to-date": "2000-01-01"}).text
    exported = rows_of(admin.get("/admin/audit.csv", params={"action": "member.points_adjusted"}))
    assert len(exported) == 55 and "تعويض عن تأخير التوصيل" in exported[0]["details"]

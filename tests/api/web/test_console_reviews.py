"""The console's review queue, on both databases: velocity limits added and removed from the page, a purchase
held past one listed with the limit and what came before it, approved or rejected with a note (each decision
audited, once), in Arabic too; a marketer sees the queue but cannot decide."""

from __future__ import annotations

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


def actions(factory: sessionmaker[Session], tenant_id: int) -> list[str]:
    with factory() as session:
        return [entry.action for entry in audit.list_(session, tenant_id=tenant_id, limit=200)]


def add_limit(admin: TestClient, **fields: str):  # type: ignore[no-untyped-def]
    csrf = csrf_of(admin.get("/admin/reviews").text)
    return admin.post("/admin/reviews/limits", data={"csrf": csrf, **fields}, follow_redirects=False)


def test_limits_from_the_page_then_a_held_purchase_approved_and_one_rejected(
    admin: TestClient, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    refused = add_limit(admin, action="earn", subject="member", window="day", max_value="", max_count="")
    assert refused.status_code == 422 and "حدّد حدًا أقصى للقيمة" in refused.text  # the console speaks Arabic unless told
    assert add_limit(admin, action="earn", subject="member", window="day", max_value="abc").status_code == 422
    added = add_limit(admin, action="earn", subject="member", window="day", max_value="1000", max_count="")
    assert added.status_code == 303, added.text
    assert client.get("/v1/trust/velocity-limits").json()["limits"] == [
        {"subject": "member", "action": "earn", "window": "day", "max_value": 1000, "max_count": None}
    ]
    member_id = client.post("/v1/members", json={"external_id": "q-1"}).json()["id"]
    held = []
    for n, amount in enumerate(("800.00", "300.00", "400.00")):
        answer = client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": f"Q-{n}", "amount": amount,
                                                 "currency": "SAR", "store": "JED-02"}).json()
        if answer["review_id"]:
            held.append(answer["review_id"])
    assert len(held) == 2

    page = admin.get("/admin/reviews", params={"lang": "en"})
    assert page.status_code == 200
    assert f'data-review="{held[0]}" data-status="held"' in page.text and f'href="/admin/members/{member_id}"' in page.text
    assert "Points earned per member, over a day" in page.text and "1 action worth 800 points" in page.text
    assert "JED-02" in page.text

    csrf = csrf_of(page.text)
    approved = admin.post(f"/admin/reviews/{held[0]}/approve", data={"csrf": csrf, "note": "known customer"}, follow_redirects=False)
    assert approved.status_code == 303 and approved.headers["location"].endswith("done=approved")
    rejected = admin.post(f"/admin/reviews/{held[1]}/reject", data={"csrf": csrf, "note": ""}, follow_redirects=False)
    assert rejected.status_code == 303
    assert client.get(f"/v1/members/{member_id}/balance").json() == {**client.get(f"/v1/members/{member_id}/balance").json(),
                                                                     "available": 1100, "pending": 0}
    twice = admin.post(f"/admin/reviews/{held[0]}/reject", data={"csrf": csrf}, follow_redirects=False)
    assert twice.status_code == 422 and "already approved" in twice.text
    done = actions(factory, tenant.id)
    assert done.count("review.approved") == 1 and done.count("review.rejected") == 1 and "velocity_limits.updated" in done

    decided = admin.get("/admin/reviews", params={"status": "all", "lang": "ar"})
    assert decided.status_code == 200 and 'dir="rtl"' in decided.text
    assert "known customer" in decided.text

    removed = admin.post("/admin/reviews/limits/0/remove", data={"csrf": csrf}, follow_redirects=False)
    assert removed.status_code == 303
    assert client.get("/v1/trust/velocity-limits").json()["limits"] == []


def test_a_marketer_sees_the_queue_but_cannot_decide_or_change_limits(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    client.put("/v1/trust/velocity-limits", json={"limits": [{"subject": "member", "action": "earn", "window": "day", "max_count": 1}]})
    member_id = client.post("/v1/members", json={"external_id": "q-2"}).json()["id"]
    for n in range(2):
        client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": f"M-{n}", "amount": "10.00",
                                        "currency": "SAR"})
    [review] = client.get("/v1/trust/reviews").json()["items"]
    marketer = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="marketer"))
    page = marketer.get("/admin/reviews", params={"lang": "en"})
    assert page.status_code == 200 and f'data-review="{review["id"]}"' in page.text
    assert f'action="/admin/reviews/{review["id"]}/approve"' not in page.text
    refused = marketer.post(f"/admin/reviews/{review['id']}/approve", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get(f"/v1/trust/reviews/{review['id']}").json()["status"] == "held"

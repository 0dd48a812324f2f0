"""Roles in the console: every change posted to every console page is checked against the role in one
place (a page cannot forget), a refusal is a 403 page in the page's language that changes nothing,
pages hide what a role cannot use, marketers keep rules as drafts, and support staff adjust points
within the limit an owner sets."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.conftest import make_member
from wafa.db import unit_of_work
from wafa.ledger import service as ledger
from wafa.tenants import admin_users, audit

ROLES = ("owner", "admin", "marketer", "support", "viewer")
# Posts that need no session (signing in, resets, invitations) and signing out (it would end the
# session the test goes on with) are not changes a role is checked for.
PUBLIC = {"/admin/login", "/admin/logout", "/admin/password/forgot", "/admin/password/reset/{token}", "/admin/invite/{token}"}
# What the issue asks of each role, by console section (the path's first part after /admin); a
# section this table does not know (a page added later, or the coalition's) is for owners and admins
# only. A coalition partner's person (the "partner" role) is refused every console post but their own
# password: tests/api/web/test_coalition_console.py goes through them route by route.
MARKETING = {"rules", "rewards", "coupons", "segments", "surveys", "messages", "campaigns"}
SUPPORT = {"members", "redemptions"}


def allowed(role: str, route: str) -> bool:
    """Whether `role` may post to `route`, as the issue states it."""
    if route.endswith("/simulate") or route == "/admin/account/password":
        return True  # a dry run, and one's own password
    if route in ("/admin/people/support-limit", "/admin/members/{member_id}/erase"):
        return role == "owner"
    section = route.removeprefix("/admin/").split("/", 1)[0]
    if role in ("owner", "admin"):
        return True
    if role == "marketer":
        # A channel's settings hold the providers' secrets: set up by those who hold the API keys.
        return section in MARKETING and route != "/admin/rules/{rule_id}/status" and not route.startswith("/admin/messages/channels/")
    if role == "support":
        return section in SUPPORT
    return False


def console_posts(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Every POST route of the console, as the app has them (pages added later included)."""
    found = {route.path for route in iter_route_contexts(app.routes)
             if "POST" in (route.methods or ()) and route.path.startswith("/admin") and route.path not in PUBLIC}
    return sorted(found)


def as_role(browser: Browser, factory, tenant, clock, role: str) -> TestClient:  # type: ignore[no-untyped-def]
    console = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role=role))
    console.get("/admin/people", params={"lang": "en"})  # the language cookie, as the switch link sets it
    return console


def test_every_console_post_is_checked_against_the_role(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    """Table-driven over all the console's POST routes and the five roles: what a role may not do is a
    403 page saying who may; what it may do is never refused for its role."""
    routes = console_posts(client.app)
    assert "/admin/rules/{rule_id}/status" in routes and "/admin/people/invite" in routes and "/admin/settings" in routes
    wrong = []
    for role in ROLES:
        console = as_role(browser, factory, tenant, clock, role)
        token = csrf_of(console.get("/admin/people").text)
        for route in routes:
            path = re.sub(r"\{[^}]+\}", "999999", route)
            answer = console.post(path, data={"csrf": token}, headers={"X-CSRF-Token": token}, follow_redirects=False)
            refused = answer.status_code == 403 and "Only owner" in answer.text
            if refused == allowed(role, route) or (refused and "Traceback" in answer.text):
                wrong.append(f"{role} {route}: {answer.status_code}")
    assert not wrong, "\n".join(wrong)


def test_a_refusal_is_a_page_in_the_page_language_that_changes_nothing(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    """A marketer posting the program settings gets a 403 page in Arabic naming who may, not a traceback; nothing is audited."""
    marketer = as_role(browser, factory, tenant, clock, "marketer")
    marketer.get("/admin/settings", params={"lang": "ar"})
    before = client.get("/v1/program").json()
    answer = marketer.post("/admin/settings", data={"csrf": csrf_of(marketer.get("/admin/settings").text), "points_name_en": "Stars"},
                           follow_redirects=False)
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("text/html")
    assert 'lang="ar"' in answer.text and "Only owners" not in answer.text and "Traceback" not in answer.text
    assert re.search(r"[\u0600-\u06FF]{3,}", answer.text.split("<main", 1)[1])
    assert client.get("/v1/program").json() == before
    with unit_of_work(factory) as session:
        assert [e.action for e in audit.list_(session, tenant_id=tenant.id) if e.action.startswith("program")] == []


def rule(console: TestClient, status: str = "draft", rule_id: str = "") -> object:
    page = console.get(f"/admin/rules/{rule_id}" if rule_id else "/admin/rules/new").text
    return console.post("/admin/rules/save", data={
        "csrf": csrf_of(page), "rule_id": rule_id, "rows": "3", "name_en": "Coffee Friday", "name_ar": "جمعة القهوة", "trigger": "purchase",
        "status": status, "a0-type": "fixed_points", "a0-points": "20", "stackable": "on",
    }, follow_redirects=False)


def test_a_marketer_saves_drafts_but_activates_nothing(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    """A marketer creates and revises a draft; activating it, creating a rule active or revising an active
    rule is refused and changes nothing; the editor offers them no Activate button."""
    marketer = as_role(browser, factory, tenant, clock, "marketer")
    saved = rule(marketer)
    assert saved.status_code == 303, saved.text[:2000]
    rule_id = re.search(r"/admin/rules/(\d+)", saved.headers["location"]).group(1)  # type: ignore[union-attr]
    assert rule(marketer, rule_id=rule_id).status_code == 303
    page = marketer.get(f"/admin/rules/{rule_id}").text
    assert 'value="active"' not in page.split('action="/admin/rules/save"')[0]
    activate = marketer.post(f"/admin/rules/{rule_id}/status", data={"csrf": csrf_of(page), "status": "active"}, follow_redirects=False)
    assert activate.status_code == 403 and "Only owners and admins can activate" in activate.text
    assert client.get(f"/v1/rules/{rule_id}").json()["status"] == "draft"
    count = len(client.get("/v1/rules").json()["items"])
    refused = rule(marketer, status="active")
    assert refused.status_code in (403, 422) and "Only owners and admins can activate" in refused.text
    assert len(client.get("/v1/rules").json()["items"]) == count
    admin = as_role(browser, factory, tenant, clock, "admin")
    assert admin.post(f"/admin/rules/{rule_id}/status", data={"csrf": csrf_of(admin.get(f"/admin/rules/{rule_id}").text), "status": "active"},
                      follow_redirects=False).status_code == 303
    version = client.get(f"/v1/rules/{rule_id}").json()["version"]
    revised = rule(marketer, rule_id=rule_id)
    assert revised.status_code in (403, 422) and "Only owners and admins can activate" in revised.text
    assert client.get(f"/v1/rules/{rule_id}").json()["version"] == version


def adjust(console: TestClient, member_id: int, points: int) -> object:
    page = console.get(f"/admin/members/{member_id}").text
    return console.post(f"/admin/members/{member_id}/adjust", data={
        "csrf": csrf_of(page), "points": str(points), "reason": "goodwill", "request_id": uuid.uuid4().hex, "confirmed": "yes",
    }, follow_redirects=False)


def balance(factory, tenant_id: int, member_id: int, clock) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return ledger.summary(session, tenant_id=tenant_id, member_id=member_id, now=clock.now())["available"]


def test_support_adjusts_within_the_limit_an_owner_sets(browser: Browser, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    """Support staff adjust up to 500 points by default; beyond is refused and posts nothing; an owner
    raises the limit on the People page (an admin may not), and the larger adjustment then passes."""
    member_id = make_member(factory, tenant.id, clock.now())
    support = as_role(browser, factory, tenant, clock, "support")
    assert adjust(support, member_id, admin_users.DEFAULT_SUPPORT_LIMIT).status_code == 303
    over = adjust(support, member_id, 800)
    assert over.status_code == 422 and "Your role may adjust at most 500 points at a time" in over.text
    assert balance(factory, tenant.id, member_id, clock) == admin_users.DEFAULT_SUPPORT_LIMIT
    assert adjust(support, member_id, -800).status_code == 422
    admin = as_role(browser, factory, tenant, clock, "admin")
    page = admin.get("/admin/people").text
    assert 'action="/admin/people/support-limit"' not in page
    assert admin.post("/admin/people/support-limit", data={"csrf": csrf_of(page), "support_limit": "1000"},
                      follow_redirects=False).status_code == 403
    owner = as_role(browser, factory, tenant, clock, "owner")
    page = owner.get("/admin/people").text
    assert owner.post("/admin/people/support-limit", data={"csrf": csrf_of(page), "support_limit": "1000"},
                      follow_redirects=False).status_code == 303
    assert adjust(support, member_id, 800).status_code == 303
    assert balance(factory, tenant.id, member_id, clock) == admin_users.DEFAULT_SUPPORT_LIMIT + 800
    assert adjust(admin, member_id, 5000).status_code == 303
    with unit_of_work(factory) as session:
        (entry,) = audit.list_(session, tenant_id=tenant.id, action="admin.support_limit_changed")
        assert entry.details == {"from": admin_users.DEFAULT_SUPPORT_LIMIT, "to": 1000}


def test_support_suspends_and_reactivates_members(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    member_id = make_member(factory, tenant.id, clock.now())
    support = as_role(browser, factory, tenant, clock, "support")
    page = support.get(f"/admin/members/{member_id}").text
    assert f'action="/admin/members/{member_id}/adjust"' in page
    answer = support.post(f"/admin/members/{member_id}/status", data={"csrf": csrf_of(page), "action": "suspend", "reason": "fraud check",
                                                                     "confirmed": "yes"}, follow_redirects=False)
    assert answer.status_code == 303
    assert client.get(f"/v1/members/{member_id}").json()["status"] == "suspended"


@pytest.mark.parametrize(("role", "page", "hidden"), [
    ("viewer", "/admin/members/{member}", "/adjust"),
    ("marketer", "/admin/members/{member}", "/adjust"),
    ("marketer", "/admin/tiers", 'action="/admin/tiers"'),
    ("marketer", "/admin/api-keys", 'action="/admin/api-keys"'),
    ("marketer", "/admin/people", 'action="/admin/people/invite"'),
    ("support", "/admin/settings", 'action="/admin/settings"'),
    ("support", "/admin/rules/new", 'action="/admin/rules/save"'),
    ("viewer", "/admin/people", 'action="/admin/people/invite"'),
    ("marketer", "/admin/coalition", 'action="/admin/coalition"'),
    ("support", "/admin/coalition/settlements", 'action="/admin/coalition/settlements"'),
])
def test_pages_hide_what_a_role_cannot_use(browser: Browser, factory, tenant, clock, role: str, page: str, hidden: str) -> None:  # type: ignore[no-untyped-def]
    member_id = make_member(factory, tenant.id, clock.now())
    console = as_role(browser, factory, tenant, clock, role)
    shown = console.get(page.format(member=member_id))
    assert shown.status_code == 200
    # A form the role cannot send is either left out or shown without a button that sends it.
    forms = re.findall(r'<form [^>]*method="post"[^>]*>.*?</form>', shown.text, flags=re.DOTALL)
    usable = [f for f in forms if hidden in f.split(">", 1)[0] and re.search(r'<button(?![^>]*(?:type="button"|formaction=))', f)]
    assert not usable, usable

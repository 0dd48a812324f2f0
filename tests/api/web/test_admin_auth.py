"""The admin console through a browser: sign-in (argon2 passwords, lock-out), session cookies that
cannot be planted or outlive sign-out, CSRF on every change, read-only viewers, tenant isolation,
the audit trail, double submits, the dashboard's figures, and member search."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import (
    HOST,
    PASSWORD,
    Browser,
    cookie_from,
    csrf_of,
    field_of,
    make_admin,
    set_cookie_header,
    sign_in,
    signed_in,
)
from tests.conftest import START, TenantCtx, make_key, make_member, make_tenant
from wafa.clock import FrozenClock
from wafa.tenants import audit
from wafa.web.i18n import Lang

ALERT = re.compile(r'<p class="problem" role="alert">(.*?)</p>', re.DOTALL)


def balance(client: TestClient, member_id: int) -> int:
    answer = client.get(f"/v1/members/{member_id}/balance")
    assert answer.status_code == 200, answer.text
    return answer.json()["available"]


def profile_form(browser: TestClient, member_id: int) -> dict[str, str]:
    """The CSRF token and request id the member's adjust form carries."""
    page = browser.get(f"/admin/members/{member_id}")
    assert page.status_code == 200, page.text
    return {"csrf": csrf_of(page.text), "request_id": field_of(page.text, "request_id")}


def adjust(browser: TestClient, member_id: int, points: int, reason: str = "goodwill", **form: str):  # type: ignore[no-untyped-def]
    """The adjustment as confirmed (the first post only asks; see tests/api/web/test_console_members_tables.py)."""
    return browser.post(f"/admin/members/{member_id}/adjust", data={"points": str(points), "reason": reason, "confirmed": "yes", **form},
                        follow_redirects=False)


def is_signed_out(browser: TestClient, path: str = "/admin") -> bool:
    answer = browser.get(path, follow_redirects=False)
    return answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


@pytest.fixture
def admin(factory: sessionmaker[Session], tenant: TenantCtx) -> str:
    return make_admin(factory, tenant.id, START)


@pytest.fixture
def console(browser: Browser, tenant: TenantCtx, admin: str) -> TestClient:
    """A browser signed in as the tenant's admin."""
    return signed_in(browser(), tenant.slug, admin)


# --- sign-in -------------------------------------------------------------------------------------


def test_sign_in_with_the_right_password_sets_an_http_only_session_cookie(browser: Browser, tenant: TenantCtx, admin: str) -> None:
    """The right organisation, e-mail and password sign in: a 303 to the console and an HttpOnly, SameSite cookie."""
    b = browser()
    answer = sign_in(b, tenant.slug, admin.upper())  # e-mails are not case-sensitive
    assert answer.status_code == 303 and answer.headers["location"] == "/admin"
    header = set_cookie_header(answer, "wafa_admin")
    assert "HttpOnly" in header and "Path=/admin" in header and "samesite=lax" in header.lower()
    assert b.get("/admin").status_code == 200
    assert b.get("/admin/members").status_code == 200


def test_wrong_password_is_a_401_page_and_no_session(browser: Browser, tenant: TenantCtx, admin: str) -> None:
    """A wrong password answers the sign-in page again with 401, sets no session cookie, and signs nobody in."""
    b = browser()
    answer = sign_in(b, tenant.slug, admin, "not the password")
    assert answer.status_code == 401 and answer.headers["content-type"].startswith("text/html")
    assert cookie_from(answer, "wafa_admin") is None
    assert ALERT.search(answer.text)
    assert is_signed_out(b)


def test_unknown_tenant_or_email_is_refused_with_the_same_page(browser: Browser, tenant: TenantCtx, admin: str) -> None:
    """Unknown organisation, unknown e-mail and wrong password all get the same 401 and message: nothing tells them apart."""
    b = browser()
    answers = [
        sign_in(b, tenant.slug, admin, "not the password"),
        sign_in(b, tenant.slug, "nobody@example.com"),
        sign_in(b, f"no-such-{uuid.uuid4().hex[:6]}", admin),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    alerts = {ALERT.search(a.text).group(1) for a in answers}  # type: ignore[union-attr]
    assert len(alerts) == 1
    assert all(cookie_from(a, "wafa_admin") is None for a in answers)
    assert is_signed_out(b)


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(browser: Browser, clock: FrozenClock, tenant: TenantCtx, admin: str) -> None:
    """After five wrong passwords even the right one is refused (locked page), until 15 minutes have passed."""
    b = browser()
    for _ in range(5):
        assert sign_in(b, tenant.slug, admin, "not the password").status_code == 401
    locked = sign_in(b, tenant.slug, admin)
    assert locked.status_code == 401 and cookie_from(locked, "wafa_admin") is None
    assert "15" in ALERT.search(locked.text).group(1)  # type: ignore[union-attr]
    clock.advance(timedelta(minutes=14, seconds=59))
    assert sign_in(b, tenant.slug, admin).status_code == 401
    clock.advance(timedelta(seconds=1))
    assert sign_in(b, tenant.slug, admin).status_code == 303


def test_sign_in_without_the_csrf_token_is_refused(browser: Browser, tenant: TenantCtx, admin: str) -> None:
    """The sign-in form itself needs its CSRF token (no login CSRF): without it, 403 and no session."""
    b = browser()
    b.get("/admin/login")
    answer = b.post("/admin/login", data={"tenant": tenant.slug, "email": admin, "password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 403 and cookie_from(answer, "wafa_admin") is None
    assert is_signed_out(b)


def test_a_page_asked_for_signed_out_leads_back_to_it_after_sign_in(browser: Browser, tenant: TenantCtx, admin: str) -> None:
    """Opening a console page signed out redirects to sign-in with `next`, and signing in lands on that page."""
    b = browser()
    first = b.get("/admin/audit", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/admin/login?next=%2Fadmin%2Faudit"
    page = b.get(first.headers["location"])
    assert field_of(page.text, "next") == "/admin/audit"
    answer = b.post("/admin/login", data={"tenant": tenant.slug, "email": admin, "password": PASSWORD, "csrf": csrf_of(page.text),
                                          "next": field_of(page.text, "next")}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/audit"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "https://evil.example/admin", "/\\evil.example",
                                    "//evil.example/admin", "/admin\\@evil.example"])
def test_next_never_redirects_off_site(browser: Browser, tenant: TenantCtx, admin: str, target: str) -> None:
    """A `next` naming another site (in the link or the form) sends the admin to the console's home instead."""
    b = browser()
    page = b.get("/admin/login", params={"next": target})
    assert field_of(page.text, "next") == "/admin"
    answer = sign_in(b, tenant.slug, admin, next=target)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin"


# --- sessions ------------------------------------------------------------------------------------


def test_a_cookie_planted_before_sign_in_is_replaced_and_never_signed_in(browser: Browser, tenant: TenantCtx, admin: str) -> None:
    """Session fixation: sign-in issues a new token; the value planted in the browser before authenticates nobody."""
    planted = "planted-" + uuid.uuid4().hex
    victim = browser()
    victim.cookies.set("wafa_admin", planted, domain=HOST, path="/admin")
    answer = sign_in(victim, tenant.slug, admin)
    assert answer.status_code == 303
    issued = cookie_from(answer, "wafa_admin")
    assert issued and issued != planted
    attacker = browser()
    attacker.cookies.set("wafa_admin", planted, domain=HOST, path="/admin")
    assert is_signed_out(attacker)
    assert victim.get("/admin").status_code == 200


def test_signing_in_again_ends_the_session_the_browser_had(browser: Browser, tenant: TenantCtx, admin: str) -> None:
    """A second sign-in in the same browser replaces its session: the earlier token stops working."""
    b = signed_in(browser(), tenant.slug, admin)
    earlier = b.cookies.get("wafa_admin", domain=HOST, path="/admin")
    before = browser()
    before.cookies.set("wafa_admin", earlier, domain=HOST, path="/admin")  # type: ignore[arg-type]
    assert before.get("/admin").status_code == 200
    later = cookie_from(sign_in(b, tenant.slug, admin), "wafa_admin")
    assert later and later != earlier
    copy = browser()
    copy.cookies.set("wafa_admin", earlier, domain=HOST, path="/admin")  # type: ignore[arg-type]
    assert is_signed_out(copy)


def test_sign_out_ends_the_session_on_the_server(browser: Browser, console: TestClient) -> None:
    """After sign-out the old cookie value, replayed from anywhere, no longer opens the console."""
    token = console.cookies.get("wafa_admin", domain=HOST, path="/admin")
    copy = browser()
    copy.cookies.set("wafa_admin", token, domain=HOST, path="/admin")  # type: ignore[arg-type]
    assert copy.get("/admin").status_code == 200  # the copied cookie works until sign-out
    csrf = csrf_of(console.get("/admin").text)
    answer = console.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/login"
    replay = browser()
    replay.cookies.set("wafa_admin", token, domain=HOST, path="/admin")  # type: ignore[arg-type]
    assert is_signed_out(replay)
    assert is_signed_out(console)


def test_sign_out_without_the_csrf_token_is_refused(console: TestClient) -> None:
    """A forged sign-out (no token) is a 403 and the session lives on."""
    assert console.post("/admin/logout", data={}, follow_redirects=False).status_code == 403
    assert console.get("/admin").status_code == 200


# --- CSRF on changes -----------------------------------------------------------------------------


def test_a_change_without_the_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, console: TestClient,
) -> None:
    """A points adjustment posted without the session's CSRF token is 403 and posts nothing."""
    member_id = make_member(factory, tenant.id, START)
    form = profile_form(console, member_id)
    answer = adjust(console, member_id, 500, request_id=form["request_id"])
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("text/html")
    assert adjust(console, member_id, 500, csrf="", request_id=form["request_id"]).status_code == 403
    assert balance(client, member_id) == 0


def test_a_change_with_another_sessions_token_is_refused(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, admin: str, console: TestClient,
) -> None:
    """The CSRF token belongs to one session: another session's (even the same admin's) does not pass."""
    member_id = make_member(factory, tenant.id, START)
    other = signed_in(browser(), tenant.slug, admin)
    theirs = profile_form(other, member_id)
    mine = profile_form(console, member_id)
    assert theirs["csrf"] != mine["csrf"]
    assert adjust(console, member_id, 500, csrf=theirs["csrf"], request_id=mine["request_id"]).status_code == 403
    assert balance(client, member_id) == 0


def test_a_change_posted_from_another_site_is_refused(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, console: TestClient,
) -> None:
    """A foreign Origin header is refused with 403 even with the right token; the same origin passes."""
    member_id = make_member(factory, tenant.id, START)
    form = profile_form(console, member_id)
    refused = console.post(f"/admin/members/{member_id}/adjust", data={"points": "500", "reason": "x", **form},
                           headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert refused.status_code == 403
    assert balance(client, member_id) == 0
    accepted = console.post(f"/admin/members/{member_id}/adjust", data={"points": "500", "reason": "x", "confirmed": "yes", **form},
                            headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert accepted.status_code == 303
    assert balance(client, member_id) == 500


def test_suspend_without_the_csrf_token_is_refused(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, console: TestClient,
) -> None:
    """Suspending needs the token too: without it, 403 and the member stays active."""
    member_id = make_member(factory, tenant.id, START)
    answer = console.post(f"/admin/members/{member_id}/status", data={"action": "suspend"}, follow_redirects=False)
    assert answer.status_code == 403
    assert client.get(f"/v1/members/{member_id}").json()["status"] == "active"


# --- roles and tenants ---------------------------------------------------------------------------


def test_a_viewer_reads_pages_but_a_change_is_refused(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    """A viewer opens the dashboard, members, a profile and the audit trail; an adjustment is 403 and posts nothing."""
    viewer = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, START, role="viewer"))
    member_id = make_member(factory, tenant.id, START)
    for path in ("/admin", "/admin/members", f"/admin/members/{member_id}", "/admin/audit"):
        assert viewer.get(path).status_code == 200, path
    page = viewer.get(f"/admin/members/{member_id}").text
    assert 'id="adjust-form"' not in page  # no form offered
    answer = adjust(viewer, member_id, 500, csrf=csrf_of(page), request_id=uuid.uuid4().hex)
    assert answer.status_code == 403
    suspend = viewer.post(f"/admin/members/{member_id}/status", data={"action": "suspend", "csrf": csrf_of(page)}, follow_redirects=False)
    assert suspend.status_code == 403
    assert balance(client, member_id) == 0
    assert client.get(f"/v1/members/{member_id}").json()["status"] == "active"


def test_an_admin_cannot_open_or_adjust_a_member_of_another_tenant(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, console: TestClient,
) -> None:
    """Tenant A's admin gets a 404 page for tenant B's member, and cannot adjust or suspend them."""
    other = make_tenant(factory, START)
    theirs = make_member(factory, other.id, START)
    assert make_member(factory, tenant.id, START) != theirs
    page = console.get(f"/admin/members/{theirs}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    csrf = csrf_of(console.get("/admin/members").text)  # the session's own, valid token
    assert adjust(console, theirs, 500, csrf=csrf, request_id=uuid.uuid4().hex).status_code == 404
    status = console.post(f"/admin/members/{theirs}/status", data={"action": "suspend", "csrf": csrf}, follow_redirects=False)
    assert status.status_code == 404
    client.headers["Authorization"] = f"Bearer {other.admin_key}"
    assert balance(client, theirs) == 0
    assert client.get(f"/v1/members/{theirs}").json()["status"] == "active"


# --- changes: audit trail and double submits -------------------------------------------------------


def test_every_change_leaves_an_audit_entry_shown_in_the_trail(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, admin: str, console: TestClient,
) -> None:
    """Sign-in, an adjustment, a suspension and a reactivation are each recorded with the actor and details."""
    member_id = make_member(factory, tenant.id, START)
    form = profile_form(console, member_id)
    assert adjust(console, member_id, 250, "lost receipt", **form).status_code == 303
    csrf = form["csrf"]
    assert console.post(f"/admin/members/{member_id}/status", data={"action": "suspend", "reason": "fraud check", "csrf": csrf, "confirmed": "yes"},
                        follow_redirects=False).status_code == 303
    assert client.get(f"/v1/members/{member_id}").json()["status"] == "suspended"
    assert console.post(f"/admin/members/{member_id}/status", data={"action": "reactivate", "csrf": csrf},
                        follow_redirects=False).status_code == 303
    assert client.get(f"/v1/members/{member_id}").json()["status"] == "active"

    with factory() as session:
        everything = audit.list_(session, tenant_id=tenant.id)
    # Opening the profile (for the form) is a read of personal data, recorded too; the changes are these.
    assert [e.action for e in everything if e.action == "member.viewed"] == ["member.viewed"]
    entries = [e for e in everything if e.action != "member.viewed"]
    assert [e.action for e in entries] == ["member.reactivated", "member.suspended", "member.points_adjusted", "admin.signed_in"]
    assert {e.actor for e in entries} == {admin}
    reactivated, suspended, adjusted, _signed_in = entries
    assert adjusted.target == f"member:{member_id}"
    assert adjusted.details["points"] == 250 and adjusted.details["reason"] == "lost receipt" and adjusted.details["entry_id"]
    assert suspended.details == {"reason": "fraud check"} and suspended.target == f"member:{member_id}"
    assert reactivated.target == f"member:{member_id}"

    trail = console.get("/admin/audit")
    assert trail.status_code == 200
    text = html.unescape(trail.text)
    for action in ("admin.signed_in", "member.points_adjusted", "member.suspended", "member.reactivated"):
        assert f"<code>{action}</code>" in text
    assert admin in text and "lost receipt" in text and "fraud check" in text
    # The rows (the filter offers every action).
    only = html.unescape(console.get("/admin/audit", params={"action": "member.suspended"}).text).split("<tbody>", 1)[1]
    assert "member.suspended" in only and "member.points_adjusted" not in only


def test_the_same_adjustment_posted_twice_posts_once(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, console: TestClient,
) -> None:
    """A double submit (same request_id) credits once and leaves one audit entry; a new form credits again."""
    member_id = make_member(factory, tenant.id, START)
    form = profile_form(console, member_id)
    first = adjust(console, member_id, 300, **form)
    second = adjust(console, member_id, 300, **form)
    assert (first.status_code, second.status_code) == (303, 303)
    assert second.headers["location"] == f"/admin/members/{member_id}?done=adjusted"
    assert balance(client, member_id) == 300
    with factory() as session:
        assert [e.action for e in audit.list_(session, tenant_id=tenant.id, action="member.points_adjusted")] == ["member.points_adjusted"]
    assert adjust(console, member_id, 300, **profile_form(console, member_id)).status_code == 303
    assert balance(client, member_id) == 600


def test_an_adjustment_the_ledger_refuses_shows_the_reason_and_posts_nothing(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, console: TestClient,
) -> None:
    """A debit beyond the balance answers the profile with the problem, not a 500, and the balance stays."""
    member_id = make_member(factory, tenant.id, START)
    assert adjust(console, member_id, 100, **profile_form(console, member_id)).status_code == 303
    answer = adjust(console, member_id, -1000, **profile_form(console, member_id))
    assert 400 <= answer.status_code < 500 and ALERT.search(answer.text)
    assert balance(client, member_id) == 100


# --- dashboard and search ------------------------------------------------------------------------


def card_values(page: str) -> dict[str, str]:
    """The value shown on each KPI card, by KPI key."""
    cards = re.findall(r'<article class="kpi[^"]*" data-kpi="([a-z0-9_]+)">.*?<p class="value">\s*(.*?)\s*</p>', page, re.DOTALL)
    return {key: html.unescape(re.sub(r"<[^>]+>", "", value)).strip() for key, value in cards}  # the text, without <bdi> and such


def test_the_dashboard_shows_the_same_figures_as_the_kpi_api(
    client: TestClient, factory: sessionmaker[Session], clock: FrozenClock, tenant: TenantCtx, console: TestClient,
) -> None:
    """After real purchases, each KPI card shows GET /v1/analytics/kpis's value for the same 30 days."""
    events_key = make_key(factory, tenant.id, ["events:write"], START)
    ids = [make_member(factory, tenant.id, START - timedelta(days=40)), make_member(factory, tenant.id, START - timedelta(days=3))]
    sales = [(ids[0], "A", "100.00", 20), (ids[0], "B", "60.00", 5), (ids[1], "C", "250.00", 2), (None, "D", "40.00", 1)]
    for member_id, order, amount, days_ago in sales:
        body = {"type": "purchase", "order_id": order, "amount": amount, "currency": "SAR",
                "occurred_at": (START - timedelta(days=days_ago)).isoformat()}
        if member_id:
            body["member"] = {"id": member_id}
        made = client.post("/v1/events", json=body, headers={"Authorization": f"Bearer {events_key}"})
        assert made.status_code == 201, made.text

    page = console.get("/admin", params={"period": "30d", "lang": "en"})
    assert page.status_code == 200
    shown = card_values(page.text)
    first, last = (START - timedelta(days=29)).date(), START.date()
    assert f'value="{first.isoformat()}"' in page.text and f'value="{last.isoformat()}"' in page.text
    report = client.get("/v1/analytics/kpis", params={"from": first.isoformat(), "to": last.isoformat()}).json()["period"]
    assert (report["revenue"], report["member_revenue"], report["orders"], report["active_members"]) == ("450.00", "410.00", 4, 2)

    lang = Lang("en")
    kinds = {"money": lambda v: lang.money(v, "SAR"), "percent": lang.percent, "number": lang.number, "decimal": lang.number, "score": lang.number}
    from wafa.web.admin.dashboard import CARDS

    assert set(shown) == {key for key, _, _ in CARDS}
    for key, kind, _ in CARDS:
        expected = "—" if report[key] is None else kinds[kind](report[key])
        assert shown[key] == expected, key
    assert shown["revenue"].endswith("450.00") and shown["active_members"] == "2"


def test_the_dashboard_shows_arabic_indic_digits_when_the_program_says_so(client: TestClient, console: TestClient) -> None:
    """With numerals "arab" the Arabic dashboard writes its figures in Arabic-Indic digits."""
    assert client.patch("/v1/program", json={"numerals": "arab"}).status_code == 200
    shown = card_values(console.get("/admin", params={"lang": "ar"}).text)
    assert shown["members_enrolled"] == "٠"
    assert not any(ch in "0123456789" for value in shown.values() for ch in value)


def test_member_search_finds_by_name_part_email_phone_and_external_id(
    factory: sessionmaker[Session], tenant: TenantCtx, console: TestClient,
) -> None:
    """A part of a name lists every match; an exact e-mail, phone or external id opens that member's profile."""
    fatimah = make_member(factory, tenant.id, START, external_id="POS-7781", name="Fatimah Al-Harbi", email="fatimah@example.com",
                          phone="+966551234567")
    other = make_member(factory, tenant.id, START, name="Fatimah Zahrani")
    make_member(factory, tenant.id, START, name="Omar Saleh")

    listed = console.get("/admin/members", params={"q": "atima"})
    assert listed.status_code == 200
    assert f"/admin/members/{fatimah}" in listed.text and f"/admin/members/{other}" in listed.text and "Omar" not in listed.text
    for q in ("Fatimah@Example.com", "0551234567", "+966 55 123 4567", "POS-7781", "al-harbi"):
        answer = console.get("/admin/members", params={"q": q}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == f"/admin/members/{fatimah}", q
    rows = console.get("/admin/members", params={"q": "POS-7781"}, headers={"HX-Request": "true"})
    assert rows.status_code == 200 and f"/admin/members/{fatimah}" in rows.text and "<html" not in rows.text
    none = console.get("/admin/members", params={"q": "nobody-like-this"})
    assert none.status_code == 200 and "/admin/members/" + str(fatimah) not in none.text


def test_member_search_stays_inside_the_tenant(factory: sessionmaker[Session], tenant: TenantCtx, console: TestClient) -> None:
    """Another tenant's member with the same name or external id is never listed."""
    other = make_tenant(factory, START)
    theirs = make_member(factory, other.id, START, external_id="SHARED-1", name="Noura Qahtani")
    mine = make_member(factory, tenant.id, START, external_id="SHARED-1", name="Noura Otaibi")
    answer = console.get("/admin/members", params={"q": "SHARED-1"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/admin/members/{mine}"
    listed = console.get("/admin/members", params={"q": "noura"}, headers={"HX-Request": "true"})
    assert f"/admin/members/{mine}" in listed.text and f"/admin/members/{theirs}" not in listed.text


def test_every_console_page_opens_for_a_member_with_history(
    client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, console: TestClient,
) -> None:
    """Dashboard (every period), members, a profile with purchases, points and a redemption, and the audit trail render in both languages."""
    member_id = make_member(factory, tenant.id, START, name="Huda", email="huda@example.com")
    assert client.patch("/v1/program", json={"pending_days": 0}).status_code == 200
    made = client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "A", "amount": "250.00", "currency": "SAR"})
    assert made.status_code == 201, made.text
    reward = client.post("/v1/rewards", json={"key": "ten-off", "name_en": "Ten off", "name_ar": "خصم", "points": 100,
                                              "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}}}).json()
    client.post(f"/v1/members/{member_id}/adjustments", json={"points": 300, "reason": "seed"})
    assert client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": reward["id"]}).status_code == 201
    for lang in ("ar", "en"):
        pages = ["/admin", "/admin/members", f"/admin/members/{member_id}", "/admin/audit"]
        pages += [f"/admin?period={p}" for p in ("7d", "90d", "365d")] + ["/admin?period=custom&from=2025-01-01&to=2026-03-01"]
        for path in pages:
            page = console.get(path, params={"lang": lang})
            assert page.status_code == 200, (path, page.text[:500])
            assert f'lang="{lang}"' in page.text

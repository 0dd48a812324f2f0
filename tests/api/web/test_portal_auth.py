"""The member portal through a browser, with a real SMTP server: one-time codes by e-mail (single use,
ten minutes, five tries, three per quarter hour), no telling members from strangers, session cookies
that cannot be planted or cross tenants, pages that only ever show the signed-in member, joining by a
referral link, CSRF on every post, redeeming once per tap, locked rewards explained, the installable
app's files, and suspension signing a member out."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import (
    HOST,
    Browser,
    Inbox,
    cookie_from,
    csrf_of,
    field_of,
    make_admin,
    set_cookie_header,
    signed_in,
    unique_email,
)
from tests.conftest import START, TenantCtx, make_member, make_tenant
from wafa.clock import FrozenClock
from wafa.engagement import surveys
from wafa.tenants import service as tenants

TO_ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def ask_code(b: TestClient, slug: str, email: str):  # type: ignore[no-untyped-def]
    page = b.get(f"/m/{slug}/login")
    assert page.status_code == 200, page.text
    return b.post(f"/m/{slug}/login", data={"email": email, "csrf": csrf_of(page.text)}, follow_redirects=False)


def enter_code(b: TestClient, slug: str, email: str, code: str):  # type: ignore[no-untyped-def]
    page = b.get(f"/m/{slug}/verify", params={"email": email})
    assert page.status_code == 200, page.text
    return b.post(f"/m/{slug}/verify", data={"email": email, "code": code, "csrf": csrf_of(page.text)}, follow_redirects=False)


def new_code(b: TestClient, inbox: Inbox, slug: str, email: str) -> str:
    assert ask_code(b, slug, email).status_code == 303
    return inbox.codes_for(email)[-1]


def member_signed_in(b: TestClient, inbox: Inbox, slug: str, email: str) -> TestClient:
    answer = enter_code(b, slug, email, new_code(b, inbox, slug, email))
    assert answer.status_code == 303, answer.text
    return b


def is_signed_out(b: TestClient, slug: str, path: str = "/") -> bool:
    answer = b.get(f"/m/{slug}{path}", follow_redirects=False)
    return answer.status_code == 303 and answer.headers["location"] == f"/m/{slug}/login"


def member_with_email(factory: sessionmaker[Session], tenant: TenantCtx, name: str = "Sara") -> tuple[int, str]:
    email = unique_email(name.lower())
    return make_member(factory, tenant.id, START, email=email, name=name), email


def give_points(client: TestClient, member_id: int, points: int) -> None:
    made = client.post(f"/v1/members/{member_id}/adjustments", json={"points": points, "reason": "opening balance"})
    assert made.status_code == 201, made.text


def available(client: TestClient, member_id: int) -> int:
    return client.get(f"/v1/members/{member_id}/balance").json()["available"]


def add_reward(client: TestClient, key: str, points: int) -> dict:  # type: ignore[type-arg]
    body = {"key": key, "name_en": key.title(), "name_ar": "مكافأة", "points": points,
            "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00"}}}
    made = client.post("/v1/rewards", json=body)
    assert made.status_code == 201, made.text
    return made.json()


# --- codes by e-mail -------------------------------------------------------------------------------


def test_the_code_arrives_by_email_and_signs_the_member_in(
    browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """The code is e-mailed to the member's address; typing it signs in with an HttpOnly cookie for this portal."""
    _member_id, email = member_with_email(factory, tenant, "Sara")
    b = browser()
    asked = ask_code(b, tenant.slug, email.upper())
    assert asked.status_code == 303 and asked.headers["location"] == f"/m/{tenant.slug}/verify?email={quote(email)}"
    (mail,) = inbox.to(email)
    (code,) = inbox.codes_for(email)
    assert code in mail.get_content() and f"Tenant {tenant.slug}" in mail.get_content()
    assert "رمز تسجيل الدخول" in str(mail["Subject"])  # the portal's default language

    answer = enter_code(b, tenant.slug, email, code)
    assert answer.status_code == 303 and answer.headers["location"] == f"/m/{tenant.slug}/"
    header = set_cookie_header(answer, "wafa_member")
    assert "HttpOnly" in header and f"Path=/m/{tenant.slug}" in header and "samesite=lax" in header.lower()
    card = b.get(f"/m/{tenant.slug}")
    assert card.status_code == 200 and 'id="member-name">Sara<' in card.text


def test_the_code_mail_says_its_language(browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx) -> None:
    """The mail carries Content-Language (ar by default, en when the member reads the portal in English), for right-to-left clients."""
    _, email = member_with_email(factory, tenant)
    b = browser()
    ask_code(b, tenant.slug, email)
    b.get(f"/m/{tenant.slug}/login", params={"lang": "en"})
    ask_code(b, tenant.slug, email)
    assert [m["Content-Language"] for m in inbox.to(email)] == ["ar", "en"]


def test_a_code_signs_in_once(browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx) -> None:
    """A used code is refused the second time (401, no session), even in another browser."""
    _, email = member_with_email(factory, tenant)
    first = browser()
    code = new_code(first, inbox, tenant.slug, email)
    assert enter_code(first, tenant.slug, email, code).status_code == 303
    other = browser()
    again = enter_code(other, tenant.slug, email, code)
    assert again.status_code == 401 and cookie_from(again, "wafa_member") is None
    assert is_signed_out(other, tenant.slug)


def test_a_code_expires_after_ten_minutes(
    browser: Browser, clock: FrozenClock, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """A code typed ten minutes after it was sent is refused; one typed at 9:59 signs in."""
    _, email = member_with_email(factory, tenant)
    b = browser()
    code = new_code(b, inbox, tenant.slug, email)
    clock.advance(timedelta(minutes=10))
    assert enter_code(b, tenant.slug, email, code).status_code == 401
    fresh = new_code(b, inbox, tenant.slug, email)
    clock.advance(timedelta(minutes=9, seconds=59))
    assert enter_code(b, tenant.slug, email, fresh).status_code == 303


def test_five_wrong_tries_burn_the_code(browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx) -> None:
    """After five wrong codes, even the right one is refused: guessing a six-digit code gets five tries."""
    _, email = member_with_email(factory, tenant)
    b = browser()
    code = new_code(b, inbox, tenant.slug, email)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert enter_code(b, tenant.slug, email, wrong).status_code == 401
    answer = enter_code(b, tenant.slug, email, code)
    assert answer.status_code == 401 and cookie_from(answer, "wafa_member") is None


def test_a_fourth_code_within_fifteen_minutes_is_refused(
    browser: Browser, clock: FrozenClock, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """Three codes per address per quarter hour: the fourth is a 429 page and no mail; later it is allowed again."""
    _, email = member_with_email(factory, tenant)
    b = browser()
    for _ in range(3):
        assert ask_code(b, tenant.slug, email).status_code == 303
        clock.advance(timedelta(minutes=1))
    refused = ask_code(b, tenant.slug, email)
    assert refused.status_code == 429 and refused.headers["content-type"].startswith("text/html")
    assert len(inbox.to(email)) == 3
    clock.advance(timedelta(minutes=11, seconds=59))  # 14:59 after the first code
    assert ask_code(b, tenant.slug, email).status_code == 429
    clock.advance(timedelta(seconds=1))  # the first code leaves the window
    assert ask_code(b, tenant.slug, email).status_code == 303
    assert len(inbox.to(email)) == 4


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """Asking for a code for a stranger's address redirects exactly like a member's, and nothing is sent."""
    _, known = member_with_email(factory, tenant)
    stranger = unique_email("stranger")
    b = browser()
    a, z = ask_code(b, tenant.slug, known), ask_code(b, tenant.slug, stranger)
    assert (a.status_code, z.status_code) == (303, 303)
    assert a.headers["location"] == f"/m/{tenant.slug}/verify?email={quote(known)}"
    assert z.headers["location"] == f"/m/{tenant.slug}/verify?email={quote(stranger)}"
    assert a.text == z.text
    assert inbox.to(stranger) == [] and len(inbox.to(known)) == 1
    known_page = b.get(a.headers["location"]).text.replace(known, "ADDRESS")
    stranger_page = b.get(z.headers["location"]).text.replace(stranger, "ADDRESS")
    assert known_page == stranger_page
    assert enter_code(b, tenant.slug, stranger, "123456").status_code == 401


def test_a_fourth_ask_answers_the_same_for_a_stranger(
    browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """The rate limit does not tell who is a member: a stranger's fourth ask is answered like a member's."""
    _, known = member_with_email(factory, tenant)
    stranger = unique_email("stranger")
    b = browser()
    answers = {address: [ask_code(b, tenant.slug, address).status_code for _ in range(4)] for address in (known, stranger)}
    assert answers[known] == answers[stranger]


def test_a_member_of_another_tenant_gets_no_code_here(
    browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """An address that is a member elsewhere is a stranger in this portal: no mail."""
    other = make_tenant(factory, START)
    _, email = member_with_email(factory, other)
    assert ask_code(browser(), tenant.slug, email).status_code == 303
    assert inbox.to(email) == []


@pytest.mark.parametrize("typed", ["arabic", "persian", "spaced"])
def test_a_code_typed_in_arabic_indic_digits_is_accepted(
    browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx, typed: str,
) -> None:
    """The code typed on an Arabic keyboard (٠-٩ or ۰-۹), or with a space in the middle, signs in."""
    _, email = member_with_email(factory, tenant)
    b = browser()
    code = new_code(b, inbox, tenant.slug, email)
    sent = {"arabic": code.translate(TO_ARABIC), "persian": code.translate(TO_PERSIAN), "spaced": f"{code[:3]} {code[3:]}"}[typed]
    assert enter_code(b, tenant.slug, email, sent).status_code == 303
    assert b.get(f"/m/{tenant.slug}").status_code == 200


# --- sessions ------------------------------------------------------------------------------------


def test_a_member_cookie_planted_before_sign_in_is_replaced_and_never_signed_in(
    browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """Session fixation: the code issues a new token; the value planted before signs nobody in."""
    _, email = member_with_email(factory, tenant)
    planted = "planted-" + uuid.uuid4().hex
    victim = browser()
    victim.cookies.set("wafa_member", planted, domain=HOST, path=f"/m/{tenant.slug}")
    answer = enter_code(victim, tenant.slug, email, new_code(victim, inbox, tenant.slug, email))
    issued = cookie_from(answer, "wafa_member")
    assert answer.status_code == 303 and issued and issued != planted
    attacker = browser()
    attacker.cookies.set("wafa_member", planted, domain=HOST, path=f"/m/{tenant.slug}")
    assert is_signed_out(attacker, tenant.slug)


def test_a_member_cookie_of_one_tenant_does_not_open_another_tenants_portal(
    browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """The same token sent to tenant B's portal (even with a member of B holding the same id space) is signed out."""
    _, email = member_with_email(factory, tenant)
    b = member_signed_in(browser(), inbox, tenant.slug, email)
    token = b.cookies.get("wafa_member", domain=HOST, path=f"/m/{tenant.slug}")
    other = make_tenant(factory, START)
    make_member(factory, other.id, START, email=email)
    b.cookies.set("wafa_member", token, domain=HOST, path=f"/m/{other.slug}")  # type: ignore[arg-type]
    for path in ("/", "/history", "/rewards", "/coupons"):
        assert is_signed_out(b, other.slug, path), path
    assert b.get(f"/m/{tenant.slug}").status_code == 200


def test_an_admin_cookie_does_not_open_the_portal(
    browser: Browser, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    """A console session token is no member session: sent as the portal cookie, it signs nobody in."""
    b = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, START))
    token = b.cookies.get("wafa_admin", domain=HOST, path="/admin")
    b.cookies.set("wafa_member", token, domain=HOST, path=f"/m/{tenant.slug}")  # type: ignore[arg-type]
    assert is_signed_out(b, tenant.slug)


def test_sign_out_ends_the_member_session_and_clears_the_cache(
    browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """Sign-out deletes the session on the server (the old cookie stops working) and tells the browser to clear its cache."""
    _, email = member_with_email(factory, tenant)
    b = member_signed_in(browser(), inbox, tenant.slug, email)
    token = b.cookies.get("wafa_member", domain=HOST, path=f"/m/{tenant.slug}")
    copy = browser()
    copy.cookies.set("wafa_member", token, domain=HOST, path=f"/m/{tenant.slug}")  # type: ignore[arg-type]
    assert copy.get(f"/m/{tenant.slug}").status_code == 200  # the copied cookie works until sign-out
    answer = b.post(f"/m/{tenant.slug}/logout", data={"csrf": csrf_of(b.get(f"/m/{tenant.slug}").text)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/m/{tenant.slug}/login"
    assert answer.headers["clear-site-data"] == '"cache"'
    replay = browser()
    replay.cookies.set("wafa_member", token, domain=HOST, path=f"/m/{tenant.slug}")  # type: ignore[arg-type]
    assert is_signed_out(replay, tenant.slug)


def test_a_member_suspended_in_the_console_is_signed_out(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """Suspending a member from the console ends their portal sessions at once."""
    member_id, email = member_with_email(factory, tenant)
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    console = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, START))
    csrf = csrf_of(console.get(f"/admin/members/{member_id}").text)
    done = console.post(f"/admin/members/{member_id}/status", data={"action": "suspend", "reason": "card lost", "csrf": csrf, "confirmed": "yes"},
                        follow_redirects=False)
    assert done.status_code == 303
    assert client.get(f"/v1/members/{member_id}").json()["status"] == "suspended"
    assert is_signed_out(phone, tenant.slug)


def test_a_member_suspended_through_the_api_is_signed_out(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """A suspension made by the shop's system through POST /v1/members/{id}/suspend signs the member out too."""
    member_id, email = member_with_email(factory, tenant)
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    assert client.post(f"/v1/members/{member_id}/suspend", json={"reason": "card lost"}).status_code == 200
    assert is_signed_out(phone, tenant.slug)


def test_a_closed_member_cannot_ask_for_a_code(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """A closed membership gets no code (the same answer as a stranger) and its open session stops working."""
    member_id, email = member_with_email(factory, tenant)
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    assert client.post(f"/v1/members/{member_id}/close", json={"reason": "asked to leave"}).status_code == 200
    assert is_signed_out(phone, tenant.slug)
    assert ask_code(browser(), tenant.slug, email).status_code == 303
    assert len(inbox.to(email)) == 1


# --- only my own things ----------------------------------------------------------------------------


def test_my_coupons_lists_only_the_signed_in_members_redemptions(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """Two members redeem; each one's coupons page shows their own redemption and never the other's code."""
    reward = add_reward(client, "ten-off", 100)
    mine_id, mine_email = member_with_email(factory, tenant, "Sara")
    theirs_id, theirs_email = member_with_email(factory, tenant, "Omar")
    redeemed = {}
    for member_id in (mine_id, theirs_id):
        give_points(client, member_id, 300)
        made = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": reward["id"]})
        assert made.status_code == 201, made.text
        redeemed[member_id] = made.json()
    me = member_signed_in(browser(), inbox, tenant.slug, mine_email)
    page = me.get(f"/m/{tenant.slug}/coupons")
    assert page.status_code == 200
    assert f'id="redemption-{redeemed[mine_id]["id"]}"' in page.text
    assert f'id="redemption-{redeemed[theirs_id]["id"]}"' not in page.text
    assert page.text.count('id="redemption-') == 1
    other = member_signed_in(browser(), inbox, tenant.slug, theirs_email)
    assert f'id="redemption-{redeemed[mine_id]["id"]}"' not in other.get(f"/m/{tenant.slug}/coupons").text


def test_a_survey_link_answers_only_for_its_own_member(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """A signed-in member sees only their own survey links; answering another member's link records that
    member's answer, never the signed-in one's."""
    survey = client.post("/v1/surveys", json={"key": "nps", "title_en": "How are we doing?", "title_ar": "كيف حالنا؟", "questions": [
        {"key": "recommend", "type": "nps", "text_en": "Would you recommend us?", "text_ar": "هل تنصح بنا؟"}]}).json()
    mine_id, mine_email = member_with_email(factory, tenant, "Sara")
    theirs_id, _ = member_with_email(factory, tenant, "Omar")
    invited = client.post(f"/v1/surveys/{survey['id']}/invitations", json={"member_ids": [mine_id, theirs_id]}).json()["items"]
    token = {i["member_id"]: i["link"].rsplit("/", 1)[1] for i in invited}

    me = member_signed_in(browser(), inbox, tenant.slug, mine_email)
    listed = me.get(f"/m/{tenant.slug}/surveys").text
    assert token[mine_id] in listed and token[theirs_id] not in listed
    assert me.get(f"/m/{tenant.slug}/surveys/{token[theirs_id]}").status_code == 200
    answered = me.post(f"/m/{tenant.slug}/surveys/{token[theirs_id]}", data={"recommend": "10"}, follow_redirects=False)
    assert answered.status_code == 303
    with factory() as session:
        assert surveys.answered(session, tenant_id=tenant.id, survey_id=survey["id"], member_id=theirs_id)
        assert not surveys.answered(session, tenant_id=tenant.id, survey_id=survey["id"], member_id=mine_id)
    assert token[mine_id] in me.get(f"/m/{tenant.slug}/surveys").text  # still mine to answer
    again = me.post(f"/m/{tenant.slug}/surveys/{token[theirs_id]}", data={"recommend": "0"}, follow_redirects=False)
    assert again.status_code == 409


def test_a_survey_link_of_another_tenant_is_not_found(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx,
) -> None:
    """An invitation's token works only in its own tenant's portal."""
    survey = client.post("/v1/surveys", json={"key": "nps", "title_en": "Q", "title_ar": "س", "questions": [
        {"key": "recommend", "type": "nps", "text_en": "Recommend?", "text_ar": "تنصح؟"}]}).json()
    member_id = make_member(factory, tenant.id, START)
    link = client.post(f"/v1/surveys/{survey['id']}/invitations", json={"member_ids": [member_id]}).json()["items"][0]["link"]
    token = link.rsplit("/", 1)[1]
    other = make_tenant(factory, START)
    b = browser()
    assert b.get(f"/m/{tenant.slug}/surveys/{token}").status_code == 200
    assert b.get(f"/m/{other.slug}/surveys/{token}").status_code == 404
    assert b.post(f"/m/{other.slug}/surveys/{token}", data={"recommend": "9"}).status_code == 404


# --- joining ---------------------------------------------------------------------------------------


def test_joining_through_a_referral_link_enrols_after_the_code_and_links_the_referral(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """/join?ref=CODE sends a code; nobody is enrolled until it is typed; then the new member exists, is
    signed in, and is the referrer's pending referral."""
    assert client.put("/v1/referral-policy", json={"referrer_points": 500, "referee_points": 200, "min_purchase": "50.00"}).status_code == 200
    referrer = client.post("/v1/members", json={"external_id": "ref-1", "email": unique_email("referrer")}).json()
    email = unique_email("newcomer")
    b = browser()
    page = b.get(f"/m/{tenant.slug}/join", params={"ref": referrer["referral_code"]})
    assert page.status_code == 200 and field_of(page.text, "ref") == referrer["referral_code"]
    asked = b.post(f"/m/{tenant.slug}/join", data={"name": "Noura", "email": email, "ref": referrer["referral_code"],
                                                   "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == f"/m/{tenant.slug}/verify?email={quote(email)}"
    assert client.get("/v1/members", params={"email": email}).json()["items"] == []  # not before the code

    answer = enter_code(b, tenant.slug, email, inbox.codes_for(email)[-1])
    assert answer.status_code == 303
    (joined,) = client.get("/v1/members", params={"email": email}).json()["items"]
    assert joined["name"] == "Noura" and joined["email"] == email
    referred_by = client.get(f"/v1/members/{joined['id']}/referrals").json()["referred_by"]
    assert referred_by["referrer_id"] == referrer["id"] and referred_by["status"] == "pending"
    assert 'id="member-name">Noura<' in b.get(f"/m/{tenant.slug}").text


def test_joining_twice_with_the_same_address_enrols_once(
    browser: Browser, client: TestClient, inbox: Inbox, tenant: TenantCtx,
) -> None:
    """A second join with an address that became a member signs that member in, no duplicate."""
    email = unique_email("twice")
    for _ in range(2):
        b = browser()
        page = b.get(f"/m/{tenant.slug}/join")
        b.post(f"/m/{tenant.slug}/join", data={"name": "Twice", "email": email, "csrf": csrf_of(page.text)}, follow_redirects=False)
        assert enter_code(b, tenant.slug, email, inbox.codes_for(email)[-1]).status_code == 303
    assert len(client.get("/v1/members", params={"email": email}).json()["items"]) == 1


# --- CSRF ------------------------------------------------------------------------------------------


def test_portal_posts_without_the_csrf_token_are_refused(
    browser: Browser, client: TestClient, clock: FrozenClock, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """Redeem, sign-out and joining a challenge without the session's token are 403 and change nothing."""
    reward = add_reward(client, "ten-off", 100)
    member_id, email = member_with_email(factory, tenant)
    give_points(client, member_id, 300)
    challenge = client.post("/v1/challenges", json={
        "key": "two-visits", "name_en": "Two visits", "name_ar": "زيارتان", "goal": {"metric": "purchases", "at_least": "2"},
        "starts_at": clock.now().isoformat(), "ends_at": (clock.now() + timedelta(days=7)).isoformat(), "opt_in": True, "points": 10,
    })
    assert challenge.status_code == 201, challenge.text
    b = member_signed_in(browser(), inbox, tenant.slug, email)
    base = f"/m/{tenant.slug}"
    for data in ({}, {"csrf": "not-the-token"}):
        assert b.post(f"{base}/rewards/{reward['id']}/redeem", data={"request_id": uuid.uuid4().hex, **data}).status_code == 403
        assert b.post(f"{base}/logout", data=data).status_code == 403
        assert b.post(f"{base}/challenges/{challenge.json()['id']}/join", data=data).status_code == 403
    assert available(client, member_id) == 300
    assert client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"] == []
    found = client.get(f"/v1/members/{member_id}/achievements").json()["challenges"]
    assert all(not c["joined"] for c in found)
    assert b.get(base).status_code == 200  # still signed in


def test_portal_posts_from_another_site_are_refused(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """A foreign Origin is 403 even with the right token, on the member's posts and on the sign-in forms."""
    reward = add_reward(client, "ten-off", 100)
    member_id, email = member_with_email(factory, tenant)
    give_points(client, member_id, 300)
    b = member_signed_in(browser(), inbox, tenant.slug, email)
    csrf = csrf_of(b.get(f"/m/{tenant.slug}/rewards").text)
    evil = {"Origin": "https://evil.example"}
    assert b.post(f"/m/{tenant.slug}/rewards/{reward['id']}/redeem", data={"csrf": csrf, "request_id": uuid.uuid4().hex},
                  headers=evil).status_code == 403
    assert available(client, member_id) == 300
    stranger = browser()
    page = stranger.get(f"/m/{tenant.slug}/login")
    assert stranger.post(f"/m/{tenant.slug}/login", data={"email": email, "csrf": csrf_of(page.text)}, headers=evil).status_code == 403
    assert len(inbox.to(email)) == 1


def test_sign_in_forms_without_their_csrf_token_are_refused(
    browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """Asking for a code, typing it and joining need the form's token (a double-submit cookie): without it, 403 and no mail."""
    _, email = member_with_email(factory, tenant)
    b = browser()
    b.get(f"/m/{tenant.slug}/login")
    assert b.post(f"/m/{tenant.slug}/login", data={"email": email}).status_code == 403
    assert b.post(f"/m/{tenant.slug}/join", data={"name": "X", "email": unique_email()}).status_code == 403
    assert inbox.to(email) == []
    code = new_code(b, inbox, tenant.slug, email)
    answer = b.post(f"/m/{tenant.slug}/verify", data={"email": email, "code": code}, follow_redirects=False)
    assert answer.status_code == 403 and cookie_from(answer, "wafa_member") is None
    assert enter_code(b, tenant.slug, email, code).status_code == 303  # the code was not used up


# --- rewards ---------------------------------------------------------------------------------------


def test_redeeming_from_the_portal_spends_the_points_once_even_if_posted_twice(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """The confirm form posted twice (a double tap) redeems once: one redemption, the points taken once."""
    reward = add_reward(client, "ten-off", 120)
    member_id, email = member_with_email(factory, tenant)
    give_points(client, member_id, 500)
    b = member_signed_in(browser(), inbox, tenant.slug, email)
    page = b.get(f"/m/{tenant.slug}/rewards", params={"lang": "en"})
    assert page.status_code == 200 and 'data-reward="ten-off"' in page.text
    form = {"csrf": csrf_of(page.text.split('data-reward="ten-off"', 1)[1]),
            "request_id": field_of(page.text.split('data-reward="ten-off"', 1)[1], "request_id")}
    first = b.post(f"/m/{tenant.slug}/rewards/{reward['id']}/redeem", data=form, follow_redirects=False)
    second = b.post(f"/m/{tenant.slug}/rewards/{reward['id']}/redeem", data=form, follow_redirects=False)
    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].startswith(f"/m/{tenant.slug}/coupons?new=")
    assert available(client, member_id) == 380
    made = client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"]
    assert len(made) == 1 and made[0]["points"] == 120
    coupons = b.get(first.headers["location"])
    assert f'id="redemption-{made[0]["id"]}"' in coupons.text
    # A new form (a new request id) is a new redemption.
    page = b.get(f"/m/{tenant.slug}/rewards").text.split('data-reward="ten-off"', 1)[1]
    assert b.post(f"/m/{tenant.slug}/rewards/{reward['id']}/redeem", data={"csrf": csrf_of(page), "request_id": field_of(page, "request_id")},
                  follow_redirects=False).status_code == 303
    assert available(client, member_id) == 260


def test_a_redemption_the_catalog_refuses_shows_the_reason_and_spends_nothing(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """Posting a redemption for a reward beyond the balance answers the rewards page with the problem, not a 500."""
    reward = add_reward(client, "big", 1000)
    member_id, email = member_with_email(factory, tenant)
    give_points(client, member_id, 100)
    b = member_signed_in(browser(), inbox, tenant.slug, email)
    csrf = csrf_of(b.get(f"/m/{tenant.slug}/rewards").text)
    answer = b.post(f"/m/{tenant.slug}/rewards/{reward['id']}/redeem", data={"csrf": csrf, "request_id": uuid.uuid4().hex})
    assert 400 <= answer.status_code < 500 and 'role="alert"' in answer.text
    assert available(client, member_id) == 100


def test_a_locked_reward_shows_why_in_the_members_language(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """A reward the member cannot afford lists the reason instead of a redeem form: in English with Latin
    digits, and on the Arabic page in Arabic with the program's Arabic-Indic digits."""
    add_reward(client, "big", 1000)
    add_reward(client, "small", 50)
    member_id, email = member_with_email(factory, tenant)
    give_points(client, member_id, 100)
    b = member_signed_in(browser(), inbox, tenant.slug, email)
    english = b.get(f"/m/{tenant.slug}/rewards", params={"lang": "en"}).text
    big = english.split('data-reward="big"', 1)[1].split("</li>\n", 1)[0]
    small = english.split('data-reward="small"', 1)[1].split("</li>\n", 1)[0]
    assert "You have 100 of 1,000 points" in big and "/redeem" not in big
    assert "/redeem" in small and 'class="reasons"' not in small
    assert english.index('data-reward="small"') < english.index('data-reward="big"')  # redeemable first

    assert client.patch("/v1/program", json={"numerals": "arab"}).status_code == 200
    arabic = b.get(f"/m/{tenant.slug}/rewards", params={"lang": "ar"}).text
    assert 'dir="rtl"' in arabic and 'lang="ar"' in arabic
    reasons = arabic.split('data-reward="big"', 1)[1].split('class="reasons">', 1)[1].split("</ul>", 1)[0]
    assert "لديك ١٠٠ من ١٬٠٠٠ نقطة" in reasons and "You have" not in reasons and "100" not in reasons


# --- the installable app -----------------------------------------------------------------------------


def test_the_manifest_and_service_worker_are_served_with_their_types(browser: Browser, tenant: TenantCtx) -> None:
    """The web app manifest is application/manifest+json scoped to the portal; sw.js is JavaScript, not cached stale."""
    b = browser()
    manifest = b.get(f"/m/{tenant.slug}/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.headers["content-type"] == "application/manifest+json"
    body = json.loads(manifest.text)
    assert body["start_url"] == body["scope"] == f"/m/{tenant.slug}/" and body["name"] == f"Tenant {tenant.slug}"
    worker = b.get(f"/m/{tenant.slug}/sw.js")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert f'const BASE = "/m/{tenant.slug}/";' in worker.text


def test_a_portal_of_no_tenant_is_a_404_page(browser: Browser, factory: sessionmaker[Session]) -> None:
    """An unknown or suspended tenant's portal answers 404 in HTML, and sends no code."""
    b = browser()
    assert b.get("/m/no-such-shop/login").status_code == 404
    suspended = make_tenant(factory, START)
    from wafa.db import unit_of_work

    with unit_of_work(factory) as session:
        tenants.get_by_slug(session, slug=suspended.slug).status = "suspended"  # type: ignore[union-attr]
    answer = b.get(f"/m/{suspended.slug}/login")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")


def test_every_page_of_the_portal_opens_for_a_member_with_history(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    """Card, history, rewards, coupons, referral, achievements and surveys render (both languages) after purchases and a redemption."""
    reward = add_reward(client, "ten-off", 100)
    member_id, email = member_with_email(factory, tenant)
    assert client.patch("/v1/program", json={"pending_days": 0}).status_code == 200
    for order, amount in (("A", "250.00"), ("B", "80.00")):
        made = client.post("/v1/events",
                           json={"type": "purchase", "member": {"id": member_id}, "order_id": order, "amount": amount, "currency": "SAR"})
        assert made.status_code == 201, made.text
    give_points(client, member_id, 300)
    assert client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": reward["id"]}).status_code == 201
    b = member_signed_in(browser(), inbox, tenant.slug, email)
    for lang in ("ar", "en"):
        for path in ("", "/", "/history", "/rewards", "/coupons", "/refer", "/achievements", "/surveys"):
            page = b.get(f"/m/{tenant.slug}{path}", params={"lang": lang})
            assert page.status_code == 200, (path, page.text[:500])
            assert page.headers["content-security-policy"].startswith("default-src 'self'") and page.headers["x-frame-options"] == "DENY"
            assert f'lang="{lang}"' in page.text


def test_joining_with_the_address_of_a_member_in_debt_is_refused_with_a_page_when_the_program_refuses(
    browser: Browser, client: TestClient, inbox: Inbox, tenant: TenantCtx,
) -> None:
    """reenrol_debt "refuse": the portal's join says why on a page (409), and enrols nobody."""
    assert client.patch("/v1/program", json={"reenrol_debt": "refuse"}).status_code == 200
    email = unique_email("debtor")
    debtor = client.post("/v1/members", json={"external_id": "debtor", "email": email}).json()["id"]
    client.post("/v1/events", json={"type": "purchase", "member": {"id": debtor}, "order_id": "J-1", "amount": "100.00", "currency": "SAR"})
    assert client.post(f"/v1/members/{debtor}/redemptions", json={"points": 100, "reason": "gift"}).status_code == 201
    assert client.post("/v1/events", json={"type": "return", "order_id": "J-1"}).status_code == 201
    alias = email.replace("@", "+again@")
    b = browser()
    page = b.get(f"/m/{tenant.slug}/join")
    b.post(f"/m/{tenant.slug}/join", data={"name": "Again", "email": alias, "csrf": csrf_of(page.text)}, follow_redirects=False)
    answer = enter_code(b, tenant.slug, alias, inbox.codes_for(alias)[-1])
    assert answer.status_code == 409 and "ما زال عليها دين" in answer.text  # the portal speaks Arabic by default
    assert client.get("/v1/members", params={"email": alias}).json()["items"] == []

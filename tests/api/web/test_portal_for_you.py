"""The member portal's "For you" page, on both databases: a signed-in member sees the offers they were given,
each with why it is for them, its price, its window and the uses left, in their language, linked from the
"More" page; a reward offer is redeemed once however often its form is sent; another member's offers are
never shown nor redeemable; a refusal is a sentence, not an error page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import Browser, Inbox, csrf_of
from tests.api.web.test_portal_auth import available, give_points, member_signed_in, member_with_email
from tests.conftest import TenantCtx


def _post(client: TestClient, path: str, body: dict | None = None) -> dict:
    made = client.post(path, json=body if body is not None else {})
    assert made.status_code in (200, 201), made.text
    return made.json()


def _external_id(client: TestClient, member_id: int) -> str:
    return str(client.get(f"/v1/members/{member_id}").json()["external_id"])


def _offers(client: TestClient, chosen: str) -> None:
    """A latte for 200 points (its catalog price is 400) to one member, up to twice; a rule's coffee bonus to everyone."""
    _post(client, "/v1/rewards", {"key": "latte", "name_en": "Latte", "name_ar": "لاتيه", "points": 400, "gives": {"type": "gift", "sku": "LATTE"}})
    _post(client, "/v1/offers", {"key": "latte-half", "name_en": "Half-price latte", "name_ar": "لاتيه بنصف السعر", "kind": "reward",
                                 "reward_key": "latte", "points": 200, "audience": {"external_ids": [chosen]}, "valid_days": 7, "per_member_cap": 2})
    rule = _post(client, "/v1/rules", {"name_en": "Coffee bonus", "name_ar": "مكافأة القهوة", "trigger": "purchase", "status": "active",
                                       "conditions": [{"type": "offer", "any_of": ["coffee-double"]}],
                                       "actions": [{"type": "fixed_points", "points": 50}]})
    _post(client, "/v1/offers", {"key": "coffee-double", "name_en": "Coffee bonus", "name_ar": "مكافأة القهوة", "kind": "rule",
                                 "rule_id": rule["id"], "audience": {"all": True}, "valid_days": 3})
    for key in ("latte-half", "coffee-double"):
        _post(client, f"/v1/offers/{key}:activate")


def _card(page: str, key: str) -> str:
    found = re.search(rf'<li class="card reward" id="offer-{key}".*?</li>', page, flags=re.DOTALL)
    assert found, f"no offer {key} on the page"
    return found.group(0)


def test_a_member_sees_their_offers_with_reasons_in_their_language(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    member_id, email = member_with_email(factory, tenant, "Sara")
    _offers(client, _external_id(client, member_id))
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    more = phone.get(f"/m/{tenant.slug}/achievements", params={"lang": "en"}).text
    assert f'href="/m/{tenant.slug}/for-you"' in more and "For you" in more

    page = phone.get(f"/m/{tenant.slug}/for-you", params={"lang": "en"})
    assert page.status_code == 200
    latte = _card(page.text, "latte-half")
    assert "Half-price latte" in latte and "Picked for you" in latte and "200 points" in latte and "Uses left: 2" in latte
    assert "until " in latte and f'action="/m/{tenant.slug}/for-you/latte-half/redeem"' in latte
    bonus = _card(page.text, "coffee-double")
    assert "Coffee bonus" in bonus and "For every member" in bonus and "It applies by itself when you buy." in bonus
    assert "<form" not in bonus and "Uses left" not in bonus  # a rule offer has no button and, here, no cap
    assert page.text.index('id="offer-coffee-double"') < page.text.index('id="offer-latte-half"')  # the soonest to close first

    arabic = phone.get(f"/m/{tenant.slug}/for-you", params={"lang": "ar"}).text
    assert 'dir="rtl"' in arabic
    latte_ar = _card(arabic, "latte-half")
    assert "لاتيه بنصف السعر" in latte_ar and "اخترناه لك" in latte_ar and "Picked for you" not in arabic
    assert "لكل الأعضاء" in _card(arabic, "coffee-double")


def test_a_reward_offer_is_redeemed_once_when_its_form_is_sent_twice(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    member_id, email = member_with_email(factory, tenant, "Sara")
    give_points(client, member_id, 1000)
    _offers(client, _external_id(client, member_id))
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    page = phone.get(f"/m/{tenant.slug}/for-you", params={"lang": "en"}).text
    latte = _card(page, "latte-half")
    form = {"csrf": csrf_of(latte), "request_id": re.search(r'name="request_id" value="([^"]+)"', latte).group(1)}  # type: ignore[union-attr]
    first = phone.post(f"/m/{tenant.slug}/for-you/latte-half/redeem", data=form, follow_redirects=False)
    again = phone.post(f"/m/{tenant.slug}/for-you/latte-half/redeem", data=form, follow_redirects=False)
    assert first.status_code == 303 and again.status_code == 303, first.text
    assert first.headers["location"] == again.headers["location"]
    assert re.fullmatch(rf"/m/{tenant.slug}/coupons\?new=\d+", first.headers["location"])
    assert available(client, member_id) == 800  # once, at the offer's price
    assert client.get("/v1/offers/latte-half").json()["used"] == 1
    coupons = phone.get(first.headers["location"], params={"lang": "en"})
    assert coupons.status_code == 200 and "Latte" in coupons.text
    after = _card(phone.get(f"/m/{tenant.slug}/for-you", params={"lang": "en"}).text, "latte-half")
    assert "Uses left: 1" in after

    # A new page is a new request: the second use goes through, then the cap is reached and the offer leaves the page.
    latte = _card(phone.get(f"/m/{tenant.slug}/for-you").text, "latte-half")
    form = {"csrf": csrf_of(latte), "request_id": re.search(r'name="request_id" value="([^"]+)"', latte).group(1)}  # type: ignore[union-attr]
    assert phone.post(f"/m/{tenant.slug}/for-you/latte-half/redeem", data=form, follow_redirects=False).status_code == 303
    assert available(client, member_id) == 600
    assert 'id="offer-latte-half"' not in phone.get(f"/m/{tenant.slug}/for-you").text
    refused = phone.post(f"/m/{tenant.slug}/for-you/latte-half/redeem?lang=en", data={**form, "request_id": "another-request"},
                         follow_redirects=False)
    assert refused.status_code == 409 and "This offer cannot be used now" in refused.text and 'role="alert"' in refused.text
    assert available(client, member_id) == 600


def test_not_enough_points_is_a_friendly_sentence(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    member_id, email = member_with_email(factory, tenant, "Sara")
    give_points(client, member_id, 50)
    _offers(client, _external_id(client, member_id))
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    latte = _card(phone.get(f"/m/{tenant.slug}/for-you", params={"lang": "en"}).text, "latte-half")
    form = {"csrf": csrf_of(latte), "request_id": re.search(r'name="request_id" value="([^"]+)"', latte).group(1)}  # type: ignore[union-attr]
    refused = phone.post(f"/m/{tenant.slug}/for-you/latte-half/redeem", data=form, follow_redirects=False)
    assert refused.status_code == 422 and "You do not have enough points for this offer yet." in refused.text
    assert "Traceback" not in refused.text and available(client, member_id) == 50


def test_another_members_offers_are_never_shown_nor_redeemed(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    chosen_id, _ = member_with_email(factory, tenant, "Sara")
    other_id, other_email = member_with_email(factory, tenant, "Omar")
    give_points(client, chosen_id, 1000)
    give_points(client, other_id, 1000)
    _offers(client, _external_id(client, chosen_id))
    other = member_signed_in(browser(), inbox, tenant.slug, other_email)
    page = other.get(f"/m/{tenant.slug}/for-you", params={"lang": "en"}).text
    assert 'id="offer-latte-half"' not in page and "Half-price latte" not in page
    assert 'id="offer-coffee-double"' in page  # everyone's offer is theirs too
    refused = other.post(f"/m/{tenant.slug}/for-you/latte-half/redeem", data={"csrf": csrf_of(page), "request_id": "forged-request-1"},
                         follow_redirects=False)
    assert refused.status_code == 404 and "This offer is not yours to use." in refused.text
    assert available(client, other_id) == 1000 and available(client, chosen_id) == 1000
    assert client.get("/v1/offers/latte-half").json()["used"] == 0


def test_redeeming_needs_the_members_own_session_and_its_csrf_token(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    member_id, email = member_with_email(factory, tenant, "Sara")
    give_points(client, member_id, 1000)
    _offers(client, _external_id(client, member_id))
    stranger = browser()
    assert stranger.get(f"/m/{tenant.slug}/for-you", follow_redirects=False).headers["location"] == f"/m/{tenant.slug}/login"
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    forged = phone.post(f"/m/{tenant.slug}/for-you/latte-half/redeem", data={"csrf": "not-the-token", "request_id": "forged-request-2"},
                        follow_redirects=False)
    assert forged.status_code in (400, 403) and available(client, member_id) == 1000


ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def test_a_location_offer_asks_for_a_check_in_at_its_store_then_can_be_redeemed(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    member_id, email = member_with_email(factory, tenant, "Sara")
    give_points(client, member_id, 1000)
    _post(client, "/v1/stores", {"code": "RUH-01", "name_en": "Olaya", "name_ar": "العليا", "latitude": 24.69, "longitude": 46.685,
                                 "timezone": "Asia/Riyadh", "hours": ALWAYS})
    _post(client, "/v1/rewards", {"key": "latte", "name_en": "Latte", "name_ar": "لاتيه", "points": 400, "gives": {"type": "gift", "sku": "LATTE"}})
    _post(client, "/v1/offers", {"key": "olaya-latte", "name_en": "Latte at Olaya", "name_ar": "لاتيه في العليا", "kind": "reward",
                                 "reward_key": "latte", "audience": {"all": True}, "store_codes": ["RUH-01"]})
    _post(client, "/v1/offers/olaya-latte:activate")
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    card = _card(phone.get(f"/m/{tenant.slug}/for-you", params={"lang": "en"}).text, "olaya-latte")
    assert "Check in at Olaya to use it." in card and "At Olaya while you are there" in card
    assert f'href="/m/{tenant.slug}/stores"' in card  # the portal's stores page, where the member checks in
    assert "<form" not in card  # nothing to redeem before the check-in
    arabic = _card(phone.get(f"/m/{tenant.slug}/for-you", params={"lang": "ar"}).text, "olaya-latte")
    assert "سجّل حضورك في العليا لاستخدامه." in arabic and "في العليا أثناء وجودك هناك" in arabic

    _post(client, f"/v1/members/{member_id}/check-ins", {"store": "RUH-01", "latitude": 24.691, "longitude": 46.685})
    card = _card(phone.get(f"/m/{tenant.slug}/for-you", params={"lang": "en"}).text, "olaya-latte")
    assert "You are checked in at Olaya: you can use it now." in card
    form = {"csrf": csrf_of(card), "request_id": re.search(r'name="request_id" value="([^"]+)"', card).group(1)}  # type: ignore[union-attr]
    assert phone.post(f"/m/{tenant.slug}/for-you/olaya-latte/redeem", data=form, follow_redirects=False).status_code == 303
    assert available(client, member_id) == 600

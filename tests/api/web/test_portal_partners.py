"""The member portal of a coalition: the history says at which partner each line was earned or spent
(in the page's language), and a Partners page, linked from the navigation only in a coalition, lists
the active partners with their stores and their offers."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.api.test_coalition import as_partner, buy, coalition
from tests.api.web.conftest import Browser, Inbox, unique_email
from tests.api.web.test_portal_auth import member_signed_in
from tests.conftest import TenantCtx


def enrol_with_email(client: TestClient, partner: dict) -> tuple[int, str]:
    """A member enrolled at a partner's till, with an e-mail address to sign in with."""
    email = unique_email()
    made = client.post("/v1/members", json={"external_id": f"m-{uuid.uuid4().hex[:8]}", "email": email}, headers=as_partner(client, partner))
    assert made.status_code == 201, made.text
    return made.json()["id"], email


def offer(client: TestClient, key: str, points: int, partner: str | None, status: str = "active") -> None:
    body = {"key": key, "name_en": f"Offer {key}", "name_ar": f"عرض {key}", "points": points, "status": status,
            "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "5.00"}}}
    made = client.post("/v1/rewards", json=body if partner is None else {**body, "partner": partner})
    assert made.status_code == 201, made.text


def row_of(html: str, text: str) -> str:
    """The history table's row that holds `text`."""
    before, found, after = html.partition(text)
    assert found, f"{text!r} is not on the page"
    return before.rsplit("<tr>", 1)[1] + text + after.split("</tr>", 1)[0]


def test_history_says_where_each_line_was_earned_and_spent(
    browser: Browser, client: TestClient, inbox: Inbox, tenant: TenantCtx,
) -> None:
    partners = coalition(client)
    assert client.patch("/v1/program", json={"pending_days": 0}).status_code == 200
    member_id, email = enrol_with_email(client, partners["cafe"])
    assert buy(client, member_id, "1001", "100.00", partners["cafe"]).status_code == 201  # 200 points at the café
    spent = client.post(f"/v1/members/{member_id}/redemptions", json={"points": 150, "reason": "till 4"},
                        headers=as_partner(client, partners["pharmacy"]))
    assert spent.status_code == 201, spent.text
    returned = client.post("/v1/events", json={"type": "return", "order_id": "1001", "amount": "10.00"}, headers=as_partner(client, partners["cafe"]))
    assert returned.status_code == 201, returned.text
    exchanged = client.post(f"/v1/partners/{partners['pharmacy']['id']}/exchanges", json={"member_id": member_id, "own_points": 125},
                            headers={**as_partner(client, partners["pharmacy"]), "Idempotency-Key": "x-1"})
    assert exchanged.status_code == 201 and exchanged.json()["points"] == 12, exchanged.text
    b = member_signed_in(browser(), inbox, tenant.slug, email)

    english = b.get(f"/m/{tenant.slug}/history", params={"lang": "en"}).text
    # The receipt's order number, without the partner's namespace the coalition keeps it under.
    assert "Earned at Qahwa Café" in row_of(english, "Purchase 1001") and "cafe:1001" not in english
    assert "Spent at Shifa Pharmacy" in row_of(english, "Points redeemed")
    assert "At Qahwa Café" in row_of(english, "Return of order 1001")
    exchange = row_of(english, "125 Shifa stars exchanged for points")
    assert "Earned at Shifa Pharmacy" in exchange and "5 kept for your next exchange" in exchange

    arabic = b.get(f"/m/{tenant.slug}/history", params={"lang": "ar"}).text
    assert 'dir="rtl"' in arabic
    assert "اكتُسبت لدى مقهى قهوة" in arabic  # the café's Arabic name
    assert "صُرفت لدى Shifa Pharmacy" in arabic  # the pharmacy has none: its name as it is
    assert "Earned at" not in arabic and "Qahwa Café" not in arabic


def test_history_outside_a_coalition_names_no_partner(browser: Browser, client: TestClient, inbox: Inbox, tenant: TenantCtx) -> None:
    email = unique_email()
    member_id = client.post("/v1/members", json={"external_id": "m-1", "email": email}).json()["id"]
    assert client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "A1", "amount": "50.00",
                                           "currency": "SAR"}).status_code == 201
    page = member_signed_in(browser(), inbox, tenant.slug, email).get(f"/m/{tenant.slug}/history", params={"lang": "en"}).text
    assert "Purchase A1" in page and "Earned at" not in page


def test_the_partners_page_lists_active_partners_with_their_stores_and_offers(
    browser: Browser, client: TestClient, inbox: Inbox, tenant: TenantCtx,
) -> None:
    partners = coalition(client)
    cafe = partners["cafe"]["id"]
    assert client.post(f"/v1/partners/{cafe}/stores", json={"code": "JED-CAFE-1", "name": "Tahlia", "city": "Jeddah"}).status_code == 201
    third = client.post("/v1/partners", json={"key": "fuel", "name": "Darb Fuel", "name_ar": "وقود الدرب", "currency": "SAR", "earn_rate": "0.5",
                                              "issue_price": "0.04", "redeem_value": "0.04"})
    assert third.status_code == 201, third.text
    assert client.post(f"/v1/partners/{third.json()['id']}/stores", json={"code": "DF-1", "name": "Ring Road", "city": "Riyadh"}).status_code == 201
    assert client.patch(f"/v1/partners/{third.json()['id']}", json={"status": "suspended"}).status_code == 200
    offer(client, "free-coffee", 300, "cafe")
    offer(client, "cafe-draft", 100, "cafe", status="draft")
    offer(client, "pharmacy-10", 50, "pharmacy")
    offer(client, "fuel-wash", 100, "fuel")
    offer(client, "operator-own", 100, None)
    member_id, email = enrol_with_email(client, partners["pharmacy"])
    assert client.post(f"/v1/members/{member_id}/adjustments", json={"points": 120, "reason": "opening balance"}).status_code == 201
    b = member_signed_in(browser(), inbox, tenant.slug, email)

    card = b.get(f"/m/{tenant.slug}/", params={"lang": "en"}).text
    assert f'href="/m/{tenant.slug}/partners"' in card  # in the navigation
    page = b.get(f"/m/{tenant.slug}/partners", params={"lang": "en"})
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-partner="fuel"' not in html and "Darb Fuel" not in html and "Ring Road" not in html  # suspended
    # Partners by name: Qahwa Café, then Shifa Pharmacy.
    cafe_card = html.split('data-partner="cafe"', 1)[1].split("</section>", 1)[0]
    pharmacy_card = html.split('data-partner="pharmacy"', 1)[1].split("</section>", 1)[0]
    assert html.index('data-partner="cafe"') < html.index('data-partner="pharmacy"')
    assert "Qahwa Café" in cafe_card and "Points for every SAR1.00 spent: 2" in cafe_card
    assert "Olaya" in cafe_card and "Tahlia" in cafe_card and "Jeddah" in cafe_card
    assert 'data-reward="free-coffee"' in cafe_card and "cafe-draft" not in cafe_card and "operator-own" not in html
    # The café's offer is beyond the member's 120 points: why, as on the rewards page; the pharmacy's is theirs to redeem.
    assert "You have 120 of 300 points" in cafe_card
    assert 'data-reward="pharmacy-10"' in pharmacy_card and "/rewards#reward-" in pharmacy_card
    assert "Shifa stars" in pharmacy_card and "No stores listed yet." in pharmacy_card

    # Nor does the rewards page offer what a suspended partner gives.
    rewards = b.get(f"/m/{tenant.slug}/rewards", params={"lang": "en"}).text
    assert 'data-reward="free-coffee"' in rewards and 'data-reward="fuel-wash"' not in rewards

    arabic = b.get(f"/m/{tenant.slug}/partners", params={"lang": "ar"}).text
    assert 'dir="rtl"' in arabic and "الشركاء" in arabic and "مقهى قهوة" in arabic and "عرض free-coffee" in arabic
    assert "Qahwa Café" not in arabic


def test_outside_a_coalition_there_is_no_partners_page(browser: Browser, client: TestClient, inbox: Inbox, tenant: TenantCtx) -> None:
    email = unique_email()
    assert client.post("/v1/members", json={"external_id": "m-1", "email": email}).status_code == 201
    b = member_signed_in(browser(), inbox, tenant.slug, email)
    for lang in ("en", "ar"):
        assert "/partners" not in b.get(f"/m/{tenant.slug}/", params={"lang": lang}).text
    assert b.get(f"/m/{tenant.slug}/partners").status_code == 404


def test_the_partners_page_needs_a_signed_in_member(browser: Browser, client: TestClient, tenant: TenantCtx) -> None:
    coalition(client)
    answer = browser().get(f"/m/{tenant.slug}/partners", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/m/{tenant.slug}/login"

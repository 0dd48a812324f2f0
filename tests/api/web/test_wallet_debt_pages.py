"""A wallet in debt (cashback spent, then taken back by a return) is said in words where people look: the
console's member page shows "Wallet debt" with the amount, not only a negative balance, and the member's
card in the portal says the wallet owes money and that new cashback repays it first. In Arabic too."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import Browser, Inbox, make_admin, signed_in
from tests.api.web.test_portal_auth import member_signed_in, member_with_email
from tests.conftest import TenantCtx
from wafa.clock import FrozenClock
from wafa.web.i18n import Lang


def in_wallet_debt(client: TestClient, member_id: int) -> None:
    """100.00 SAR of cashback (10% of 1,000.00) spent at a till, then the purchase returned: the wallet owes 100.00 SAR."""
    client.post("/v1/rules", json={"name_en": "Cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active",
                                   "actions": [{"type": "cashback", "percent": "10"}]})
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "C-1", "amount": "1000.00",
                                    "currency": "SAR"})
    paid = client.post(f"/v1/members/{member_id}/wallet/debits", json={"amount": "100.00", "currency": "SAR", "reason": "till"})
    assert paid.status_code == 201, paid.text
    assert client.post("/v1/events", json={"type": "return", "order_id": "C-1"}).status_code == 201
    assert client.get(f"/v1/members/{member_id}/balance").json()["wallet_debt"] == {"SAR": 10000}


def console(browser: Browser, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock) -> TestClient:
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="admin"))


def test_the_console_member_page_shows_the_wallet_debt(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    member_id, _ = member_with_email(factory, tenant, "Sara")
    in_wallet_debt(client, member_id)
    admin = console(browser, factory, tenant, clock)
    page = admin.get(f"/admin/members/{member_id}", params={"lang": "en"})
    assert page.status_code == 200, page.text
    owed = Lang("en").money(10000, "SAR", minor=True)
    assert 'id="wallet-debt-SAR"' in page.text and f"Wallet debt: {owed}" in page.text
    assert "until new cashback has repaid the debt" in page.text
    arabic = admin.get(f"/admin/members/{member_id}", params={"lang": "ar"}).text
    assert f"دين المحفظة: {Lang('ar').money(10000, 'SAR', minor=True)}" in arabic and "Wallet debt" not in arabic


def test_the_console_says_nothing_of_a_debt_when_the_wallet_owes_nothing(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx, clock: FrozenClock,
) -> None:
    member_id, _ = member_with_email(factory, tenant, "Sara")
    client.post("/v1/rules", json={"name_en": "Cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active",
                                   "actions": [{"type": "cashback", "percent": "10"}]})
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "C-1", "amount": "100.00", "currency": "SAR"})
    page = console(browser, factory, tenant, clock).get(f"/admin/members/{member_id}", params={"lang": "en"}).text
    assert "Wallet debt" not in page and "wallet-debt" not in page


def test_the_portal_card_says_the_wallet_owes_money_and_cashback_repays_it_first(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    member_id, email = member_with_email(factory, tenant, "Sara")
    in_wallet_debt(client, member_id)
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    card = phone.get(f"/m/{tenant.slug}/", params={"lang": "en"})
    assert card.status_code == 200, card.text
    assert f"Your wallet owes {Lang('en').money(10000, 'SAR', minor=True)}." in card.text
    assert "New cashback repays this first" in card.text
    arabic = phone.get(f"/m/{tenant.slug}/", params={"lang": "ar"}).text
    assert f"على محفظتك دين قدره {Lang('ar').money(10000, 'SAR', minor=True)}." in arabic and "يسدّد الاسترداد النقدي الجديد" in arabic
    # Repaid by new cashback (100.00 of a 1,000.00 purchase): the card says no more about it.
    client.post("/v1/events", json={"type": "purchase", "member": {"id": member_id}, "order_id": "C-2", "amount": "1000.00", "currency": "SAR"})
    assert "wallet-debt" not in phone.get(f"/m/{tenant.slug}/", params={"lang": "en"}).text

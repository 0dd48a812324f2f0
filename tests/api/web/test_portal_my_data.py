"""The member portal's "my data": a signed-in member downloads everything the program holds about them
(the same zip the console and the API give), linked from the "More" page; nobody else can, and an
erased member is signed out for good."""

from __future__ import annotations

import io
import json
import zipfile

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import Browser, Inbox
from tests.api.web.test_portal_auth import ask_code, give_points, is_signed_out, member_signed_in, member_with_email
from tests.conftest import TenantCtx
from wafa.members import personal_data


def test_a_member_downloads_their_data_from_the_more_page(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    member_id, email = member_with_email(factory, tenant, "Sara")
    give_points(client, member_id, 40)
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    more = phone.get(f"/m/{tenant.slug}/achievements", params={"lang": "en"}).text
    assert f'href="/m/{tenant.slug}/my-data"' in more
    page = phone.get(f"/m/{tenant.slug}/my-data")
    assert page.status_code == 200 and f'href="/m/{tenant.slug}/my-data.zip"' in page.text and "Download my data" in page.text
    answer = phone.get(f"/m/{tenant.slug}/my-data.zip")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == f'attachment; filename="{tenant.slug}-my-data.zip"'
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert set(archive.namelist()) == {"member.json"} | {f"{s.name}.csv" for s in personal_data.SECTIONS}
    data = json.loads(archive.read("member.json"))
    assert data["member_id"] == member_id and data["sections"]["profile"][0]["email"] == email
    assert [e["points"] for e in data["sections"]["entries"]] == [40]
    # Their own sign-in shows among their data, without anything that would open it.
    assert len(data["sections"]["portal_sessions"]) == 1 and "token_hash" not in data["sections"]["portal_sessions"][0]


def test_the_page_speaks_arabic(browser: Browser, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx) -> None:
    _, email = member_with_email(factory, tenant, "Sara")
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    page = phone.get(f"/m/{tenant.slug}/my-data", params={"lang": "ar"}).text
    assert "تنزيل بياناتي" in page and "Download my data" not in page


def test_no_one_signed_out_downloads_anything(browser: Browser, factory: sessionmaker[Session], tenant: TenantCtx) -> None:
    member_with_email(factory, tenant, "Sara")
    stranger = browser()
    assert is_signed_out(stranger, tenant.slug, "/my-data.zip") and is_signed_out(stranger, tenant.slug, "/my-data")


def test_an_erased_member_is_signed_out_and_their_card_is_gone(
    browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox, tenant: TenantCtx,
) -> None:
    member_id, email = member_with_email(factory, tenant, "Sara")
    phone = member_signed_in(browser(), inbox, tenant.slug, email)
    assert client.post(f"/v1/members/{member_id}/erase").status_code == 200
    assert is_signed_out(phone, tenant.slug, "/my-data.zip") and is_signed_out(phone, tenant.slug, "/")
    # A code asked for at the old address goes nowhere: the address is no longer anyone's.
    sent = len(inbox.codes_for(email))
    assert ask_code(browser(), tenant.slug, email).status_code == 303
    assert len(inbox.codes_for(email)) == sent

"""What a member types in the portal is held to the API's text rule (wafa.inputs): a control character in a
reward's note or a survey comment is a page that says so (4xx), nothing redeemed or answered, never a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import Browser, Inbox, csrf_of, field_of
from tests.api.web.test_portal_auth import add_reward, available, give_points, member_signed_in, member_with_email
from tests.conftest import TenantCtx


def test_a_note_with_a_control_character_redeems_nothing(browser: Browser, client: TestClient, factory: sessionmaker[Session], inbox: Inbox,
                                                        tenant: TenantCtx) -> None:
    reward = add_reward(client, "ten-off", 120)
    member_id, email = member_with_email(factory, tenant)
    give_points(client, member_id, 500)
    b = member_signed_in(browser(), inbox, tenant.slug, email)
    page = b.get(f"/m/{tenant.slug}/rewards", params={"lang": "en"}).text.split('data-reward="ten-off"', 1)[1]
    form = {"csrf": csrf_of(page), "request_id": field_of(page, "request_id"), "note": "Leave at\x00the door"}
    answer = b.post(f"/m/{tenant.slug}/rewards/{reward['id']}/redeem", data=form, follow_redirects=False)
    assert 400 <= answer.status_code < 500 and "Traceback" not in answer.text
    assert available(client, member_id) == 500
    assert client.get(f"/v1/members/{member_id}/reward-redemptions").json()["items"] == []


def test_a_survey_comment_with_a_control_character_answers_nothing(browser: Browser, client: TestClient, tenant: TenantCtx) -> None:
    made = client.post("/v1/surveys", json={"key": "nps", "title_en": "How are we doing?", "title_ar": "كيف حالنا؟", "questions": [
        {"key": "r", "type": "nps", "text_en": "Recommend?", "text_ar": "هل تنصح بنا؟"},
        {"key": "c", "type": "text", "text_en": "Why?", "text_ar": "لماذا؟", "required": False}]}).json()
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    invited = client.post(f"/v1/surveys/{made['id']}/invitations", json={"member_ids": [member_id]}).json()["items"]
    link = f"/m/{tenant.slug}/surveys/{invited[0]['link'].rsplit('/', 1)[1]}"
    visitor = browser()
    assert visitor.get(link).status_code == 200
    answer = visitor.post(link, data={"r": "9", "c": "good\x00"}, follow_redirects=False)
    assert 400 <= answer.status_code < 500 and "Traceback" not in answer.text
    assert client.get(f"/v1/surveys/{made['id']}/responses").json()["items"] == []
    # A comment of several lines, and a score in Arabic-Indic digits, are what people type.
    assert visitor.post(link, data={"r": "٩", "c": "good\r\nvery good"}, follow_redirects=False).status_code == 303

"""Numbers a page reads from an address or a form that are not numbers: "²" is a digit to str.isdigit()
and a ValueError to int(), and a 20-digit id overflows a database integer. Each is a 4xx page (or is
ignored, for a filter), never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in

FORGED = ("²", "٣²", "1" * 30, "-1")


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def survey(client: TestClient) -> int:
    made = client.post("/v1/surveys", json={"key": "nps", "title_en": "How are we doing?", "title_ar": "كيف حالنا؟", "questions": [
        {"key": "r", "type": "nps", "text_en": "Recommend?", "text_ar": "هل تنصح بنا؟"}]})
    return int(made.json()["id"])


def test_survey_answers_filter_forged_score_is_ignored_not_500(admin: TestClient, client: TestClient) -> None:
    survey_id = survey(client)
    for raw in FORGED:
        for path in (f"/admin/surveys/{survey_id}/answers", f"/admin/surveys/{survey_id}/answers.csv"):
            assert admin.get(path, params={"low": raw, "high": raw}).status_code == 200, (path, raw)
    assert "1–" not in admin.get(f"/admin/surveys/{survey_id}/answers", params={"low": "٣", "lang": "en"}).text  # Arabic digits still read


@pytest.mark.parametrize(("path", "field"), [
    ("/admin/rewards/save", "reward_id"), ("/admin/redemptions/999/cancel", "reward_id"), ("/admin/redemptions/999/fulfilment", "reward_id"),
    ("/admin/rules/save", "rule_id"), ("/admin/rules/save", "rows"), ("/admin/rules/save", "days"), ("/admin/rules/simulate", "rule_id"),
    ("/admin/rules/simulate", "rows"), ("/admin/goals/save", "goal_id"),
], ids=lambda value: value.strip("/").replace("/", "-"))
def test_console_post_forged_number_is_a_4xx_page(admin: TestClient, path: str, field: str) -> None:
    token = csrf_of(admin.get("/admin/people").text)
    for raw in FORGED:
        answer = admin.post(path, data={"csrf": token, field: raw, "name_en": "x"}, follow_redirects=False)
        assert answer.status_code < 500 and "Traceback" not in answer.text, (raw, answer.status_code, answer.text[:300])


def test_portal_survey_answer_forged_score_is_a_4xx_page(browser: Browser, client: TestClient, tenant) -> None:  # type: ignore[no-untyped-def]
    survey_id = survey(client)
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    invited = client.post(f"/v1/surveys/{survey_id}/invitations", json={"member_ids": [member_id]}).json()["items"]
    link = f"/m/{tenant.slug}/surveys/{invited[0]['link'].rsplit('/', 1)[1]}"
    visitor = browser()
    assert visitor.get(link).status_code == 200
    for raw in FORGED:
        answer = visitor.post(link, data={"r": raw}, follow_redirects=False)
        assert 400 <= answer.status_code < 500, (raw, answer.status_code)
    assert visitor.post(link, data={"r": "٩"}, follow_redirects=False).status_code == 303  # Arabic-Indic digits are a score

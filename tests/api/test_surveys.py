"""Surveys over HTTP: questions in Arabic and English, a link per invited member, one response per
member, NPS overall and by month, and the survey_completed event a rule rewards."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import problem
from wafa.clock import FrozenClock

NPS_SURVEY = {
    "key": "nps-2026", "title_en": "How are we doing?", "title_ar": "كيف حالنا؟",
    "questions": [
        {"key": "recommend", "type": "nps", "text_en": "Would you recommend us?", "text_ar": "هل تنصح بنا؟"},
        {"key": "service", "type": "rating", "text_en": "Service", "text_ar": "الخدمة", "required": False},
        {"key": "comment", "type": "text", "text_en": "Anything else?", "text_ar": "شيء آخر؟", "required": False},
    ],
}


def survey(client: TestClient, **changes: object) -> dict:  # type: ignore[type-arg]
    made = client.post("/v1/surveys", json={**NPS_SURVEY, **changes})
    assert made.status_code == 201, made.text
    return made.json()


def members(client: TestClient, count: int) -> list[int]:
    return [client.post("/v1/members", json={"external_id": f"m{n}"}).json()["id"] for n in range(count)]


def answer(client: TestClient, survey_id: int, member_id: int, score: int, **more: object):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/surveys/{survey_id}/responses", json={"member_id": member_id, "answers": {"recommend": score, **more}})


def test_nps_counts_promoters_passives_and_detractors_by_month(client: TestClient, clock: FrozenClock) -> None:
    made = survey(client)
    ids = members(client, 10)
    for member_id, score in zip(ids[:6], (10, 9, 9, 8, 3, 6), strict=True):
        assert answer(client, made["id"], member_id, score).status_code == 201
    clock.advance(timedelta(days=31))
    for member_id, score in zip(ids[6:], (10, 10, 7, 0), strict=True):
        answer(client, made["id"], member_id, score, comment="شكراً")
    report = client.get(f"/v1/surveys/{made['id']}/nps").json()
    assert (report["responses"], report["promoters"], report["passives"], report["detractors"]) == (10, 5, 2, 3)
    assert report["nps"] == 20.0  # 50% promoters - 30% detractors
    assert [(m["period"], m["nps"]) for m in report["by_month"]] == [("2026-03", 16.7), ("2026-04", 25.0)]


def test_one_response_per_member_and_answers_are_checked(client: TestClient) -> None:
    made = survey(client)
    (who,) = members(client, 1)
    assert answer(client, made["id"], who, 9, service=4).status_code == 201
    problem(answer(client, made["id"], who, 10), 409, "/problems/conflict")
    other = client.post("/v1/members", json={"external_id": "x"}).json()["id"]
    problem(answer(client, made["id"], other, 11), 422, "/problems/invalid-input", "answers.recommend")
    problem(answer(client, made["id"], other, 8, service=6), 422, "/problems/invalid-input", "answers.service")
    problem(answer(client, made["id"], other, 8, mood="good"), 422, "/problems/invalid-input", "answers.mood")
    problem(client.post(f"/v1/surveys/{made['id']}/responses", json={"member_id": other, "answers": {"service": 3}}), 422,
            "/problems/invalid-input", "answers.recommend")
    assert client.get("/v1/surveys").json()["items"][0]["responses"] == 1


def test_invitations_give_each_member_a_link_and_the_token_answers(client: TestClient) -> None:
    made = survey(client)
    ids = members(client, 3)
    invited = client.post(f"/v1/surveys/{made['id']}/invitations", json={"member_ids": ids[:2]}).json()
    assert invited["invited"] == 2 and [i["member_id"] for i in invited["items"]] == ids[:2]
    again = client.post(f"/v1/surveys/{made['id']}/invitations", json={"all_members": True}).json()
    assert again["invited"] == 1 and len(again["items"]) == 3
    assert {i["link"] for i in again["items"]} >= {i["link"] for i in invited["items"]}  # links kept
    token = invited["items"][0]["link"].rsplit("/", 1)[1]
    made_response = client.post(f"/v1/surveys/{made['id']}/responses", json={"token": token, "answers": {"recommend": 9}})
    assert made_response.status_code == 201 and made_response.json()["member_id"] == ids[0]
    problem(client.post(f"/v1/surveys/{made['id']}/responses", json={"token": "x" * 32, "answers": {"recommend": 9}}), 404,
            "/problems/not-found", "token")
    problem(client.post(f"/v1/surveys/{made['id']}/invitations", json={"member_ids": [999999]}), 422, "/problems/invalid-input", "member_ids")
    assert client.post(f"/v1/surveys/{made['id']}/invitations", json={"member_ids": [1], "all_members": True}).status_code == 422


def test_a_rule_rewards_answering_a_survey(client: TestClient) -> None:
    made = survey(client)
    rule = client.post("/v1/rules", json={"name_en": "Thanks for answering", "name_ar": "شكراً", "trigger": "survey_completed", "status": "active",
                                          "actions": [{"type": "fixed_points", "points": 25}]})
    assert rule.status_code == 201, rule.text
    (who,) = members(client, 1)
    answer(client, made["id"], who, 10)
    balance = client.get(f"/v1/members/{who}/balance").json()
    assert balance["available"] + balance["pending"] == 25


def test_closed_survey_takes_no_answers(client: TestClient, clock: FrozenClock) -> None:
    made = survey(client, closes_at=(clock.now() + timedelta(days=7)).isoformat())
    ids = members(client, 2)
    clock.advance(timedelta(days=8))
    problem(answer(client, made["id"], ids[0], 9), 409, "/problems/conflict")
    reopened = client.patch(f"/v1/surveys/{made['id']}", json={"closes_at": (clock.now() + timedelta(days=7)).isoformat()})
    assert reopened.status_code == 200
    assert answer(client, made["id"], ids[0], 9).status_code == 201
    client.patch(f"/v1/surveys/{made['id']}", json={"status": "closed"})
    problem(answer(client, made["id"], ids[1], 9), 409, "/problems/conflict")
    problem(client.post("/v1/surveys", json=NPS_SURVEY), 409, "/problems/conflict", "key")

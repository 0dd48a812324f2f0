"""A survey's answers over HTTP: newest first, by pages, filtered by NPS group or score range, with the
comments members wrote."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import problem


def answered_survey(client: TestClient, clock, scores: list[int]) -> int:  # type: ignore[no-untyped-def]
    made = client.post("/v1/surveys", json={"key": "nps", "title_en": "NPS", "title_ar": "رضا", "questions": [
        {"key": "r", "type": "nps", "text_en": "?", "text_ar": "؟"},
        {"key": "why", "type": "text", "text_en": "Why?", "text_ar": "لماذا؟", "required": False}]})
    survey_id = int(made.json()["id"])
    for n, score in enumerate(scores):
        member_id = client.post("/v1/members", json={"external_id": f"m-{n}"}).json()["id"]
        answers: dict[str, object] = {"r": score}
        if n % 2 == 0:
            answers["why"] = f"التوصيل سريع {n}"
        assert client.post(f"/v1/surveys/{survey_id}/responses", json={"member_id": member_id, "answers": answers}).status_code == 201
        clock.advance(timedelta(minutes=1))
    return survey_id


def test_list_answers_newest_first_with_their_comments(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    survey_id = answered_survey(client, clock, [10, 3, 8])
    items = client.get(f"/v1/surveys/{survey_id}/responses").json()["items"]
    assert [i["score"] for i in items] == [8, 3, 10]
    assert items[0]["answers"] == {"r": 8, "why": "التوصيل سريع 2"} and items[1]["answers"] == {"r": 3}


def test_list_answers_of_one_nps_group_or_a_score_range(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    survey_id = answered_survey(client, clock, [10, 3, 8, 0, 9, 6])
    scores = lambda **params: [i["score"] for i in client.get(f"/v1/surveys/{survey_id}/responses", params=params).json()["items"]]  # noqa: E731
    assert scores(band="detractors") == [6, 0, 3]
    assert scores(band="promoters") == [9, 10]
    assert scores(band="passives") == [8]
    assert scores(score_from=3, score_to=8) == [6, 8, 3]


def test_list_answers_by_pages(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    survey_id = answered_survey(client, clock, [1, 2, 3])
    first = client.get(f"/v1/surveys/{survey_id}/responses", params={"limit": 2}).json()
    rest = client.get(f"/v1/surveys/{survey_id}/responses", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["score"] for i in first["items"] + rest["items"]] == [3, 2, 1] and rest["next_cursor"] is None


def test_list_answers_with_a_group_and_a_range_or_a_reversed_range_is_422(client: TestClient, clock) -> None:  # type: ignore[no-untyped-def]
    survey_id = answered_survey(client, clock, [1])
    problem(client.get(f"/v1/surveys/{survey_id}/responses", params={"band": "promoters", "score_from": 2}), 422,
            "/problems/invalid-input", "band")
    problem(client.get(f"/v1/surveys/{survey_id}/responses", params={"score_from": 9, "score_to": 2}), 422,
            "/problems/invalid-input", "score_from")
    problem(client.get(f"/v1/surveys/{survey_id}/responses", params={"band": "fans"}), 422, "/problems/invalid-input")


def test_list_answers_of_an_unknown_survey_is_404(client: TestClient) -> None:
    problem(client.get("/v1/surveys/999999/responses"), 404, "/problems/not-found")

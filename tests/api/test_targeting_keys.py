"""Targeting names only what the program has: a reward's tiers, segments and plans, a rule's tier and
segment conditions, a custom segment's tiers and RFM segments, a survey invitation's tier or segment.
An unknown key (a translated name, a typo) is a 422 naming the field, never a setting that silently
matches nobody (or, for an invitation, everybody). Keys are matched without regard to case and kept as
the program's own."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import problem

GIFT = {"type": "gift", "sku": "MUG"}
INVALID = "/problems/invalid-input"


def ladder(client: TestClient) -> None:
    for key, name_en, name_ar, rank, threshold in (("silver", "Silver", "فضي", 1, "1000"), ("gold", "Gold", "ذهبي", 2, "5000")):
        made = client.post("/v1/tiers", json={"key": key, "name_en": name_en, "name_ar": name_ar, "rank": rank, "threshold": threshold})
        assert made.status_code == 201, made.text


def reward(client: TestClient, key: str = "lounge", **fields: object):  # type: ignore[no-untyped-def]
    return client.post("/v1/rewards", json={"key": key, "name_en": "Lounge", "name_ar": "صالة", "points": 10, "gives": GIFT, **fields})


def rule(client: TestClient, conditions: list) -> object:  # type: ignore[type-arg]
    return client.post("/v1/rules", json={"name_en": "Bonus", "name_ar": "مكافأة", "trigger": "purchase", "status": "draft",
                                          "conditions": conditions, "actions": [{"type": "fixed_points", "points": 5}]})


def segment(client: TestClient, conditions: list, key: str = "vip"):  # type: ignore[no-untyped-def,type-arg]
    return client.post("/v1/segments", json={"key": key, "name_en": "VIP", "name_ar": "كبار", "conditions": conditions})


def survey(client: TestClient) -> int:
    made = client.post("/v1/surveys", json={"key": "nps", "title_en": "NPS", "title_ar": "رضا", "questions": [
        {"key": "r", "type": "nps", "text_en": "?", "text_ar": "؟"}]})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


# --- rewards ------------------------------------------------------------------------------------------


def test_create_reward_for_a_tier_by_its_arabic_name_is_422_naming_the_tier(client: TestClient) -> None:
    ladder(client)
    problem(reward(client, tiers=["gold", "ذهبي"]), 422, INVALID, "tiers[1]")
    assert client.get("/v1/rewards").json()["items"] == []


def test_create_reward_keeps_the_tiers_own_keys_whatever_the_case(client: TestClient) -> None:
    ladder(client)
    made = reward(client, tiers=["GOLD", "Silver", "gold"])
    assert made.status_code == 201, made.text
    assert made.json()["tiers"] == ["gold", "silver"]


def test_create_reward_for_an_unknown_segment_is_422_and_a_known_one_in_any_case_is_kept_as_its_key(client: TestClient) -> None:
    problem(reward(client, segments=["الأبطال"]), 422, INVALID, "segments[0]")
    made = reward(client, segments=["Champions", "ABC_A"])
    assert made.status_code == 201, made.text
    assert made.json()["segments"] == ["champions", "abc_a"]


def test_create_reward_for_an_unknown_plan_is_422(client: TestClient) -> None:
    problem(reward(client, plans=["gold-plus"]), 422, INVALID, "plans[0]")


def test_update_reward_to_an_unknown_tier_is_422_and_changes_nothing(client: TestClient) -> None:
    ladder(client)
    made = reward(client, tiers=["gold"]).json()
    problem(client.patch(f"/v1/rewards/{made['id']}", json={"tiers": ["platinum"]}), 422, INVALID, "tiers[0]")
    assert client.get(f"/v1/rewards/{made['id']}").json()["tiers"] == ["gold"]


def test_a_reward_for_gold_says_which_tier_by_its_name(client: TestClient) -> None:
    ladder(client)
    made = reward(client, tiers=["gold"]).json()
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    items = client.get("/v1/rewards", params={"member_id": member_id}).json()["items"]
    assert {"code": "tier", "message": "needs Gold tier"} in next(i for i in items if i["id"] == made["id"])["locked"]


# --- rules ---------------------------------------------------------------------------------------------


def test_create_rule_with_an_unknown_tier_is_422_naming_the_condition(client: TestClient) -> None:
    ladder(client)
    problem(rule(client, [{"type": "tier", "any_of": ["gold", "ذهبي"]}]), 422, INVALID, "conditions[0].any_of[1]")


def test_create_rule_with_an_unknown_segment_inside_a_group_is_422_naming_it(client: TestClient) -> None:
    conditions = [{"type": "any", "conditions": [{"type": "channel", "any_of": ["app"]}, {"type": "segment", "any_of": ["vips"]}]}]
    problem(rule(client, conditions), 422, INVALID, "conditions[0].conditions[1].any_of[0]")


def test_create_rule_keeps_the_programs_own_tier_and_segment_keys(client: TestClient) -> None:
    ladder(client)
    made = rule(client, [{"type": "tier", "any_of": ["Gold"]}, {"type": "not", "condition": {"type": "segment", "any_of": ["LOST"]}}])
    assert made.status_code == 201, made.text  # type: ignore[attr-defined]
    conditions = made.json()["definition"]["conditions"]  # type: ignore[attr-defined]
    assert conditions == [{"type": "tier", "any_of": ["gold"]}, {"type": "not", "condition": {"type": "segment", "any_of": ["lost"]}}]


def test_revise_rule_to_an_unknown_tier_is_422(client: TestClient) -> None:
    ladder(client)
    made = rule(client, [{"type": "tier", "any_of": ["gold"]}]).json()  # type: ignore[attr-defined]
    body = {"name_en": "Bonus", "name_ar": "مكافأة", "trigger": "purchase", "conditions": [{"type": "tier", "any_of": ["diamond"]}],
            "actions": [{"type": "fixed_points", "points": 5}]}
    problem(client.put(f"/v1/rules/{made['id']}", json=body), 422, INVALID, "conditions[0].any_of[0]")
    assert client.get(f"/v1/rules/{made['id']}").json()["version"] == 1


# --- custom segments ------------------------------------------------------------------------------


def test_create_segment_with_an_arabic_rfm_name_is_422_naming_it(client: TestClient) -> None:
    problem(segment(client, [{"type": "rfm_segment", "any_of": ["الأبطال"]}]), 422, INVALID, "conditions[0].any_of[0]")
    assert client.get("/v1/segments").json()["items"] == []


def test_create_segment_with_an_unknown_tier_is_422(client: TestClient) -> None:
    ladder(client)
    problem(segment(client, [{"type": "all", "conditions": [{"type": "tier", "any_of": ["ذهبي"]}]}]), 422, INVALID,
            "conditions[0].conditions[0].any_of[0]")


def test_create_segment_with_an_unknown_age_band_is_422(client: TestClient) -> None:
    problem(segment(client, [{"type": "member_attribute", "attribute": "age_band", "any_of": ["30s"]}]), 422, INVALID,
            "conditions[0].any_of[0]")


def test_create_segment_keeps_the_programs_own_keys(client: TestClient) -> None:
    ladder(client)
    made = segment(client, [{"type": "tier", "any_of": ["GOLD"]}, {"type": "rfm_segment", "any_of": ["Champions", "at_risk"]}])
    assert made.status_code == 201, made.text
    assert made.json()["conditions"] == [{"type": "tier", "any_of": ["gold"]}, {"type": "rfm_segment", "any_of": ["champions", "at_risk"]}]


def test_update_segment_to_an_unknown_rfm_segment_is_422(client: TestClient) -> None:
    made = segment(client, [{"type": "rfm_segment", "any_of": ["loyal"]}]).json()
    problem(client.patch(f"/v1/segments/{made['id']}", json={"conditions": [{"type": "rfm_segment", "any_of": ["royal"]}]}), 422, INVALID,
            "conditions[0].any_of[0]")


# --- survey invitations ---------------------------------------------------------------------------


def test_invite_an_unknown_tier_is_422_and_invites_nobody(client: TestClient) -> None:
    client.post("/v1/members", json={"external_id": "m-1"})
    survey_id = survey(client)
    problem(client.post(f"/v1/surveys/{survey_id}/invitations", json={"tier": "gold"}), 422, INVALID, "tier")
    assert client.get("/v1/surveys").json()["items"][0]["invited"] == 0


def test_invite_a_segment_in_another_case_reaches_its_members(client: TestClient) -> None:
    survey_id = survey(client)
    client.post("/v1/members", json={"external_id": "m-1"})
    made = client.post(f"/v1/surveys/{survey_id}/invitations", json={"segment": "Champions"})
    assert made.status_code == 200, made.text
    assert made.json()["invited"] == 0  # nobody is scored yet: no one, not everyone


def test_preview_says_how_many_an_invitation_reaches_without_inviting(client: TestClient) -> None:
    ladder(client)
    for n in range(3):
        client.post("/v1/members", json={"external_id": f"m-{n}"})
    survey_id = survey(client)
    assert client.post(f"/v1/surveys/{survey_id}/invitations:preview", json={"all_members": True}).json() == {"members": 3, "already_invited": 0}
    assert client.post(f"/v1/surveys/{survey_id}/invitations:preview", json={"tier": "gold"}).json() == {"members": 0, "already_invited": 0}
    client.post(f"/v1/surveys/{survey_id}/invitations", json={"all_members": True})
    assert client.post(f"/v1/surveys/{survey_id}/invitations:preview", json={"all_members": True}).json() == {"members": 3, "already_invited": 3}
    problem(client.post(f"/v1/surveys/{survey_id}/invitations:preview", json={"segment": "nobody"}), 422, INVALID, "segment")

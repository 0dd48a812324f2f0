"""Custom event types and built-in triggers over HTTP: declared schemas, bad events refused with the
attribute named, rules on custom events, enrolment, profile-completed and birthday bonuses."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

REVIEW_SCHEMA = {
    "type": "object",
    "properties": {
        "product": {"type": "string", "minLength": 1},
        "stars": {"type": "integer", "minimum": 1, "maximum": 5},
        "photo": {"type": "boolean"},
    },
    "required": ["product", "stars"],
    "additionalProperties": False,
}


def declare(client: TestClient, name: str = "review_written", schema: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post("/v1/event-types", json={"name": name, "description": "a product review", "attributes_schema": schema or REVIEW_SCHEMA})


def rule(client: TestClient, **definition: object) -> dict:
    body = {"name_en": "Rule", "name_ar": "قاعدة", "trigger": "review_written", "status": "active", **definition}
    made = client.post("/v1/rules", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def review(client: TestClient, member: str = "m-1", **extra: object):  # type: ignore[no-untyped-def]
    body = {"type": "review_written", "member": {"external_id": member}, "attributes": {"product": "LATTE", "stars": 5}, **extra}
    return client.post("/v1/events", json=body)


def test_declare_read_list_and_update_an_event_type(client: TestClient) -> None:
    made = declare(client)
    assert made.status_code == 201 and made.json()["name"] == "review_written"
    assert client.get("/v1/event-types/review_written").json() == made.json()
    assert [t["name"] for t in client.get("/v1/event-types").json()["items"]] == ["review_written"]
    changed = client.patch("/v1/event-types/review_written", json={"description": "reviews, with photos"})
    assert changed.status_code == 200 and changed.json()["description"] == "reviews, with photos"
    assert changed.json()["attributes_schema"] == REVIEW_SCHEMA


def test_declare_twice_is_409_and_reserved_names_422(client: TestClient) -> None:
    declare(client)
    assert declare(client).status_code == 409
    refused = client.post("/v1/event-types", json={"name": "birthday"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "name"


def test_a_bad_schema_is_422_naming_where(client: TestClient) -> None:
    refused = declare(client, "broken", {"type": "object", "properties": {"stars": {"type": "integerish"}}})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"].startswith("attributes_schema")
    assert declare(client, "not_an_object", {"type": "array"}).status_code == 422


def test_unknown_type_is_404(client: TestClient) -> None:
    assert client.get("/v1/event-types/nope").status_code == 404
    assert client.patch("/v1/event-types/nope", json={"description": "x"}).status_code == 404


def test_custom_event_awards_its_rules_and_replays_by_reference(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    declare(client)
    made = rule(client, name_en="Review points", actions=[{"type": "fixed_points", "points": 50}], caps={"per_member_day": 50})
    first = review(client, reference="rev-1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["type"], body["total_points"], body["reference"]) == ("review_written", 50, "rev-1")
    assert body["rules"][0]["rule_id"] == made["id"] and body["balance"]["available"] == 50
    again = review(client, reference="rev-1")
    assert again.status_code == 200 and again.json()["event_id"] == body["event_id"] and again.json()["rules"] == body["rules"]
    other = review(client, reference="rev-1", attributes={"product": "MUG", "stars": 1})
    assert other.status_code == 409
    # The daily cap holds: a second review today earns nothing.
    capped = review(client, reference="rev-2").json()
    assert capped["total_points"] == 0 and capped["not_awarded_reason"] == "no rule awarded anything"
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 50
    assert client.get(f"/v1/events/{body['event_id']}").json()["attributes"] == {"product": "LATTE", "stars": 5}


def test_a_custom_events_replay_and_its_reading_give_the_first_answer_after_the_balance_moved(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    declare(client)
    rule(client, name_en="Review points", actions=[{"type": "fixed_points", "points": 50}])
    first = review(client, reference="rev-9").json()
    client.post(f"/v1/members/{member_id}/redemptions", json={"points": 20, "reason": "coffee"})
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "checking"})
    assert review(client, reference="rev-9").json() == first  # available 50, not the 30 of now
    assert client.get(f"/v1/events/{first['event_id']}").json() == first


def test_custom_event_attribute_conditions(client: TestClient) -> None:
    client.post("/v1/members", json={"external_id": "m-1"})
    declare(client)
    rule(client, conditions=[{"type": "event_attribute", "path": "photo", "op": "eq", "value": True}],
         actions=[{"type": "fixed_points", "points": 20}])
    assert review(client).json()["total_points"] == 0
    assert review(client, attributes={"product": "A", "stars": 4, "photo": True}).json()["total_points"] == 20


def test_bad_custom_event_is_422_naming_the_attribute(client: TestClient) -> None:
    client.post("/v1/members", json={"external_id": "m-1"})
    declare(client)
    wrong = review(client, attributes={"product": "LATTE", "stars": 9})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "attributes.stars"
    missing = review(client, attributes={"stars": 3})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "attributes"
    assert "product" in missing.json()["detail"]
    unknown = client.post("/v1/events", json={"type": "app_downloaded", "member": {"external_id": "m-1"}})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "type"
    no_member = client.post("/v1/events", json={"type": "review_written", "attributes": {}})
    assert no_member.status_code == 422 and no_member.json()["errors"][0]["field"] == "member"
    stranger = review(client, member="nobody")
    assert stranger.status_code == 404


def test_rule_on_an_undeclared_type_is_422(client: TestClient) -> None:
    refused = client.post("/v1/rules", json={
        "name_en": "x", "name_ar": "x", "trigger": "social_share", "actions": [{"type": "fixed_points", "points": 1}],
    })
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "trigger"


def test_suspended_member_event_is_recorded_without_award(client: TestClient) -> None:
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    declare(client)
    rule(client, actions=[{"type": "fixed_points", "points": 5}])
    client.post(f"/v1/members/{member_id}/suspend", json={"reason": "fraud check"})
    body = review(client).json()
    assert body["total_points"] == 0 and body["not_awarded_reason"] == "member is suspended"


def test_enrolment_rule_gives_a_welcome_bonus(client: TestClient) -> None:
    rule(client, trigger="enrolment", name_en="Welcome", actions=[{"type": "fixed_points", "points": 100}])
    member_id = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    history = client.get(f"/v1/members/{member_id}/entries").json()["items"]
    assert [e["reason"] for e in history] == ["+100 points, rule 'Welcome' v1"]


def test_profile_completed_rule_pays_once(client: TestClient) -> None:
    rule(client, trigger="profile_completed", name_en="Profile", actions=[{"type": "fixed_points", "points": 40}])
    member_id = client.post("/v1/members", json={"external_id": "m-1", "name": "Sara", "email": "s@example.com"}).json()["id"]
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 0
    done = client.patch(f"/v1/members/{member_id}", json={"phone": "+966501234567", "birth_date": "1990-04-02", "city": "Riyadh"})
    assert done.json()["profile_complete"] is True
    client.patch(f"/v1/members/{member_id}", json={"city": "Jeddah"})
    assert client.get(f"/v1/members/{member_id}/balance").json()["available"] == 40


def test_birthday_rule_pays_on_the_day_once_a_year(client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    from wafa.jobs.service import run_due

    rule(client, trigger="birthday", name_en="Birthday", actions=[{"type": "fixed_points", "points": 200}])
    born_today = client.post("/v1/members", json={"external_id": "b", "birth_date": "1990-03-01"}).json()["id"]
    other = client.post("/v1/members", json={"external_id": "o", "birth_date": "1990-03-02"}).json()["id"]
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).birthday_events == 1
    assert run_due(factory, now=clock.now(), tenant_id=tenant.id).birthday_events == 0
    assert client.get(f"/v1/members/{born_today}/balance").json()["available"] == 200
    assert client.get(f"/v1/members/{other}/balance").json()["available"] == 0


def test_leap_day_birthdays_are_kept_on_the_28th(client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    from wafa.jobs.service import birthdays

    rule(client, trigger="birthday", actions=[{"type": "fixed_points", "points": 1}])
    client.post("/v1/members", json={"external_id": "leap", "birth_date": "2000-02-29"})
    assert birthdays(factory, now=datetime(2027, 2, 28, 12, tzinfo=UTC), tenant_id=tenant.id) == 1


def test_simulate_a_custom_event(client: TestClient) -> None:
    declare(client)
    rule(client, actions=[{"type": "fixed_points", "points": 50}])
    body = {"type": "review_written", "member": {"external_id": "x"}, "attributes": {"product": "A", "stars": 2}}
    assert client.post("/v1/events:simulate", json=body).status_code == 404
    client.post("/v1/members", json={"external_id": "x"})
    simulated = client.post("/v1/events:simulate", json=body).json()
    assert simulated["total_points"] == 50 and simulated["awards"][0]["points"] == 50
    assert client.post("/v1/events:simulate", json={**body, "attributes": {}}).status_code == 422


def test_schema_references_must_stay_inside_the_schema(client: TestClient) -> None:
    remote = declare(client, "fetchy", {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/secret"}}})
    assert remote.status_code == 422 and remote.json()["errors"][0]["field"] == "attributes_schema.properties.a.$ref"
    dangling = declare(client, "dangling", {"type": "object", "properties": {"a": {"$ref": "#/$defs/nope"}}})
    assert dangling.status_code == 422
    local = declare(client, "local_ref", {"type": "object", "$defs": {"stars": {"type": "integer", "maximum": 5}},
                                          "properties": {"stars": {"$ref": "#/$defs/stars"}}})
    assert local.status_code == 201
    client.post("/v1/members", json={"external_id": "m-1"})
    bad = client.post("/v1/events", json={"type": "local_ref", "member": {"external_id": "m-1"}, "attributes": {"stars": 9}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "attributes.stars"


def test_contains_on_a_number_and_infinite_numbers_are_handled(client: TestClient) -> None:
    client.post("/v1/members", json={"external_id": "m-1"})
    declare(client, "note_left", {"type": "object"})
    rule(client, trigger="note_left", conditions=[{"type": "event_attribute", "path": "text", "op": "contains", "value": 5}],
         actions=[{"type": "fixed_points", "points": 1}])
    body = {"type": "note_left", "member": {"external_id": "m-1"}, "attributes": {"text": "hello"}}
    assert client.post("/v1/events", json=body).json()["total_points"] == 0
    infinite = client.post("/v1/events", content=b'{"type": "note_left", "member": {"external_id": "m-1"}, "attributes": {"x": 1e400}}',
                           headers={"Content-Type": "application/json"})
    assert infinite.status_code == 422

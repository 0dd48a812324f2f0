"""The catalog of outbox messages: every type has a version, a description and an envelope schema
that is valid JSON Schema, and the envelope names exactly what receivers get."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from wafa.outbox import catalog


def test_every_type_has_a_valid_schema_of_its_envelope() -> None:
    for name, found in catalog.TYPES.items():
        schema = catalog.schema_of(name)
        Draft202012Validator.check_schema(schema)
        assert found.version >= 1 and found.description
        assert schema["properties"]["type"] == {"const": name}
        assert set(schema["required"]) >= {"id", "type", "version", "sequence", "tenant", "occurred_at", "member", "data"}


def test_a_payload_missing_a_field_or_with_a_wrong_type_fails_its_schema() -> None:
    schema = catalog.schema_of("points.earned")
    good = {"id": "msg_1", "type": "points.earned", "version": 1, "sequence": 1, "tenant": "t", "occurred_at": "2026-12-07T10:00:00+00:00",
            "member": {"id": 1, "external_id": "C1"},
            "data": {"points": 5, "status": "pending", "available_at": "2026-12-07T10:00:00+00:00", "expires_at": None, "kind": "earn",
                     "reason": "r", "entry_id": 3}}
    assert not list(Draft202012Validator(schema).iter_errors(good))
    assert list(Draft202012Validator(schema).iter_errors({**good, "data": {**good["data"], "points": "five"}}))
    assert list(Draft202012Validator(schema).iter_errors({**good, "data": {k: v for k, v in good["data"].items() if k != "entry_id"}}))

"""Custom event types a tenant declares (`review_written`, `recycling_drop_off`, ...), each with a JSON
schema its attributes must meet, so a bad custom event is refused before any rule reads it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry
from referencing.exceptions import Unresolvable
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from wafa import cache
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.events.models import EventType

# Names a custom type may not take: the built-in event types and rule triggers.
RESERVED = ("purchase", "return", "enrolment", "birthday", "profile_completed")


def check_schema(schema: dict[str, Any]) -> None:
    """Raise InvalidInput unless `schema` is a valid JSON Schema (draft 2020-12) for an object."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = ".".join(str(part) for part in exc.path)
        raise InvalidInput(f"not a valid JSON schema: {exc.message}", field="attributes_schema" + (f".{where}" if where else "")) from None
    if schema.get("type", "object") != "object":
        raise InvalidInput("an event's attributes are an object: the schema's type must be \"object\"", field="attributes_schema.type")
    for path, ref in _refs(schema, ()):
        # Only references inside the schema itself: Wafa never fetches a schema from elsewhere.
        if not isinstance(ref, str) or not ref.startswith("#") or not _resolves(schema, ref):
            raise InvalidInput(
                f"$ref {ref!r} must point inside this schema (\"#/...\") at something that exists",
                field=".".join(["attributes_schema", *path]),
            )


def _refs(node: Any, where: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every $ref and $dynamicRef in a schema, with where it sits."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef"):
                yield (*where, key), value
            else:
                yield from _refs(value, (*where, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, (*where, str(index)))


def _resolves(schema: dict[str, Any], ref: str) -> bool:
    node: Any = schema
    for part in [p.replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/") if p]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _new_validator(schema: dict[str, Any]) -> Draft202012Validator:
    # An empty registry that retrieves nothing: a reference outside the schema fails instead of fetching.
    return Draft202012Validator(schema, registry=Registry())


def get_by_name(session: Session, *, tenant_id: int, name: str) -> EventType | None:
    """A declared event type, or None."""
    return session.execute(
        select(EventType).where(EventType.tenant_id == tenant_id, EventType.name == name).execution_options(populate_existing=True)
    ).scalar_one_or_none()


def get_by_name_or_raise(session: Session, *, tenant_id: int, name: str) -> EventType:
    """A declared event type, or NotFound."""
    found = get_by_name(session, tenant_id=tenant_id, name=name)
    if found is None:
        raise NotFound(f"no event type {name!r} is declared", field="type")
    return found


def _forget(session: Session, tenant_id: int, name: str) -> None:
    # The tenant's every type is dropped: one name per tenant and kind keeps a notification short.
    cache.changed(session, tenant_id=tenant_id, name="event_types")


def create(session: Session, *, tenant_id: int, name: str, description: str | None, schema: dict[str, Any], now: datetime) -> EventType:
    """Declare a custom event type."""
    if name in RESERVED:
        raise InvalidInput(f"{name!r} is a built-in event type", field="name")
    check_schema(schema)
    if get_by_name(session, tenant_id=tenant_id, name=name) is not None:
        raise Conflict(f"event type {name!r} is already declared", field="name")
    session.execute(
        insert(EventType).values(
            tenant_id=tenant_id, name=name, description=description, attributes_schema=schema, created_at=now, updated_at=now
        )
    )
    _forget(session, tenant_id, name)
    return get_by_name_or_raise(session, tenant_id=tenant_id, name=name)


def update_(session: Session, *, tenant_id: int, name: str, description: str | None, schema: dict[str, Any] | None, now: datetime) -> EventType:
    """Change a type's description or schema (events already recorded stay as they were)."""
    get_by_name_or_raise(session, tenant_id=tenant_id, name=name)
    values: dict[str, Any] = {"updated_at": now}
    if description is not None:
        values["description"] = description
    if schema is not None:
        check_schema(schema)
        values["attributes_schema"] = schema
    session.execute(update(EventType).where(EventType.tenant_id == tenant_id, EventType.name == name).values(**values))
    _forget(session, tenant_id, name)
    return get_by_name_or_raise(session, tenant_id=tenant_id, name=name)


def list_(session: Session, *, tenant_id: int, after_id: int | None = None, limit: int = 50) -> list[EventType]:
    """Declared types in id order after a cursor."""
    query = select(EventType).where(EventType.tenant_id == tenant_id)
    if after_id is not None:
        query = query.where(EventType.id > after_id)
    return list(session.execute(query.order_by(EventType.id).limit(limit)).scalars())


def _validator(session: Session, *, tenant_id: int, name: str) -> Draft202012Validator | None:
    def load() -> Draft202012Validator | None:
        found = get_by_name(session, tenant_id=tenant_id, name=name)
        return _new_validator(found.attributes_schema) if found is not None else None

    return cache.get(session, tenant_id=tenant_id, name="event_types", key=name, load=load)


def check_attributes(session: Session, *, tenant_id: int, name: str, attributes: dict[str, Any]) -> None:
    """Raise unless `name` is declared and `attributes` meet its schema (the error names the attribute)."""
    validator = _validator(session, tenant_id=tenant_id, name=name)
    if validator is None:
        raise InvalidInput(
            f"unknown event type {name!r}: declare it under /v1/event-types, or send a purchase or a return", field="type"
        )
    try:
        error = next(iter(sorted(validator.iter_errors(attributes), key=lambda e: [str(p) for p in e.path])), None)
    except Unresolvable as exc:  # a schema stored before references were checked
        raise InvalidInput(f"{name}: its schema has a reference that cannot be resolved ({exc})", field="type") from None
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path)
        raise InvalidInput(f"{name}: {error.message}", field="attributes" + (f".{where}" if where else ""))

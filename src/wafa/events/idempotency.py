"""Idempotency keys: the first successful response to a key is stored and replayed for repeats."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.db import insert_unless_exists
from wafa.errors import IdempotencyMismatch, InvalidInput
from wafa.events.models import IdempotencyRecord


@dataclass(frozen=True, slots=True)
class Stored:
    status_code: int
    response: dict[str, Any]


def request_hash(method: str, path: str, body: Any) -> str:
    """A fingerprint of a request: method, path and the body with keys sorted."""
    try:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS) if body is not None else b""
    except TypeError:  # integers beyond 64 bits (free-form batch bodies): the standard library has no limit
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def check_key(key: str) -> str:
    """Validate an Idempotency-Key header value."""
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise InvalidInput("Idempotency-Key must be 1 to 200 printable characters", field="Idempotency-Key")
    return key


def lookup(session: Session, *, tenant_id: int, key: str, request_hash_: str) -> Stored | None:
    """The stored response for a key, None if unseen; IdempotencyMismatch if the body differs."""
    row = session.execute(
        select(IdempotencyRecord.request_hash, IdempotencyRecord.status_code, IdempotencyRecord.response).where(
            IdempotencyRecord.tenant_id == tenant_id, IdempotencyRecord.key == key
        )
    ).one_or_none()
    if row is None:
        return None
    if row.request_hash != request_hash_:
        raise IdempotencyMismatch(f"Idempotency-Key {key!r} was used with a different request", field="Idempotency-Key")
    return Stored(row.status_code, row.response)


def store(
    session: Session, *, tenant_id: int, key: str, request_hash_: str, status_code: int, response: dict[str, Any], now: datetime
) -> bool:
    """Record the response for a key; False if another request stored one first."""
    result = insert_unless_exists(
        session,
        IdempotencyRecord,
        {"tenant_id": tenant_id, "key": key, "request_hash": request_hash_, "status_code": status_code, "response": response, "created_at": now},
        conflict=["tenant_id", "key"],
        returning=[IdempotencyRecord.id],
    )
    return result.first() is not None

"""The config cache's store on its own: what it keeps, what an invalidation drops, and that a value read
before an invalidation is never kept after it."""

from __future__ import annotations

import pytest

from wafa import cache
from wafa.cache import Entry, Store


def test_a_kept_value_is_read_back() -> None:
    store = Store(live=True)
    generation = store.generation()
    assert generation is not None
    assert store.put(generation, "rules", (7, None), Entry(7, ["r1"]))
    hit = store.read("rules", (7, None))
    assert hit is not None and hit.value == ["r1"] and hit.tenant_id == 7


def test_invalidating_drops_that_tenants_kind_only() -> None:
    store = Store(live=True)
    for tenant_id, name in ((7, "rules"), (7, "tiers"), (8, "rules")):
        generation = store.generation()
        assert generation is not None
        store.put(generation, name, (tenant_id, None), Entry(tenant_id, name))
    store.invalidate(7, "rules")
    assert store.read("rules", (7, None)) is None
    assert store.read("tiers", (7, None)) is not None
    assert store.read("rules", (8, None)) is not None


def test_invalidating_drops_every_entry_found_by_key_for_that_tenant() -> None:
    """API keys are found by their hash: revoking one of a tenant's keys drops all of its keys, no other's."""
    store = Store(live=True)
    for digest, tenant_id in (("aa", 7), ("bb", 7), ("cc", 8)):
        generation = store.generation()
        assert generation is not None
        store.put(generation, "api_keys", digest, Entry(tenant_id, digest))
    store.invalidate(7, "api_keys")
    assert [store.read("api_keys", d) is not None for d in ("aa", "bb", "cc")] == [False, False, True]


def test_a_value_read_before_an_invalidation_is_not_kept() -> None:
    """A reader that loaded before a change committed must not store what it read after the change's invalidation."""
    store = Store(live=True)
    generation = store.generation()
    assert generation is not None
    store.invalidate(9, "program")  # of any tenant: the store does not know what the load read
    assert not store.put(generation, "program", (7, None), Entry(7, "old"))
    assert store.read("program", (7, None)) is None


def test_a_store_that_is_not_live_serves_and_keeps_nothing() -> None:
    store = Store(live=True)
    generation = store.generation()
    assert generation is not None
    store.put(generation, "tiers", (7, None), Entry(7, "x"))
    store.reset(live=False)
    assert store.read("tiers", (7, None)) is None
    assert store.generation() is None
    assert not store.put(generation, "tiers", (7, None), Entry(7, "x"))
    store.reset(live=True)
    assert store.read("tiers", (7, None)) is None  # nothing from before comes back
    assert len(store) == 0


def test_a_full_store_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    store = Store(live=True)
    for tenant_id in range(4):
        generation = store.generation()
        assert generation is not None
        assert store.put(generation, "plans", (tenant_id, None), Entry(tenant_id, True))
    assert len(store) == 1
    assert store.read("plans", (3, None)) is not None


def test_payload_names_the_tenant_and_kind() -> None:
    assert cache.payload(42, "event_types") == "42:event_types"
    assert cache.parse_payload("42:event_types") == (42, "event_types")


@pytest.mark.parametrize("text", ["", "42", "42:", "x:rules", ":rules", "-1:rules"])
def test_payload_not_ours_is_refused(text: str) -> None:
    assert cache.parse_payload(text) is None

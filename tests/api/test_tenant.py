"""/v1/tenant: the key's tenant with its names in English and Arabic and the names of its own benefits;
PATCH renames it and names benefits (merged by flag). Tiers and plans keep `flags` as keys."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import TenantCtx, make_key, make_tenant, problem
from wafa.db import unit_of_work
from wafa.tenants import service as tenants


def test_get_tenant_is_200_with_its_names(client: TestClient, tenant: TenantCtx) -> None:
    body = client.get("/v1/tenant").json()
    assert body == {"id": tenant.id, "slug": tenant.slug, "name": f"Tenant {tenant.slug}", "name_ar": None, "status": "active",
                    "benefit_names": {}}


def test_get_tenant_with_a_read_key_is_200(client: TestClient, factory, clock, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    secret = make_key(factory, tenant.id, ["read"], clock.now())
    assert client.get("/v1/tenant", headers={"Authorization": f"Bearer {secret}"}).json()["slug"] == tenant.slug


def test_patch_tenant_arabic_name_is_200_and_empty_removes_it(client: TestClient) -> None:
    renamed = client.patch("/v1/tenant", json={"name_ar": "  متاجر النور "})
    assert renamed.status_code == 200 and renamed.json()["name_ar"] == "متاجر النور"
    assert client.get("/v1/tenant").json()["name_ar"] == "متاجر النور"
    assert client.patch("/v1/tenant", json={"name": "Al Noor"}).json()["name_ar"] == "متاجر النور"
    assert client.patch("/v1/tenant", json={"name_ar": ""}).json()["name_ar"] is None


def test_patch_tenant_benefit_names_merge_by_flag_and_null_forgets_one(client: TestClient) -> None:
    client.patch("/v1/tenant", json={"benefit_names": {"valet": {"en": "Valet parking", "ar": "صف السيارات"}}})
    body = client.patch("/v1/tenant", json={"benefit_names": {"tailor": {"en": "Free tailoring", "ar": "خياطة مجانية"}}}).json()
    assert body["benefit_names"] == {"valet": {"en": "Valet parking", "ar": "صف السيارات"}, "tailor": {"en": "Free tailoring", "ar": "خياطة مجانية"}}
    assert client.patch("/v1/tenant", json={"benefit_names": {"valet": None}}).json()["benefit_names"] == {
        "tailor": {"en": "Free tailoring", "ar": "خياطة مجانية"}}
    # A tier still carries its flags as keys.
    made = client.post("/v1/tiers", json={"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 1, "threshold": "100",
                                         "benefits": {"flags": ["tailor"]}})
    assert made.json()["benefits"]["flags"] == ["tailor"]


def test_patch_tenant_benefit_name_in_one_language_is_422(client: TestClient) -> None:
    problem(client.patch("/v1/tenant", json={"benefit_names": {"valet": {"en": "Valet parking"}}}), 422, "/problems/invalid-input")


def test_patch_tenant_empty_name_is_422(client: TestClient) -> None:
    problem(client.patch("/v1/tenant", json={"name": ""}), 422, "/problems/invalid-input")
    problem(client.patch("/v1/tenant", json={"name": "   "}), 422, "/problems/invalid-input", field="name")
    problem(client.patch("/v1/tenant", json={"name_ar": "س" * 201}), 422, "/problems/invalid-input")


def test_patch_tenant_with_a_read_key_is_403(client: TestClient, factory, clock, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    secret = make_key(factory, tenant.id, ["read"], clock.now())
    refused = client.patch("/v1/tenant", json={"name_ar": "س"}, headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 403
    assert client.get("/v1/tenant").json()["name_ar"] is None


def test_patch_tenant_changes_only_the_key_own_tenant(client: TestClient, factory, clock) -> None:  # type: ignore[no-untyped-def]
    other = make_tenant(factory, clock.now())
    client.patch("/v1/tenant", json={"name_ar": "متجري"})
    with unit_of_work(factory) as session:
        assert tenants.get_or_raise(session, tenant_id=other.id).name_ar is None


def test_a_tenant_created_with_an_arabic_name_shows_it_to_arabic_pages(factory, clock) -> None:  # type: ignore[no-untyped-def]
    made = make_tenant(factory, clock.now(), name_ar="متاجر الوفاء")
    with unit_of_work(factory) as session:
        found = tenants.get_or_raise(session, tenant_id=made.id)
        assert (tenants.name_in(found, "ar"), tenants.name_in(found, "en")) == ("متاجر الوفاء", f"Tenant {made.slug}")
        found.name_ar = None
        assert tenants.name_in(found, "ar") == f"Tenant {made.slug}"

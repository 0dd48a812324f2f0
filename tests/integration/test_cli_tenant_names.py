"""`wafa tenant create --name-ar` and `wafa tenant update`: the name Arabic pages show, set from the CLI."""

from __future__ import annotations

import json
import uuid

from tests.integration.test_cli import wafa  # noqa: F401 (the fixture running `wafa` on the test database)


def _slug() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


def test_tenant_create_with_an_arabic_name_and_rename_it(wafa) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    slug = _slug()
    code, out, _ = wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR", "--slug", slug, "--name-ar", "متاجر النور", "--json")
    assert code == 0 and json.loads(out)["tenant"]["name_ar"] == "متاجر النور"
    code, out, _ = wafa("tenant", "update", "--tenant", slug, "--name-ar", "أسواق النور", "--json")
    assert code == 0 and json.loads(out) | {"id": 0} == {"id": 0, "slug": slug, "name": "Al Noor Stores", "name_ar": "أسواق النور"}
    listed = {t["slug"]: t for t in json.loads(wafa("tenant", "list", "--json")[1])}
    assert listed[slug]["name_ar"] == "أسواق النور"
    assert json.loads(wafa("tenant", "update", "--tenant", slug, "--name", "Noor", "--name-ar", "", "--json")[1])["name_ar"] is None


def test_tenant_update_bad_usage_and_unknown_tenant(wafa) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    slug = _slug()
    wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", slug)
    code, _, err = wafa("tenant", "update", "--tenant", slug, "--name", "")
    assert code == 2 and "Traceback" not in err
    code, _, err = wafa("tenant", "update", "--tenant", "no-such-tenant", "--name-ar", "س")
    assert code == 1 and "no-such-tenant" in err

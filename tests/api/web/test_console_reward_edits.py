"""Editing a reward or the program settings while others work: a save writes only what the person changed
against what the form OPENED with (never against what is stored now), so redemptions made meanwhile are
kept (stock is moved by what the person typed, not reset), a colleague's change is kept, and a targeting
key the program does not know is shown ticked with a warning and kept unless the person unticks it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.api.web.test_console_program import form_of, unescape
from wafa.db import unit_of_work
from wafa.rewards.models import Reward

SAVE = "/admin/rewards/save"


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def ladder(client: TestClient) -> None:
    for key, name_en, name_ar, rank, threshold in (("silver", "Silver", "فضي", 1, "1000"), ("gold", "Gold", "ذهبي", 2, "5000")):
        assert client.post("/v1/tiers", json={"key": key, "name_en": name_en, "name_ar": name_ar, "rank": rank,
                                              "threshold": threshold}).status_code == 201


def gift(client: TestClient, **fields: Any) -> dict[str, Any]:
    made = client.post("/v1/rewards", json={"key": "tote", "name_en": "Tote", "name_ar": "حقيبة", "points": 0,
                                            "gives": {"type": "gift", "sku": "T"}, **fields})
    assert made.status_code == 201, made.text
    return made.json()


def redeem(client: TestClient, reward: dict[str, Any], times: int) -> None:
    for n in range(times):
        member_id = client.post("/v1/members", json={"external_id": f"buyer-{n}"}).json()["id"]
        answer = client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_id": reward["id"], "note": "Jeddah"})
        assert answer.status_code == 201, answer.text


def opened(admin: TestClient, reward_id: int) -> tuple[str, dict[str, Any]]:
    """The reward's page and what its form would send untouched (textareas included)."""
    html = admin.get(f"/admin/rewards/{reward_id}", params={"lang": "en"}).text
    data = form_of(html, SAVE)
    body = re.search(rf'<form method="post" action="{SAVE}"[^>]*>(.*?)</form>', html, re.DOTALL).group(1)  # type: ignore[union-attr]
    for name, text in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', body, re.DOTALL):
        data[name] = unescape(text)
    data["csrf"] = csrf_of(html)
    return html, data


def save(admin: TestClient, data: dict[str, Any]):  # type: ignore[no-untyped-def]
    return admin.post(SAVE, data=data, follow_redirects=False)


def stored(factory, reward_id: int, **values: Any) -> None:  # type: ignore[no-untyped-def]
    """Write a reward's row directly, as an older version of Wafa (or a hand-made import) left it."""
    with unit_of_work(factory) as session:
        session.execute(update(Reward).where(Reward.id == reward_id).values(**values))


# --- stock and fields: compared with what the form opened with ------------------------------------------------


def test_reward_save_keeps_redemptions_made_while_the_form_was_open(admin: TestClient, client: TestClient) -> None:
    """10 left when the form opened, 3 redeemed meanwhile, the description fixed: 7 left, not 10 again."""
    reward = gift(client, stock=10)
    _, data = opened(admin, reward["id"])
    assert data["stock"] == "10"
    redeem(client, reward, 3)
    data["description_en"] = "A canvas tote bag"
    assert save(admin, data).status_code == 303
    after = client.get(f"/v1/rewards/{reward['id']}").json()
    assert after["stock"] == 7 and after["description"]["en"] == "A canvas tote bag"


def test_reward_save_moves_stock_by_what_was_typed_keeping_redemptions_made_meanwhile(admin: TestClient, client: TestClient) -> None:
    """Opened at 10, typed 12 (two more came in), 3 redeemed meanwhile: 9 left."""
    reward = gift(client, stock=10)
    _, data = opened(admin, reward["id"])
    redeem(client, reward, 3)
    data["stock"] = "12"
    assert save(admin, data).status_code == 303
    assert client.get(f"/v1/rewards/{reward['id']}").json()["stock"] == 9
    _, data = opened(admin, reward["id"])
    data["stock"] = ""  # emptied: unlimited
    assert save(admin, data).status_code == 303
    assert client.get(f"/v1/rewards/{reward['id']}").json()["stock"] is None


def test_reward_save_leaves_alone_what_a_colleague_changed_meanwhile(admin: TestClient, client: TestClient) -> None:
    ladder(client)
    reward = gift(client, stock=5, tiers=["silver"], limit={"count": 2, "period": "month"})
    _, data = opened(admin, reward["id"])
    changed = client.patch(f"/v1/rewards/{reward['id']}", json={"name_en": "Canvas tote", "points": 40, "tiers": ["gold"], "status": "paused",
                                                               "limit": {"count": 1, "period": "year"}})
    assert changed.status_code == 200, changed.text
    data["name_ar"] = "حقيبة قماش"
    assert save(admin, data).status_code == 303, "saved"
    after = client.get(f"/v1/rewards/{reward['id']}").json()
    assert after["name"] == {"en": "Canvas tote", "ar": "حقيبة قماش"}
    assert (after["points"], after["tiers"], after["status"], after["limit"]) == (40, ["gold"], "paused", {"count": 1, "period": "year"})


# --- targeting a program does not know -------------------------------------------------------------------------


def test_reward_targeting_unknown_key_shows_ticked_with_a_warning_and_survives_a_rename(
    admin: TestClient, client: TestClient, factory,  # type: ignore[no-untyped-def]
) -> None:
    ladder(client)
    reward = gift(client)
    stored(factory, reward["id"], tiers=["ذهبي"], segments=["Champions"])
    html, data = opened(admin, reward["id"])
    assert re.search(r'<input type="checkbox" name="tiers" value="ذهبي" checked', html)
    assert 'id="unknown-tiers-0"' in html  # the warning beside it
    assert re.search(r'name="segments" value="champions" checked', html)  # the same segment, written in another case
    data["name_en"] = "Canvas tote"
    assert save(admin, data).status_code == 303
    with unit_of_work(factory) as session:
        row = session.get_one(Reward, reward["id"])
        assert (row.name_en, row.tiers, row.segments) == ("Canvas tote", ["ذهبي"], ["Champions"])


def test_reward_targeting_unknown_key_is_removed_only_when_unticked(admin: TestClient, client: TestClient, factory) -> None:  # type: ignore[no-untyped-def]
    ladder(client)
    reward = gift(client)
    stored(factory, reward["id"], tiers=["Gold", "ذهبي"])
    html, data = opened(admin, reward["id"])
    assert re.search(r'name="tiers" value="gold" checked', html) and 'value="Gold"' not in html.split('name="tiers"', 1)[1][:40]
    data["tiers"] = [data["tiers"][0], "ذهبي", "silver"]  # silver ticked too, the unknown one still ticked
    refused = save(admin, data)
    assert refused.status_code == 422 and 'id="err-tiers"' in refused.text
    data["tiers"] = ["gold", "silver"]  # the unknown one unticked
    assert save(admin, data).status_code == 303
    with unit_of_work(factory) as session:
        assert session.get_one(Reward, reward["id"]).tiers == ["gold", "silver"]


# --- program settings ----------------------------------------------------------------------------------------------


def test_settings_save_leaves_alone_what_a_colleague_changed_meanwhile(admin: TestClient, client: TestClient) -> None:
    html = admin.get("/admin/settings", params={"lang": "en"}).text
    data = {**form_of(html, "/admin/settings"), "csrf": csrf_of(html)}
    changed = client.patch("/v1/program", json={"points_name": {"en": "Stars", "ar": "نجوم"}, "min_redemption": 300, "rounding": "ceil"})
    assert changed.status_code == 200, changed.text
    data["pending_days"] = "21"
    assert admin.post("/admin/settings", data=data, follow_redirects=False).status_code == 303
    after = client.get("/v1/program").json()
    assert after["pending_days"] == 21
    assert (after["points_name"], after["min_redemption"], after["rounding"]) == ({"en": "Stars", "ar": "نجوم"}, 300, "ceil")

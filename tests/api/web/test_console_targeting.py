"""Console pages of targeting (rewards, coupon campaigns, segments, surveys, API keys) without a browser:
pickers offer only what the program has and a forged choice is refused next to its field with what was
typed kept; an invitation is counted before it is sent; tables page, sort, filter and export; campaigns are
paused, resumed and extended; survey answers are read by score; Arabic shows as Arabic."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.api.test_coupons import FIXED_10, basket, campaign, codes_of, use
from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.api.web.test_admin_pages import actions, post
from tests.conftest import START


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def ladder(client: TestClient) -> None:
    for key, name_en, name_ar, rank, threshold in (("silver", "Silver", "فضي", 1, "1000"), ("gold", "Gold", "ذهبي", 2, "5000")):
        assert client.post("/v1/tiers", json={"key": key, "name_en": name_en, "name_ar": name_ar, "rank": rank,
                                              "threshold": threshold}).status_code == 201


def members(client: TestClient, n: int) -> list[int]:
    return [client.post("/v1/members", json={"external_id": f"m-{i}", "city": "Jeddah" if i % 2 else "Riyadh"}).json()["id"]
            for i in range(n)]


def survey(client: TestClient) -> int:
    made = client.post("/v1/surveys", json={"key": "nps", "title_en": "How are we doing?", "title_ar": "كيف حالنا؟", "questions": [
        {"key": "r", "type": "nps", "text_en": "Recommend?", "text_ar": "هل تنصح بنا؟"},
        {"key": "why", "type": "text", "text_en": "Why?", "text_ar": "لماذا؟", "required": False}]})
    return int(made.json()["id"])


def invited(client: TestClient) -> int:
    return int(client.get("/v1/surveys").json()["items"][0]["invited"])


def test_every_targeting_page_renders_in_both_languages(admin: TestClient, client: TestClient) -> None:
    ladder(client)
    members(client, 2)
    reward = client.post("/v1/rewards", json={"key": "lounge", "name_en": "Lounge", "name_ar": "صالة", "points": 10, "tiers": ["gold"],
                                              "gives": {"type": "gift", "sku": "X"}}).json()
    made = campaign(client, FIXED_10, count=3)
    survey_id = survey(client)
    for lang in ("ar", "en"):
        for path in ("/admin/rewards", "/admin/rewards?sort=points&dir=desc&status=active&q=lou", f"/admin/rewards/{reward['id']}",
                     "/admin/rewards/new", "/admin/coupons", f"/admin/coupons/{made['id']}", f"/admin/coupons/{made['id']}?state=unused&q=a",
                     "/admin/segments", "/admin/surveys", f"/admin/surveys/{survey_id}/answers?band=promoters", "/admin/api-keys",
                     "/admin/rewards?sort=nonsense&page=x&size=7"):
            page = admin.get(path, params={"lang": lang})
            assert page.status_code == 200, (path, page.text[:2000])


# --- defect 5: pickers offer what exists; anything else is refused, what was typed kept ------------------------


def test_reward_form_offers_the_programs_tiers_segments_and_plans(admin: TestClient, client: TestClient) -> None:
    ladder(client)
    page = admin.get("/admin/rewards/new", params={"lang": "ar"}).text
    for key in ("silver", "gold", "champions", "abc_a"):
        assert f'name="{"tiers" if key in ("silver", "gold") else "segments"}" value="{key}"' in page
    assert "ذهبي" in page and 'name="tiers" value="ذهبي"' not in page


def test_reward_limited_to_a_tier_by_its_arabic_name_is_refused_next_to_the_list_keeping_what_was_typed(
    admin: TestClient, client: TestClient,
) -> None:
    ladder(client)
    refused = post(admin, "/admin/rewards/save", {
        "reward_id": "", "key": "lounge", "kind": "privilege", "name_en": "Lounge", "name_ar": "صالة المطار", "points": "3000",
        "tiers": "ذهبي", "status": "active",
    }, page="/admin/rewards/new")
    assert refused.status_code == 422
    assert 'id="err-tiers"' in refused.text and "ذهبي" in refused.text
    assert 'value="صالة المطار"' in refused.text and 'value="3000"' in refused.text
    assert client.get("/v1/rewards").json()["items"] == []


def page_form(page: str, marker: str) -> dict[str, str]:
    """The fields a browser would send from the form whose tag holds `marker`: inputs with their values,
    ticked checkboxes, the chosen option of each select, textareas."""
    html = page[page.index(marker):]
    html = html[:html.index("</form>")]
    out: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", html):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name is None or ('type="checkbox"' in tag and " checked" not in tag):
            continue
        out[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, flags=re.DOTALL):
        chosen = re.search(r'<option value="([^"]*)" selected', body) or re.search(r'<option value="([^"]*)"', body)
        out[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', html, flags=re.DOTALL):
        out[name] = body
    return out


def test_reward_edit_saves_only_what_changed(admin: TestClient, client: TestClient) -> None:
    ladder(client)
    made = client.post("/v1/rewards", json={"key": "lounge", "name_en": "Lounge", "name_ar": "صالة", "points": 10, "tiers": ["gold"],
                                            "segments": ["champions"], "stock": 7, "limit": {"count": 2, "period": "month"},
                                            "valid_until": (START + timedelta(days=40, seconds=17)).isoformat(),
                                            "gives": {"type": "privilege", "valid_days": 9}}).json()
    page = admin.get(f"/admin/rewards/{made['id']}").text
    form = page_form(page, 'action="/admin/rewards/save"')
    assert form["stock"] == "7" and form["tiers"] == "gold" and form["limit_period"] == "month"
    form["points"] = "25"
    saved = admin.post("/admin/rewards/save", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:3000]
    after = client.get(f"/v1/rewards/{made['id']}").json()
    assert after["points"] == 25
    for field in ("tiers", "segments", "stock", "limit", "valid_until", "gives", "name"):
        assert after[field] == made[field], field


def test_segment_form_refuses_a_tier_the_program_does_not_have(admin: TestClient, client: TestClient) -> None:
    ladder(client)
    refused = post(admin, "/admin/segments", {"key": "jeddah", "name_en": "Jeddah", "name_ar": "جدة", "s0-type": "tier", "s0-tiers": "ذهبي"})
    assert refused.status_code == 422 and 'id="err-s0-tiers"' in refused.text and 'value="جدة"' in refused.text
    assert client.get("/v1/segments").json()["items"] == []


def test_segment_conditions_show_in_arabic_never_as_escapes(admin: TestClient, client: TestClient) -> None:
    members(client, 4)
    made = post(admin, "/admin/segments", {"key": "jeddah", "name_en": "Jeddah", "name_ar": "جدة", "s0-type": "city", "s0-cities": "Jeddah"})
    assert made.status_code == 303, made.text[:2000]
    assert client.get("/v1/segments").json()["items"][0]["members"] == 2
    client.post("/v1/segments", json={"key": "best", "name_en": "Best", "name_ar": "الأفضل", "conditions": [
        {"type": "rfm_segment", "any_of": ["champions", "loyal"]}]})
    page = admin.get("/admin/segments", params={"lang": "ar"}).text
    assert "\\u0" not in page and "الأبطال، الأوفياء" in page
    client.post("/v1/segments", json={"key": "ar-city", "name_en": "x", "name_ar": "س", "conditions": [
        {"type": "member_attribute", "attribute": "city", "any_of": ["جدة"]}]})
    page = admin.get("/admin/segments", params={"lang": "ar"}).text
    assert "\\u062c" not in page and "جدة" in page


# --- defect 4: an invitation's audience comes from the list and is counted before it is sent -------------------


def test_invite_typed_as_gold_is_refused_and_invites_nobody(admin: TestClient, client: TestClient) -> None:
    ladder(client)
    members(client, 5)
    survey_id = survey(client)
    refused = post(admin, f"/admin/surveys/{survey_id}/invite", {"who": "gold", "confirmed": "yes"}, page="/admin/surveys")
    assert refused.status_code == 422 and 'id="err-who"' in refused.text
    assert invited(client) == 0


def test_invite_shows_the_count_first_and_invites_only_once_confirmed(admin: TestClient, client: TestClient) -> None:
    members(client, 5)
    survey_id = survey(client)
    page = admin.get("/admin/surveys").text
    assert 'value="tier:' not in page and 'value="segment:champions"' in page and 'value="all"' in page
    asked = post(admin, f"/admin/surveys/{survey_id}/invite", {"who": "all"}, page="/admin/surveys")
    assert asked.status_code == 200 and 'id="invite-count"' in asked.text and "5" in asked.text
    assert invited(client) == 0
    live = admin.get(f"/admin/surveys/{survey_id}/audience", params={"who": "all", "lang": "en"})
    assert "5 members would be invited" in live.text
    sent = admin.post(f"/admin/surveys/{survey_id}/invite", data={"who": "all", "confirmed": "yes", "csrf": csrf_of(asked.text)},
                      follow_redirects=False)
    assert sent.status_code == 303 and invited(client) == 5


# --- tables that scale --------------------------------------------------------------------------------------------


def test_rewards_table_pages_sorts_filters_and_exports(admin: TestClient, client: TestClient) -> None:
    for n in range(30):
        client.post("/v1/rewards", json={"key": f"r{n:02d}", "name_en": f"Reward {n:02d}", "name_ar": f"مكافأة {n}", "points": n * 10,
                                         "status": "paused" if n % 3 == 0 else "active", "gives": {"type": "gift", "sku": "X"}})
    first = admin.get("/admin/rewards", params={"sort": "points", "dir": "desc", "size": "25", "lang": "en"}).text
    assert "1–25 of 30" in first and first.index("r29") < first.index("r28") and "r04" not in first
    second = admin.get("/admin/rewards", params={"sort": "points", "dir": "desc", "size": "25", "page": "2", "lang": "en"}).text
    assert "26–30 of 30" in second and "r00" in second
    paused = admin.get("/admin/rewards", params={"status": "paused", "lang": "en"}).text
    assert "1–10 of 10" in paused
    exported = admin.get("/admin/rewards.csv", params={"status": "paused", "sort": "points", "dir": "asc"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff"))))
    assert [r["key"] for r in rows] == [f"r{n:02d}" for n in range(0, 30, 3)] and rows[1]["name_ar"] == "مكافأة 3"


# --- coupon campaigns after creation ------------------------------------------------------------------------------


def test_campaign_is_paused_resumed_extended_and_exported_again(admin: TestClient, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    made = campaign(client, FIXED_10, count=60, valid_until=(START + timedelta(days=2)).isoformat())
    code = codes_of(client, made["id"])[0]["code"]
    assert use(client, code, basket("40.00")).status_code == 201
    page = admin.get(f"/admin/coupons/{made['id']}", params={"lang": "en"}).text
    assert 'id="used-codes">1<' in page and 'id="remaining-codes">59<' in page and "1–50 of 60" in page
    assert re.search(r'action="/admin/coupons/\d+/status"[^>]*data-confirm=', page)
    assert post(admin, f"/admin/coupons/{made['id']}/status", {"status": "paused"}, page=f"/admin/coupons/{made['id']}").status_code == 303
    assert client.get(f"/v1/coupon-campaigns/{made['id']}").json()["status"] == "paused"
    assert post(admin, f"/admin/coupons/{made['id']}/status", {"status": "active"}, page=f"/admin/coupons/{made['id']}").status_code == 303
    extended = post(admin, f"/admin/coupons/{made['id']}/validity", {"valid_until-date": "2026-04-30", "valid_until-time": ""},
                    page=f"/admin/coupons/{made['id']}")
    assert extended.status_code == 303
    # The end of that day in the program's time zone (UTC for the test program).
    assert client.get(f"/v1/coupon-campaigns/{made['id']}").json()["valid_until"] == "2026-05-01T00:00:00Z"
    refused = post(admin, f"/admin/coupons/{made['id']}/validity", {"valid_until-date": "2026-02-01"}, page=f"/admin/coupons/{made['id']}")
    assert refused.status_code == 422 and 'id="err-valid_until"' in refused.text and 'value="2026-02-01"' in refused.text
    used = post(admin, f"/admin/coupons/{made['id']}/codes.csv", {}, page=f"/admin/coupons/{made['id']}", params={"state": "used"})
    assert [r["code"] for r in csv.DictReader(io.StringIO(used.text.removeprefix("\ufeff")))] == [code]
    assert {"coupon_campaign.paused", "coupon_campaign.resumed", "coupon_campaign.validity_changed",
            "coupon_campaign.exported"} <= set(actions(factory, tenant.id))


def test_campaign_form_keeps_what_was_typed_and_says_what_is_wrong_next_to_the_field(admin: TestClient, client: TestClient) -> None:
    refused = post(admin, "/admin/coupons", {"name": "عروض رمضان", "count": "abc", "discount_type": "percent", "percent": "15",
                                             "valid_from-date": "2026-04-10", "valid_until-date": "2026-04-01"})
    assert refused.status_code == 422
    assert 'value="عروض رمضان"' in refused.text and 'value="2026-04-10"' in refused.text and 'id="err-count"' in refused.text
    refused = post(admin, "/admin/coupons", {"name": "عروض رمضان", "count": "5", "discount_type": "percent", "percent": "15",
                                             "valid_from-date": "2026-04-10", "valid_until-date": "2026-04-01"})
    assert refused.status_code == 422 and 'id="err-valid_until"' in refused.text
    assert "Input should" not in refused.text and "pattern" not in refused.text
    assert client.get("/v1/coupon-campaigns").json()["items"] == []


# --- survey answers -----------------------------------------------------------------------------------------------


def test_survey_answers_are_read_by_score_and_exported(admin: TestClient, client: TestClient) -> None:
    survey_id = survey(client)
    for member_id, score in zip(members(client, 4), (10, 2, 8, 5), strict=True):
        client.post(f"/v1/surveys/{survey_id}/responses", json={"member_id": member_id, "answers": {"r": score, "why": f"=تعليق {score}"}})
    page = admin.get(f"/admin/surveys/{survey_id}/answers", params={"band": "detractors", "lang": "ar"}).text
    assert "تعليق 2" in page and "تعليق 5" in page and "تعليق 10" not in page
    ranged = admin.get(f"/admin/surveys/{survey_id}/answers", params={"low": "8", "high": "10", "lang": "en"}).text
    assert "1–2 of 2" in ranged
    exported = admin.get(f"/admin/surveys/{survey_id}/answers.csv", params={"sort": "score", "dir": "asc"})
    rows = list(csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff"))))
    assert [r["score"] for r in rows] == ["2", "5", "8", "10"] and rows[0]["group"] == "detractors"
    assert rows[0]["why"] == "'=تعليق 2"  # a spreadsheet would run a cell starting with "="


# --- destructive actions ask first --------------------------------------------------------------------------------


def test_destructive_actions_ask_for_confirmation(admin: TestClient, client: TestClient) -> None:
    client.post("/v1/rewards", json={"key": "tote", "name_en": "Tote", "name_ar": "حقيبة", "points": 0, "gives": {"type": "gift", "sku": "T"}})
    member_id = members(client, 1)[0]
    client.post(f"/v1/members/{member_id}/reward-redemptions", json={"reward_key": "tote", "note": "Jeddah"})
    reward_id = client.get("/v1/rewards").json()["items"][0]["id"]
    page = admin.get(f"/admin/rewards/{reward_id}").text
    assert re.search(r'action="/admin/redemptions/\d+/cancel" data-confirm="[^"]+"', page)
    redemption_id = re.search(r'action="/admin/redemptions/(\d+)/cancel"', page).group(1)  # type: ignore[union-attr]
    cancelled = post(admin, f"/admin/redemptions/{redemption_id}/cancel", {"reward_id": str(reward_id)}, page=f"/admin/rewards/{reward_id}")
    assert cancelled.status_code == 303
    assert client.get(f"/v1/reward-redemptions/{redemption_id}").json()["status"] == "cancelled"
    keys = admin.get("/admin/api-keys").text
    assert re.search(r'action="/admin/api-keys/\d+/revoke" data-confirm="[^"]+"', keys)

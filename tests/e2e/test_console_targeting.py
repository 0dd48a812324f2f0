"""Targeting and audiences in a real browser: survey invitations, rewards, coupon campaigns, segments,
survey answers and API keys, against a `wafa serve` of this module's own copy of the demo.

What a marketing manager relies on: an invitation goes to the audience chosen from a list (never to
everyone because "gold" was typed), and says how many it reaches before anything is sent; tiers, segments,
plans and categories are picked from what the program has, and a name that is not a key ("ذهبي") is
refused rather than saved to match nobody; Arabic reads as Arabic (never \\u062c); a refused form keeps
what was typed and says, in the page's language next to the field, what to fix; dates come from a
calendar; a campaign is paused, resumed, extended and exported again after its codes are out; survey
answers are read by score and exported; tables page, sort and export; destructive actions ask first.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.browser import (
    DESKTOP,
    PHONE,
    SHOTS,
    Server,
    axe_blocking,
    new_context,
    number,
    require_browser,
    watch_errors,
)

require_browser()
from playwright.sync_api import Browser, Page, expect  # noqa: E402

ARABIC = re.compile(r"[\u0600-\u06FF]")
ESCAPED = re.compile(r"\\u0[0-9a-fA-F]{3}")
POST = """async ([action, fields]) => {
  const body = new URLSearchParams(fields);
  body.set("csrf", document.querySelector('input[name="csrf"]').value);
  const answer = await fetch(action, {method: "POST", body, redirect: "manual"});
  return answer.type === "opaqueredirect" ? 303 : answer.status;
}"""


@pytest.fixture
def page_in(browser: Browser, server: Server, admin_state: dict) -> Iterator[Any]:
    """Opens console pages of the signed-in admin; each page's context closes after the test."""
    contexts: list[Any] = []

    def open_page(viewport: dict[str, int] = DESKTOP) -> Page:
        context = new_context(browser, viewport=viewport, storage_state=admin_state, bypass_csp=True, accept_downloads=True)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def forged(page: Page, action: str, **fields: str) -> int:
    """Post a form the page did not offer (what a typed or tampered value sends), with the page's CSRF token."""
    return int(page.evaluate(POST, [action, fields]))


def sql(server: Server, query: str, **params: Any) -> list[Any]:
    engine = create_engine(f"sqlite:///{server.database}")
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(query), params))
    finally:
        engine.dispose()


def active_in_tiers(server: Server) -> dict[str, int]:
    """Active members per tier key, read from the served database."""
    return dict(sql(server, "SELECT t.key, count(*) FROM member_tiers mt JOIN tiers t ON t.id = mt.tier_id "
                            "JOIN members m ON m.id = mt.member_id WHERE m.status = 'active' GROUP BY t.key"))


def survey(server: Server) -> dict[str, Any]:
    with server.api() as http:
        return http.get("/v1/surveys").json()["items"][0]


def csv_rows(download: Any) -> list[dict[str, str]]:
    with open(download.path(), encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


# --- defect 4: an invitation typed as "gold" invited all the members ---------------------------------------


def test_an_invitation_typed_as_gold_invites_nobody_and_a_tier_chosen_from_the_list_is_counted_before_sending(
    page_in: Any, server: Server,
) -> None:
    page = page_in()
    before = survey(server)
    page.goto(f"{server.url}/admin/surveys?lang=en")
    card = page.locator("section.card", has_text=before["title"]["en"])
    invite = card.locator(f'form[action="/admin/surveys/{before["id"]}/invite"]')
    # What was typed in the audience box: "gold", not "tier:gold".
    status = forged(page, f"/admin/surveys/{before['id']}/invite", who="gold", confirmed="yes")
    assert survey(server)["invited"] == before["invited"], "typing “gold” invited members"
    assert status == 422
    errors = watch_errors(page)
    # The audience is chosen from a list of what the program has; the count shows before anything is sent.
    tiers = active_in_tiers(server)
    key, members = max(tiers.items(), key=lambda pair: pair[1])
    assert 0 < members < int(sql(server, "SELECT count(*) FROM members WHERE status = 'active'")[0][0])
    who = invite.locator('select[name="who"]')
    assert who.locator("option").evaluate_all("os => os.map(o => o.value)")[:1] == ["all"]
    who.select_option(f"tier:{key}")
    expect(card.locator("output")).to_contain_text(f"{members} member")
    invite.get_by_role("button").click()
    page.wait_for_url(re.compile(r"/admin/surveys/\d+/invite"))
    assert number(page.locator("#invite-count").inner_text()) == members
    assert survey(server)["invited"] == before["invited"], "inviting before confirming"
    page.locator('form[action$="/invite"] button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/admin/surveys\?done=invited"))
    assert survey(server)["invited"] == before["invited"] + members
    assert not errors, errors


# --- defect 5: targeting accepted keys that do not exist; Arabic shown as \\u escapes --------------------


def test_reward_targeting_is_picked_from_what_exists_and_a_tier_by_its_arabic_name_is_refused(page_in: Any, server: Server) -> None:
    page = page_in()
    page.goto(f"{server.url}/admin/rewards/new?lang=ar")
    form = page.locator('form[action="/admin/rewards/save"]')
    tiers = form.locator('input[name="tiers"]')
    assert sorted(tiers.evaluate_all("xs => xs.map(x => x.value)")) == ["gold", "platinum", "silver"]
    assert tiers.evaluate_all("xs => xs.every(x => x.type === 'checkbox')")
    expect(form.locator("#tiers-picker")).to_contain_text("ذهبي")
    assert "plus" in form.locator('input[name="plans"]').evaluate_all("xs => xs.map(x => x.value)")
    assert {"champions", "riyadh-regulars"} <= set(form.locator('input[name="segments"]').evaluate_all("xs => xs.map(x => x.value)"))
    # A tier written as its Arabic name (what was saved before, locking the reward for everyone) is refused.
    status = forged(page, "/admin/rewards/save", reward_id="", key="lounge-ar", kind="privilege", name_en="Lounge", name_ar="صالة",
                    points="3000", tiers="ذهبي", status="active")
    assert status == 422
    with server.api() as http:
        assert all(r["key"] != "lounge-ar" for r in http.get("/v1/rewards", params={"limit": 200}).json()["items"])
        refused = http.post("/v1/rewards", json={"key": "lounge-ar", "name_en": "L", "name_ar": "ص", "points": 1, "tiers": ["ذهبي"],
                                                 "gives": {"type": "privilege"}})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "tiers[0]"
    # Ticking "ذهبي" saves the tier's key.
    form.locator('input[name="key"]').fill("gold-lounge")
    form.locator('select[name="kind"]').select_option("privilege")
    form.locator('input[name="name_en"]').fill("Gold lounge")
    form.locator('input[name="name_ar"]').fill("صالة الذهبي")
    form.locator('input[name="points"]').fill("3000")
    form.locator("#tiers-picker label", has_text="ذهبي").locator("input").check()
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/admin/rewards/\d+\?done=saved"))
    with server.api() as http:
        made = next(r for r in http.get("/v1/rewards", params={"limit": 200}).json()["items"] if r["key"] == "gold-lounge")
    assert made["tiers"] == ["gold"]


def test_segment_conditions_are_picked_from_what_exists_and_read_in_arabic(page_in: Any, server: Server) -> None:
    with server.api() as http:
        made = http.post("/v1/segments", json={"key": "jeddah-ar", "name_en": "Jeddah (as typed)", "name_ar": "جدة كما كُتبت",
                                               "conditions": [{"type": "member_attribute", "attribute": "city", "any_of": ["جدة"]}]})
        assert made.status_code == 201, made.text
        refused = http.post("/v1/segments", json={"key": "champions-ar", "name_en": "x", "name_ar": "س",
                                                  "conditions": [{"type": "rfm_segment", "any_of": ["الأبطال"]}]})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "conditions[0].any_of[0]"
    page = page_in()
    page.goto(f"{server.url}/admin/segments?lang=ar")
    assert not ESCAPED.search(page.content()), "conditions shown as \\u escapes"
    expect(page.locator("tr", has_text="jeddah-ar")).to_contain_text("جدة")
    # A city and RFM segments chosen from lists: the cities members gave, the RFM segments by their names.
    form = page.locator('form[action="/admin/segments"]')
    form.locator('input[name="key"]').fill("jeddah")
    form.locator('input[name="name_en"]').fill("Jeddah")
    form.locator('input[name="name_ar"]').fill("جدة")
    form.locator('select[name="s0-type"]').select_option("city")
    cities = form.locator('input[name="s0-cities"]')
    assert set(cities.evaluate_all("xs => xs.map(x => x.value)")) <= {"Riyadh", "Jeddah", "Dammam", "Makkah", "Madinah"}
    form.locator('input[name="s0-cities"][value="Jeddah"]').check()
    form.locator('button[type="submit"]').last.click()
    page.wait_for_url(re.compile(r"/admin/segments\?done=saved"))
    # The demo's first program (its coalition, souq, has members in Jeddah too).
    expected = int(sql(server, "SELECT count(*) FROM members WHERE status = 'active' AND city = 'Jeddah' "
                               "AND tenant_id = (SELECT min(id) FROM tenants)")[0][0])
    assert expected > 0
    assert number(page.locator("tr", has_text="jeddah").filter(has_not_text="jeddah-ar").locator("td.num").inner_text()) == expected
    expect(page.locator("#rfm-help")).to_contain_text("RFM")
    assert ARABIC.search(page.locator("#rfm-help").inner_text())


# --- defect 7 on these forms: what was typed stays, errors next to fields, dates from a calendar --------------


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_refused_campaign_keeps_what_was_typed_says_why_beside_the_field_and_takes_dates_from_a_calendar(
    page_in: Any, server: Server, lang: str,
) -> None:
    page = page_in()
    page.goto(f"{server.url}/admin/coupons?lang={lang}")
    form = page.locator('form[method="post"][action="/admin/coupons"]')
    form.locator('input[name="name"]').fill("عروض رمضان")
    form.locator('input[name="count"]').fill("100")
    form.locator('select[name="discount_type"]').select_option("percent")
    form.locator('input[name="percent"]').fill("15")
    form.locator('input[type="date"][name="valid_from-date"]').fill("2027-03-10")
    form.locator('input[type="date"][name="valid_until-date"]').fill("2027-03-01")
    form.locator('button[type="submit"]').click()
    form = page.locator('form[method="post"][action="/admin/coupons"]')
    expect(form.locator('input[name="name"]')).to_have_value("عروض رمضان")
    expect(form.locator('input[name="percent"]')).to_have_value("15")
    expect(form.locator('input[name="valid_from-date"]')).to_have_value("2027-03-10")
    error = form.locator("#err-valid_until")
    expect(error).to_be_visible()
    assert bool(ARABIC.search(error.inner_text())) == (lang == "ar")
    assert "Input should" not in page.content() and "datetime" not in error.inner_text()
    if lang == "ar":
        assert ARABIC.search(form.locator("#valid_from-hijri").inner_text())


def test_a_survey_closes_on_a_day_from_the_calendar(page_in: Any, server: Server) -> None:
    page = page_in()
    page.goto(f"{server.url}/admin/surveys?lang=en")
    form = page.locator('form[action="/admin/surveys"]')
    form.locator('input[name="key"]').fill("q2-nps")
    form.locator('input[name="title_en"]').fill("Spring check")
    form.locator('input[name="title_ar"]').fill("استبيان الربيع")
    form.locator('input[type="date"][name="closes_at-date"]').fill("2999-06-30")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/admin/surveys\?done=saved"))
    with server.api() as http:
        made = next(s for s in http.get("/v1/surveys").json()["items"] if s["key"] == "q2-nps")
    assert made["closes_at"].startswith("2999-06-30T21:00:00")  # the end of that day in Riyadh (UTC+3)
    expect(page.locator("#nps-help")).to_contain_text("promoters")


# --- day one: coupon campaigns after creation ---------------------------------------------------------------


def test_a_campaign_is_followed_paused_resumed_extended_and_exported_again(page_in: Any, server: Server) -> None:
    page = page_in()
    errors = watch_errors(page)
    page.goto(f"{server.url}/admin/coupons?lang=en")
    form = page.locator('form[method="post"][action="/admin/coupons"]')
    form.locator('input[name="name"]').fill("Eid flash sale")
    form.locator('input[name="count"]').fill("60")
    form.locator('input[name="amount"]').fill("20")
    form.locator('button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/admin/coupons/\d+\?done=generated"))
    campaign_id = int(re.search(r"/admin/coupons/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    codes = page.locator("table.list tbody code")
    expect(codes).to_have_count(50)
    code = codes.first.inner_text()
    with server.api() as http:
        used = http.post(f"/v1/coupons/{code}:redeem", json={"amount": "80.00", "currency": "SAR"})
        assert used.status_code == 201, used.text
    page.reload()
    assert number(page.locator("#used-codes").inner_text()) == 1 and number(page.locator("#remaining-codes").inner_text()) == 59
    page.locator("nav.pager a[rel=next]").click()
    expect(page.locator("table.list tbody code")).to_have_count(10)
    # Pausing asks first; saying no changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Pause the campaign").click()
    with server.api() as http:
        assert http.get(f"/v1/coupon-campaigns/{campaign_id}").json()["status"] == "active"
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Pause the campaign").click()
    page.wait_for_url(re.compile(r"done=paused"))
    with server.api() as http:
        other = page.locator("table.list tbody code").nth(1).inner_text()
        assert http.post(f"/v1/coupons/{other}:validate", json={"amount": "80.00", "currency": "SAR"}).status_code == 422
    page.get_by_role("button", name="Resume the campaign").click()
    page.wait_for_url(re.compile(r"done=active"))
    extend = page.locator(f'form[action="/admin/coupons/{campaign_id}/validity"]')
    extend.locator('input[type="date"]').fill("2999-12-31")
    extend.get_by_role("button").click()
    page.wait_for_url(re.compile(r"done=validity"))
    with server.api() as http:
        # The end of that day in the program's time zone (Asia/Riyadh, UTC+3), for every code of the campaign.
        assert http.get(f"/v1/coupon-campaigns/{campaign_id}").json()["valid_until"].startswith("2999-12-31T21:00:00")
        assert http.get(f"/v1/coupons/{code}").json()["valid_until"].startswith("2999-12-31T21:00:00")
    page.locator('select[name="state"]').select_option("unused")
    page.locator('form[role="search"] button').click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()  # a post with the CSRF token: an export is audited
    rows = csv_rows(download.value)
    assert len(rows) == 59 and code not in {r["code"] for r in rows}
    assert not errors, errors


# --- day one: survey answers ---------------------------------------------------------------------------------


def test_survey_answers_are_read_by_score_and_exported(page_in: Any, server: Server) -> None:
    page = page_in()
    nps = None
    with server.api() as http:
        first = http.get("/v1/surveys").json()["items"][-1]
        nps = http.get(f"/v1/surveys/{first['id']}/nps").json()
    page.goto(f"{server.url}/admin/surveys?lang=en")
    page.locator(f'a[href="/admin/surveys/{first["id"]}/answers"]').click()
    page.locator('select[name="band"]').select_option("detractors")
    page.locator('form[role="search"] button').click()
    scores = [number(s) for s in page.locator("table.answers td.num").all_inner_texts()]
    assert len(scores) == min(nps["detractors"], 50) and all(s <= 6 for s in scores)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = csv_rows(download.value)
    assert len(rows) == nps["detractors"] and {r["group"] for r in rows} <= {"detractors"}


# --- tables that scale ---------------------------------------------------------------------------------------


def test_the_rewards_table_sorts_filters_and_exports(page_in: Any, server: Server) -> None:
    page = page_in()
    page.goto(f"{server.url}/admin/rewards?lang=en")
    expect(page.locator("nav.pager")).to_contain_text("of")
    page.locator("thead a.sort", has_text="Points").click()
    points = [number(t) for t in page.locator("tbody td.num:nth-child(3)").all_inner_texts()]
    assert points == sorted(points) and len(points) >= 8
    expect(page.locator('th[aria-sort="ascending"]')).to_contain_text("Points")
    page.locator("thead a.sort", has_text="Points").click()
    points = [number(t) for t in page.locator("tbody td.num:nth-child(3)").all_inner_texts()]
    assert points == sorted(points, reverse=True)
    page.locator('select[name="kind"]').select_option("coupon")
    page.locator('form[role="search"] button').click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = csv_rows(download.value)
    points = [int(r["points"]) for r in rows]
    assert rows and {r["kind"] for r in rows} == {"coupon"} and points == sorted(points, reverse=True)


# --- destructive actions ask first ------------------------------------------------------------------------------


def test_revoking_a_key_and_cancelling_a_redemption_ask_first(page_in: Any, server: Server) -> None:
    page = page_in()
    page.goto(f"{server.url}/admin/api-keys?lang=en")
    page.locator('form[action="/admin/api-keys"] input[name="name"]').fill("till 9")
    page.locator('form[action="/admin/api-keys"] button').click()
    row = page.locator("tr", has_text="till 9")
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("tr", has_text="till 9").get_by_role("button", name="Revoke")).to_be_visible()
    with server.api() as http:
        reward = next(r for r in http.get("/v1/rewards", params={"limit": 200}).json()["items"] if r["key"] == "tote-bag")
        member = http.post("/v1/members", json={"external_id": "gift-taker", "name": "Gift Taker"}).json()
        http.post(f"/v1/members/{member['id']}/adjustments", json={"points": 800, "reason": "test"})
        redeemed = http.post(f"/v1/members/{member['id']}/reward-redemptions", json={"reward_key": "tote-bag", "note": "Jeddah"})
        assert redeemed.status_code == 201, redeemed.text
    page.goto(f"{server.url}/admin/rewards/{reward['id']}?lang=en&status=issued")
    cancel = page.locator(f'form[action="/admin/redemptions/{redeemed.json()["id"]}/cancel"]')
    page.once("dialog", lambda dialog: dialog.dismiss())
    cancel.get_by_role("button").click()
    with server.api() as http:
        assert http.get(f"/v1/reward-redemptions/{redeemed.json()['id']}").json()["status"] == "issued"
    page.once("dialog", lambda dialog: dialog.accept())
    cancel.get_by_role("button").click()
    page.wait_for_url(re.compile(r"done=cancelled"))
    with server.api() as http:
        assert http.get(f"/v1/reward-redemptions/{redeemed.json()['id']}").json()["status"] == "cancelled"


# --- accessibility and screenshots of these pages ----------------------------------------------------------------


PAGES = [("rewards-table", "/admin/rewards"), ("reward-new", "/admin/rewards/new"), ("coupon-campaigns", "/admin/coupons"),
         ("segments", "/admin/segments"), ("surveys", "/admin/surveys"), ("api-keys", "/admin/api-keys")]


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_these_pages_have_no_serious_accessibility_fault_and_fit_a_phone(page_in: Any, server: Server, lang: str, size: str) -> None:
    page = page_in(DESKTOP if size == "desktop" else PHONE)
    errors = watch_errors(page)
    with server.api() as http:
        first = http.get("/v1/surveys").json()["items"][-1]
        campaigns = http.get("/v1/coupon-campaigns").json()["items"]
    pages = [*PAGES, ("survey-answers", f"/admin/surveys/{first['id']}/answers")]
    pages += [("coupon-campaign", f"/admin/coupons/{campaigns[0]['id']}")] if campaigns else []
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in pages:
        page.goto(f"{server.url}{path}?lang={lang}")
        blocking, report = axe_blocking(page)
        assert not blocking, f"{path} ({lang}, {size}):\n{report}"
        if size == "phone":
            width = page.evaluate("() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
            assert width <= PHONE["width"], f"{path} ({lang}) is {width} px wide on a phone"
        page.screenshot(path=str(SHOTS / f"console-{name}-{lang}-{size}.png"), full_page=True)
    assert not [e for e in errors if "axe" not in e], errors

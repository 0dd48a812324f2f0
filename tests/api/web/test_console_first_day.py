"""The dashboard of a program on its first day, without a browser: the checklist of a fresh tenant, each
step ticked by the change that does it, the return window shown as it is; custom periods refused beside
the dates; program goals set, changed and removed through the console's form, audited, and the same as
/v1/analytics/goals says."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.api.web.test_console_program import send
from tests.conftest import TenantCtx, make_key, make_tenant
from wafa.db import unit_of_work
from wafa.programs.service import NEW_PROGRAM_PENDING_DAYS
from wafa.tenants import audit


@pytest.fixture
def tenant(factory, clock) -> TenantCtx:  # type: ignore[no-untyped-def]
    """A program as `wafa tenant create` makes it: with a new program's return window, not the tests' none."""
    return make_tenant(factory, clock.now(), pending_days=NEW_PROGRAM_PENDING_DAYS)


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))


def steps(page: str) -> dict[str, bool]:
    """The checklist's steps as the page shows them: done or not."""
    return {key: done == "true" for key, done in re.findall(r'data-step="(\w+)" data-done="(true|false)"', page)}


def test_a_fresh_program_shows_every_first_day_step_not_done(admin: TestClient) -> None:
    page = admin.get("/admin", params={"lang": "en"})
    assert page.status_code == 200
    assert 'id="checklist"' in page.text and "<details open>" in page.text
    assert steps(page.text) == {"points": False, "earn": False, "window": False, "reward": False, "rule": False, "colleague": False,
                                "till": False}
    for href in ("/admin/settings", "/admin/rewards/new", "/admin/rules/new", "/admin/people", "/admin/api-keys"):
        assert f'href="{href}"' in page.text
    assert "Check the return window" in page.text and "Points stay pending 14 days after a purchase." in page.text
    arabic = admin.get("/admin", params={"lang": "ar"}).text
    assert "خطوات البداية" in arabic and "راجع مهلة الإرجاع" in arabic and "تبقى النقاط معلّقة 14 يومًا بعد الشراء." in arabic


def test_each_step_is_ticked_by_what_does_it_and_the_checklist_goes_when_all_are(admin: TestClient, client: TestClient, factory, clock,  # type: ignore[no-untyped-def]
                                                                                  tenant) -> None:
    assert client.patch("/v1/program", json={"points_name": {"en": "Stars", "ar": "نجوم"}}).status_code == 200
    make_admin(factory, tenant.id, clock.now(), role="marketer")
    make_key(factory, tenant.id, ["events:write"], clock.now())
    assert steps(admin.get("/admin").text) == {"points": True, "earn": False, "window": False, "reward": False, "rule": False,
                                               "colleague": True, "till": True}
    assert client.patch("/v1/program", json={"earn_rates": {"SAR": "2"}}).status_code == 200
    assert client.post("/v1/rewards", json={"key": "coffee", "name_en": "Coffee", "name_ar": "قهوة", "points": 100,
                                            "gives": {"type": "privilege", "valid_days": 30}}).status_code == 201
    # A window other than a new program's was chosen on purpose (here through the API): the step is done, and says what it is.
    assert client.patch("/v1/program", json={"pending_days": 0}).status_code == 200
    page = admin.get("/admin", params={"lang": "en"}).text
    assert steps(page) == {"points": True, "earn": True, "window": True, "reward": True, "rule": False, "colleague": True, "till": True}
    assert "Points can be spent as soon as a purchase earns them, before a return can take them back." in page
    made = client.post("/v1/rules", json={"name_en": "Fifty", "name_ar": "خمسون", "trigger": "purchase", "status": "active",
                                          "actions": [{"type": "fixed_points", "points": 50}]})
    assert made.status_code == 201, made.text
    page = admin.get("/admin").text
    assert 'id="checklist"' not in page and steps(page) == {}


def test_saving_the_settings_in_the_console_ticks_the_return_window_and_the_settings_explain_it(admin: TestClient) -> None:
    """Whoever saved the settings has seen the window beside what they changed, even if they kept it."""
    settings = admin.get("/admin/settings", params={"lang": "en"}).text
    assert 'name="pending_days" value="14"' in settings
    assert "The return window: a purchase's points wait this many days" in settings and "0 lets members spend them at once" in settings
    assert "مهلة الإرجاع: تنتظر نقاط الشراء" in admin.get("/admin/settings", params={"lang": "ar"}).text
    saved = send(admin, "/admin/settings", {"rounding": "half_up"})
    assert saved.status_code == 303, saved.text
    page = admin.get("/admin", params={"lang": "en"}).text
    assert steps(page)["window"] and "Points stay pending 14 days after a purchase." in page
    assert send(admin, "/admin/settings", {"pending_days": "1"}).status_code == 303
    assert "Points stay pending 1 day after a purchase." in admin.get("/admin", params={"lang": "en"}).text


def test_a_purchase_received_connects_the_till(admin: TestClient, client: TestClient) -> None:
    assert not steps(admin.get("/admin").text)["till"]
    bought = client.post("/v1/events", json={"type": "purchase", "order_id": "T-1", "amount": "20.00", "currency": "SAR"})
    assert bought.status_code == 201, bought.text
    page = admin.get("/admin").text
    assert steps(page)["till"] and "<details open>" not in page, "a program that trades shows the checklist folded"


@pytest.mark.parametrize(("lang", "words"), [("en", "Choose at most 10 years."), ("ar", "اختر مدة لا تزيد على 10 سنوات.")])
def test_a_custom_period_over_ten_years_is_refused_beside_the_dates(admin: TestClient, lang: str, words: str) -> None:
    page = admin.get("/admin", params={"lang": lang, "period": "custom", "from-date": "2001-01-01", "to-date": "2026-01-01"})
    assert page.status_code == 200
    assert f'<span class="field-error" id="err-to">{words}</span>' in page.text
    assert 'value="2001-01-01"' in page.text and 'class="problem"' in page.text


def test_a_custom_period_ending_before_it_starts_or_unreadable_is_refused(admin: TestClient) -> None:
    backwards = admin.get("/admin", params={"lang": "en", "period": "custom", "from-date": "2026-02-01", "to-date": "2026-01-01"})
    assert "The end must be on or after the start." in backwards.text
    unreadable = admin.get("/admin", params={"lang": "en", "period": "custom", "from-date": "yesterday", "to-date": "2026-01-01"})
    assert unreadable.status_code == 200 and "Choose a date from the calendar." in unreadable.text
    before_1970 = admin.get("/admin", params={"lang": "en", "period": "custom", "from-date": "1971-01-01", "to-date": "1975-01-01"})
    assert before_1970.status_code == 200 and "the figures begin in 1970" in before_1970.text


def test_a_custom_period_in_the_far_future_is_refused_not_an_error_page(admin: TestClient) -> None:
    """Ten years after 9995 is past the calendar's end: the page says so beside the dates instead of a 500."""
    refused = admin.get("/admin", params={"lang": "en", "period": "custom", "from-date": "9995-01-01", "to-date": "9995-02-01"})
    assert refused.status_code == 200 and "Choose at most 10 years." in refused.text


def test_a_custom_period_of_ten_years_shows(admin: TestClient) -> None:
    page = admin.get("/admin", params={"lang": "en", "period": "custom", "from-date": "2016-03-02", "to-date": "2026-03-01"})
    assert page.status_code == 200 and 'class="field-error"' not in page.text


def test_a_goal_set_in_the_console_is_the_one_the_api_returns(admin: TestClient, client: TestClient, factory, tenant) -> None:  # type: ignore[no-untyped-def]
    form = admin.get("/admin/goals", params={"lang": "en"})
    assert form.status_code == 200 and 'id="goal-form"' in form.text
    saved = admin.post("/admin/goals/save", data={
        "csrf": csrf_of(form.text), "goal_id": "", "kpi": "retention_rate", "target": "45", "starts-date": "2026-01-01",
        "ends-date": "2026-12-31",
    }, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    goal = client.get("/v1/analytics/goals").json()["items"][0]
    assert (goal["kpi"], goal["target"], goal["starts_on"], goal["ends_on"]) == ("retention_rate", "0.45", "2026-01-01", "2026-12-31")
    dashboard = admin.get("/admin", params={"lang": "en"}).text
    assert 'data-goal="retention_rate"' in dashboard and "45.0%" in dashboard
    # Changed, then removed; each change audited.
    page = admin.get("/admin/goals", params={"edit": goal["id"]})
    assert 'value="45' in page.text
    changed = admin.post("/admin/goals/save", data={
        "csrf": csrf_of(page.text), "goal_id": str(goal["id"]), "kpi": "retention_rate", "target": "50", "starts-date": "2026-01-01",
        "ends-date": "2026-06-30",
    }, follow_redirects=False)
    assert changed.status_code == 303
    assert client.get(f"/v1/analytics/goals/{goal['id']}").json()["target"] == "0.5"
    removed = admin.post(f"/admin/goals/{goal['id']}/delete", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert removed.status_code == 303 and client.get("/v1/analytics/goals").json()["items"] == []
    with unit_of_work(factory) as session:
        done = [row.action for row in audit.list_(session, tenant_id=tenant.id, limit=10)]
    assert {"goal.created", "goal.updated", "goal.deleted"} <= set(done)


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"kpi": "retention_rate", "target": "140"}, "target", "Enter a share from 0 to 100 (per cent)."),
    ({"kpi": "nps", "target": "-150"}, "target", "Enter a score from −100 to 100."),
    ({"kpi": "aov_members", "target": "lots"}, "target", "Enter a number, such as 12.50."),
    ({"kpi": "revenue", "target": "1"}, "kpi", "Choose one of the options."),
    ({"kpi": "nps", "target": "10", "ends-date": "2025-01-01"}, "ends", "The end must be on or after the start."),
    # The first allowed day of the date picker (1970) is before the goals' first (1971): said beside the date.
    ({"kpi": "nps", "target": "10", "starts-date": "1970-06-01"}, "starts", "Choose a date between 1971 and 2999."),
    # Stored as text of 24 characters: a huge target is refused beside the field, not by the database.
    ({"kpi": "aov_members", "target": "1e30"}, "target", "Enter a number below a trillion, with at most 4 decimals."),
])
def test_a_goal_the_form_cannot_hold_is_refused_beside_the_field(admin: TestClient, client: TestClient, fields: dict, field: str,
                                                                 words: str) -> None:
    form = admin.get("/admin/goals", params={"lang": "en"})
    data = {"csrf": csrf_of(form.text), "goal_id": "", "starts-date": "2026-01-01", "ends-date": "2026-12-31", **fields}
    refused = admin.post("/admin/goals/save", data=data, follow_redirects=False)
    assert refused.status_code == 422
    assert f'<span class="field-error" id="err-{field}">{words}</span>' in refused.text
    assert f'value="{fields["target"]}"' in refused.text, "what was typed stays"
    assert client.get("/v1/analytics/goals").json()["items"] == []


def test_a_viewer_reads_goals_but_cannot_set_them(browser: Browser, factory, clock, tenant, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    viewer = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="viewer"))
    page = viewer.get("/admin/goals")
    assert page.status_code == 200 and 'id="goal-form"' not in page.text
    refused = viewer.post("/admin/goals/save", data={"csrf": csrf_of(viewer.get("/admin").text), "kpi": "nps", "target": "10",
                                                     "starts-date": "2026-01-01", "ends-date": "2026-12-31"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/v1/analytics/goals").json()["items"] == []

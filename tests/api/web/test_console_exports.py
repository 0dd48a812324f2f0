"""Console exports: bulk personal data, live coupon codes and the audit trail (with IP addresses) need more
than the right to read pages, checked per role; a campaign's codes are exported by a form post carrying the
CSRF token (it is audited, so a link on another site cannot trigger it); CSV cells keep phone numbers and
plain numbers as they are while a formula stays text."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from tests.api.test_coupons import FIXED_10, campaign, codes_of
from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.api.web.test_admin_pages import actions
from tests.conftest import make_member
from wafa.web.admin.tables import cell

ROLES = ("owner", "admin", "marketer", "support", "viewer")
# Who may take what out of the console in bulk (every role may read the pages).
MAY = {
    "members.csv": {"owner", "admin", "support"},  # members' names, e-mails, phones
    "answers.csv": {"owner", "admin", "marketer"},  # survey answers with comments, by member
    "audit.csv": {"owner", "admin"},  # who did what, from which IP address
    "codes.csv": {"owner", "admin", "marketer"},  # live coupon codes
    "codes table": {"owner", "admin", "marketer"},
}


def rows_of(answer) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv"), answer.text[:500]
    return list(csv.DictReader(io.StringIO(answer.text.removeprefix("\ufeff"))))


def as_role(browser: Browser, factory, tenant, clock, role: str) -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role=role))


def survey(client: TestClient) -> int:
    made = client.post("/v1/surveys", json={"key": "nps", "title_en": "How are we doing?", "title_ar": "كيف حالنا؟", "questions": [
        {"key": "r", "type": "nps", "text_en": "Recommend?", "text_ar": "هل تنصح بنا؟"}]})
    return int(made.json()["id"])


def test_exports_need_the_role_table_driven(browser: Browser, client: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    made = campaign(client, FIXED_10, count=3)
    code = codes_of(client, made["id"])[0]["code"]
    survey_id = survey(client)
    make_member(factory, tenant.id, clock.now(), name="Sara")
    wrong = []
    for role in ROLES:
        console = as_role(browser, factory, tenant, clock, role)
        token = csrf_of(console.get("/admin/people").text)
        page = console.get(f"/admin/coupons/{made['id']}", params={"lang": "en"})
        assert page.status_code == 200
        answers = {
            "members.csv": console.get("/admin/members.csv"), "answers.csv": console.get(f"/admin/surveys/{survey_id}/answers.csv"),
            "audit.csv": console.get("/admin/audit.csv"),
            "codes.csv": console.post(f"/admin/coupons/{made['id']}/codes.csv", data={"csrf": token}, follow_redirects=False),
        }
        for what, answer in answers.items():
            given = answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
            refused = answer.status_code == 403 and "Only owner" in answer.text and "text/html" in answer.headers["content-type"]
            if not (given if role in MAY[what] else refused):
                wrong.append(f"{role} {what}: {answer.status_code}")
        if (code in page.text) != (role in MAY["codes table"]):
            wrong.append(f"{role} codes table: {'shown' if code in page.text else 'hidden'}")
    assert not wrong, "\n".join(wrong)


@pytest.fixture
def admin(browser: Browser, factory, clock, tenant) -> TestClient:  # type: ignore[no-untyped-def]
    return as_role(browser, factory, tenant, clock, "admin")


def test_codes_export_is_a_post_with_the_csrf_token_audited_never_a_get(admin: TestClient, client: TestClient, factory, tenant) -> None:  # type: ignore[no-untyped-def]
    made = campaign(client, FIXED_10, count=3)
    path = f"/admin/coupons/{made['id']}/codes.csv"
    assert admin.get(path).status_code in (404, 405)  # a link (another site's too) cannot export, nor write the audit trail
    assert admin.post(path, data={"csrf": "forged"}).status_code == 403
    assert "coupon_campaign.exported" not in actions(factory, tenant.id)
    page = admin.get(f"/admin/coupons/{made['id']}").text
    assert f'action="{path}?' in page  # the export button posts the table's filters and order
    exported = rows_of(admin.post(path, params={"state": "unused"}, data={"csrf": csrf_of(page)}))
    assert len(exported) == 3
    assert "coupon_campaign.exported" in actions(factory, tenant.id)


# --- CSV cells ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "written"), [
    ("+966501234567", "+966501234567"), ("-12.50", "-12.50"), ("+1.5", "+1.5"), ("0501234567", "0501234567"),
    ("=SUM(A1:A9)", "'=SUM(A1:A9)"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("@SUM(1)", "'@SUM(1)"),
    ("-2+3", "'-2+3"), ("+", "'+"), ("\t=1", "'\t=1"),
])
def test_csv_cell_keeps_numbers_and_phones_and_makes_formulas_text(value: str, written: str) -> None:
    assert cell(value) == written


def test_members_csv_keeps_phone_numbers_as_typed(admin: TestClient, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    make_member(factory, tenant.id, clock.now(), name="=HYPERLINK(\"http://x\")", phone="+966501234567")
    exported = rows_of(admin.get("/admin/members.csv"))
    assert exported[0]["phone"] == "+966501234567"
    assert exported[0]["name"] == "'=HYPERLINK(\"http://x\")"

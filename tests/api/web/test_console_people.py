"""People in the console: invitations by e-mail (single use, seven days, replaced by a newer one),
password resets by e-mail (one answer for every address, single use, one hour, three an hour, ending
every session), one's own password change (ending the other sessions), role changes and
deactivation (ending sessions) that never leave a tenant without an owner; all audited. Mails go
through a real SMTP server, in Arabic or English."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import PASSWORD, Browser, Inbox, csrf_of, make_admin, sign_in, signed_in, unique_email
from wafa.db import unit_of_work
from wafa.tenants import admin_users, audit

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"https?://[^\s/]+(/admin/(?:invite|password/reset)/[A-Za-z0-9_-]+)")


def owner_of(browser: Browser, factory, tenant, clock) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    email = make_admin(factory, tenant.id, clock.now(), role="owner")
    console = signed_in(browser(), tenant.slug, email)
    console.get("/admin/people", params={"lang": "en"})
    return console, email


def post(console: TestClient, path: str, data: dict, page: str = "/admin/people"):  # type: ignore[no-untyped-def,type-arg]
    return console.post(path, data={**data, "csrf": csrf_of(console.get(page).text)}, follow_redirects=False)


def link_in(message: EmailMessage) -> str:
    found = LINK.search(message.get_content())
    assert found, message.get_content()
    return found.group(1)


def user(factory, tenant_id: int, email: str):  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return admin_users.get_by_email(session, tenant_id=tenant_id, email=email)


def actions(factory, tenant_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return [entry.action for entry in audit.list_(session, tenant_id=tenant_id, limit=200)]


def invite(console: TestClient, email: str, role: str = "marketer", language: str = "en"):  # type: ignore[no-untyped-def]
    return post(console, "/admin/people/invite", {"email": email, "role": role, "language": language})


def accept(browser: Browser, path: str, name: str = "Noura", password: str = NEW_PASSWORD, again: str | None = None):  # type: ignore[no-untyped-def]
    visitor = browser()
    page = visitor.get(path, params={"lang": "en"})
    if page.status_code != 200:
        return page
    return visitor.post(path, data={"csrf": csrf_of(page.text), "name": name, "password": password, "password_again": again or password},
                        follow_redirects=False)


# --- invitations ----------------------------------------------------------------------------------------


def test_an_invitation_lets_the_person_choose_a_name_and_password_and_sign_in(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    """The owner invites a marketer; the English mail names the program, the role and the organisation;
    the link asks for a name and password; then the person signs in as a marketer. All audited."""
    owner, _ = owner_of(browser, factory, tenant, clock)
    address = unique_email("noura")
    answer = invite(owner, address)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/people?done=invited"
    (mail,) = inbox.to(address)
    body = mail.get_content()
    assert mail["Subject"] == f"Join Tenant {tenant.slug} in the Wafa console" and mail["Content-Language"] == "en"
    assert "as Marketer" in body and tenant.slug in body and "within 7 days" in body
    assert user(factory, tenant.id, address).status == "invited"
    assert sign_in(browser(), tenant.slug, address, "x" * 12).status_code == 401
    joined = accept(browser, link_in(mail))
    assert joined.status_code == 303 and joined.headers["location"].startswith("/admin/login?done=joined")
    person = user(factory, tenant.id, address)
    assert (person.name, person.role, person.status) == ("Noura", "marketer", "active")
    assert person.password_hash.startswith("$argon2id$")
    assert sign_in(browser(), tenant.slug, address, NEW_PASSWORD).status_code == 303
    assert {"admin_user.invited", "admin_user.joined", "admin.signed_in"} <= set(actions(factory, tenant.id))


def test_an_invitation_mail_can_be_in_arabic(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    owner, _ = owner_of(browser, factory, tenant, clock)
    address = unique_email("omar")
    assert invite(owner, address, role="support", language="ar").status_code == 303
    (mail,) = inbox.to(address)
    body = mail.get_content()
    assert mail["Content-Language"] == "ar" and "انضم" in str(mail["Subject"])
    assert "بدور دعم" in body and "7 أيام" in body and link_in(mail).startswith("/admin/invite/")


def test_an_invitation_link_works_once(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    owner, _ = owner_of(browser, factory, tenant, clock)
    address = unique_email()
    invite(owner, address)
    path = link_in(inbox.to(address)[0])
    assert accept(browser, path).status_code == 303
    again = accept(browser, path, password="another password altogether")
    assert again.status_code == 410 and "expired or was already used" in again.text
    assert sign_in(browser(), tenant.slug, address, NEW_PASSWORD).status_code == 303


def test_an_invitation_expires_after_seven_days(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    owner, _ = owner_of(browser, factory, tenant, clock)
    address = unique_email()
    invite(owner, address)
    path = link_in(inbox.to(address)[0])
    clock.advance(timedelta(days=7, seconds=1))
    assert accept(browser, path).status_code == 410
    assert user(factory, tenant.id, address).status == "invited"


def test_a_wrong_invitation_token_is_refused(browser: Browser, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    for token in ("not-a-real-token", "x" * 43):
        answer = browser().get(f"/admin/invite/{token}", params={"lang": "en"})
        assert answer.status_code == 410 and "expired or was already used" in answer.text
    assert browser().post("/admin/invite/nope", data={"name": "x", "password": NEW_PASSWORD}).status_code == 403  # no CSRF token


def test_sending_an_invitation_again_retires_the_older_link(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    owner, _ = owner_of(browser, factory, tenant, clock)
    address = unique_email()
    invite(owner, address)
    person = user(factory, tenant.id, address)
    assert post(owner, f"/admin/people/{person.id}/resend", {"language": "en"}).status_code == 303
    first, second = (link_in(m) for m in inbox.to(address))
    assert accept(browser, first).status_code == 410
    assert accept(browser, second).status_code == 303


def test_a_form_problem_keeps_what_was_typed(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    """Passwords that differ, too short, or no name: the form says which field, and the link still works."""
    owner, _ = owner_of(browser, factory, tenant, clock)
    address = unique_email()
    invite(owner, address)
    path = link_in(inbox.to(address)[0])
    short = accept(browser, path, password="short")
    assert short.status_code == 422 and "Use at least 10 characters." in short.text and 'value="Noura"' in short.text
    differ = accept(browser, path, again="not the same one")
    assert differ.status_code == 422 and "The two passwords are not the same." in differ.text
    assert accept(browser, path).status_code == 303


def test_inviting_someone_already_in_the_team_is_refused_on_the_email_field(browser: Browser, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    owner, owner_email = owner_of(browser, factory, tenant, clock)
    answer = invite(owner, owner_email.upper())
    assert answer.status_code == 422 and "already belongs to someone" in answer.text and 'id="err-email"' in answer.text
    assert f'value="{owner_email.upper()}"' in answer.text
    bad = invite(owner, "not an address")
    assert bad.status_code == 422 and "Enter an e-mail address" in bad.text


def test_only_an_owner_invites_an_owner(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="admin"))
    admin.get("/admin/people", params={"lang": "en"})
    assert '<option value="owner"' not in admin.get("/admin/people").text
    address = unique_email()
    refused = invite(admin, address, role="owner")
    assert refused.status_code == 422 and "Only an owner can give or take the owner role" in refused.text
    assert user(factory, tenant.id, address) is None and inbox.to(address) == []


# --- password resets ------------------------------------------------------------------------------------


def ask_reset(visitor: TestClient, slug: str, email: str, lang: str = "en"):  # type: ignore[no-untyped-def]
    page = visitor.get("/admin/password/forgot", params={"lang": lang})
    return visitor.post("/admin/password/forgot", data={"csrf": csrf_of(page.text), "tenant": slug, "email": email})


def reset_with(browser: Browser, path: str, password: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    visitor = browser()
    page = visitor.get(path, params={"lang": "en"})
    if page.status_code != 200:
        return page
    return visitor.post(path, data={"csrf": csrf_of(page.text), "password": password, "password_again": password}, follow_redirects=False)


def same_page(html: str) -> str:
    return re.sub(r'name="csrf" value="[^"]+"', "", html)  # each browser has its own form token


def test_a_reset_answers_the_same_whether_or_not_the_address_has_an_account(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    known = make_admin(factory, tenant.id, clock.now())
    stranger = unique_email("nobody")
    answers = [ask_reset(browser(), tenant.slug, address) for address in (known, stranger)]
    assert [a.status_code for a in answers] == [200, 200]
    assert same_page(answers[0].text.replace(known, "@")) == same_page(answers[1].text.replace(stranger, "@"))
    assert len(inbox.to(known)) == 1 and inbox.to(stranger) == []
    assert ask_reset(browser(), "no-such-organisation", known).status_code == 200 and len(inbox.to(known)) == 1


def test_a_reset_sets_the_new_password_and_ends_every_session(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    email = make_admin(factory, tenant.id, clock.now())
    elsewhere = signed_in(browser(), tenant.slug, email)
    assert elsewhere.get("/admin", follow_redirects=False).status_code == 200
    ask_reset(browser(), tenant.slug, email)
    (mail,) = inbox.to(email)
    assert mail["Subject"] == "Reset your Wafa console password" and "within one hour" in mail.get_content()
    done = reset_with(browser, link_in(mail))
    assert done.status_code == 303 and done.headers["location"].startswith("/admin/login?done=reset")
    assert elsewhere.get("/admin", follow_redirects=False).status_code == 303  # signed out
    assert sign_in(browser(), tenant.slug, email, PASSWORD).status_code == 401
    assert sign_in(browser(), tenant.slug, email, NEW_PASSWORD).status_code == 303
    assert {"admin.password_reset_sent", "admin.password_reset"} <= set(actions(factory, tenant.id))


def test_a_reset_link_works_once(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    email = make_admin(factory, tenant.id, clock.now())
    ask_reset(browser(), tenant.slug, email)
    path = link_in(inbox.to(email)[0])
    assert reset_with(browser, path).status_code == 303
    assert reset_with(browser, path, password="someone else's choice").status_code == 410
    assert sign_in(browser(), tenant.slug, email, NEW_PASSWORD).status_code == 303


def test_changing_the_password_on_the_account_page_retires_a_reset_link_sent_before(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    email = make_admin(factory, tenant.id, clock.now())
    ask_reset(browser(), tenant.slug, email)
    path = link_in(inbox.to(email)[0])
    me = signed_in(browser(), tenant.slug, email)
    page = me.get("/admin/account", params={"lang": "en"})
    changed = me.post("/admin/account/password", data={"csrf": csrf_of(page.text), "current": PASSWORD, "password": NEW_PASSWORD,
                                                       "password_again": NEW_PASSWORD}, follow_redirects=False)
    assert changed.status_code == 303, changed.text
    # The link mailed before the change would otherwise still set another password for an hour.
    assert reset_with(browser, path, password="someone else's choice").status_code == 410
    assert sign_in(browser(), tenant.slug, email, NEW_PASSWORD).status_code == 303


def test_a_reset_link_expires_after_an_hour_and_a_newer_one_replaces_it(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    email = make_admin(factory, tenant.id, clock.now())
    ask_reset(browser(), tenant.slug, email)
    ask_reset(browser(), tenant.slug, email)
    older, newer = (link_in(m) for m in inbox.to(email))
    assert reset_with(browser, older).status_code == 410
    clock.advance(timedelta(hours=1, seconds=1))
    assert reset_with(browser, newer).status_code == 410
    assert sign_in(browser(), tenant.slug, email, PASSWORD).status_code == 303


def test_resets_are_limited_to_three_an_hour_per_address(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    email = make_admin(factory, tenant.id, clock.now())
    answers = [ask_reset(browser(), tenant.slug, email) for _ in range(4)]
    assert {a.status_code for a in answers} == {200} and len(inbox.to(email)) == 3
    clock.advance(timedelta(hours=1, seconds=1))
    ask_reset(browser(), tenant.slug, email)
    assert len(inbox.to(email)) == 4


def test_a_reset_mail_speaks_the_language_of_the_page(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    email = make_admin(factory, tenant.id, clock.now())
    answer = ask_reset(browser(), tenant.slug, email, lang="ar")
    assert 'lang="ar"' in answer.text and "سيصله رابط" in answer.text
    (mail,) = inbox.to(email)
    assert mail["Content-Language"] == "ar" and "كلمة مرور" in str(mail["Subject"]) and "خلال ساعة" in mail.get_content()


def test_a_deactivated_user_gets_no_reset_link(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    owner, _ = owner_of(browser, factory, tenant, clock)
    email = make_admin(factory, tenant.id, clock.now())
    ask_reset(browser(), tenant.slug, email)
    path = link_in(inbox.to(email)[0])
    assert post(owner, f"/admin/people/{user(factory, tenant.id, email).id}/status", {"action": "deactivate"}).status_code == 303
    assert reset_with(browser, path).status_code == 410
    ask_reset(browser(), tenant.slug, email)
    assert len(inbox.to(email)) == 1


# --- one's own password ---------------------------------------------------------------------------------


def test_changing_ones_own_password_ends_the_other_sessions_only(browser: Browser, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    email = make_admin(factory, tenant.id, clock.now(), role="viewer")
    here, elsewhere = signed_in(browser(), tenant.slug, email), signed_in(browser(), tenant.slug, email)
    here.get("/admin/account", params={"lang": "en"})
    wrong = post(here, "/admin/account/password", {"current": "not it at all", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
                 page="/admin/account")
    assert wrong.status_code == 422 and "This is not your current password." in wrong.text and NEW_PASSWORD not in wrong.text
    done = post(here, "/admin/account/password", {"current": PASSWORD, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
                page="/admin/account")
    assert done.status_code == 303 and done.headers["location"] == "/admin/account?done=password"
    assert here.get("/admin/account?done=password", follow_redirects=False).status_code == 200
    assert elsewhere.get("/admin", follow_redirects=False).status_code == 303
    assert sign_in(browser(), tenant.slug, email, NEW_PASSWORD).status_code == 303
    assert "admin.password_changed" in actions(factory, tenant.id)


# --- roles and status -----------------------------------------------------------------------------------


def test_the_people_page_lists_name_email_role_status_and_last_sign_in(browser: Browser, factory, tenant, clock, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    owner, owner_email = owner_of(browser, factory, tenant, clock)
    invite(owner, invited := unique_email("invited"), role="viewer")
    page = owner.get("/admin/people").text
    mine = re.search(rf'<tr id="person-\d+" data-email="{re.escape(owner_email)}">.*?</tr>', page, flags=re.DOTALL).group(0)  # type: ignore[union-attr]
    assert "Layla Admin" in mine and "Owner" in mine and "active" in mine and "3/1/26, 9:00" in mine
    theirs = re.search(rf'<tr id="person-\d+" data-email="{re.escape(invited)}">.*?</tr>', page, flags=re.DOTALL).group(0)  # type: ignore[union-attr]
    assert "invited" in theirs and "never" in theirs and "link valid until" in theirs


def test_the_last_owner_can_be_neither_demoted_nor_deactivated(browser: Browser, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    owner, owner_email = owner_of(browser, factory, tenant, clock)
    me = user(factory, tenant.id, owner_email)
    refused = post(owner, f"/admin/people/{me.id}/role", {"role": "admin"})
    assert refused.status_code == 422 and "This is the last owner" in refused.text
    assert user(factory, tenant.id, owner_email).role == "owner"
    second = make_admin(factory, tenant.id, clock.now(), role="owner")
    other = user(factory, tenant.id, second)
    assert post(owner, f"/admin/people/{me.id}/role", {"role": "admin"}).status_code == 303  # two owners: one may step down
    heir = signed_in(browser(), tenant.slug, second)
    heir.get("/admin/people", params={"lang": "en"})
    last = post(heir, f"/admin/people/{other.id}/role", {"role": "viewer"})
    assert last.status_code == 422 and "This is the last owner" in last.text
    myself = post(heir, f"/admin/people/{other.id}/status", {"action": "deactivate"})
    assert myself.status_code == 422 and "You cannot deactivate yourself." in myself.text
    assert user(factory, tenant.id, second).role == "owner"


def test_an_admin_cannot_change_or_deactivate_an_owner(browser: Browser, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    owner_email = make_admin(factory, tenant.id, clock.now(), role="owner")
    make_admin(factory, tenant.id, clock.now(), role="owner")
    target = user(factory, tenant.id, owner_email)
    admin = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="admin"))
    admin.get("/admin/people", params={"lang": "en"})
    assert f'action="/admin/people/{target.id}/role"' not in admin.get("/admin/people").text
    for action, data in (("role", {"role": "viewer"}), ("status", {"action": "deactivate"})):
        answer = post(admin, f"/admin/people/{target.id}/{action}", data)
        assert answer.status_code == 422 and "Only an owner can give or take the owner role" in answer.text
    assert (user(factory, tenant.id, owner_email).role, user(factory, tenant.id, owner_email).status) == ("owner", "active")


def test_deactivating_someone_ends_their_sessions_until_reactivated(browser: Browser, factory, tenant, clock) -> None:  # type: ignore[no-untyped-def]
    owner, _ = owner_of(browser, factory, tenant, clock)
    email = make_admin(factory, tenant.id, clock.now(), role="marketer")
    them = signed_in(browser(), tenant.slug, email)
    target = user(factory, tenant.id, email)
    assert post(owner, f"/admin/people/{target.id}/status", {"action": "deactivate"}).status_code == 303
    assert them.get("/admin", follow_redirects=False).status_code == 303
    assert sign_in(browser(), tenant.slug, email).status_code == 401
    assert post(owner, f"/admin/people/{target.id}/status", {"action": "reactivate"}).status_code == 303
    assert sign_in(browser(), tenant.slug, email).status_code == 303
    assert post(owner, f"/admin/people/{target.id}/role", {"role": "support"}).status_code == 303
    assert user(factory, tenant.id, email).role == "support"
    with unit_of_work(factory) as session:
        trail = {e.action: e for e in audit.list_(session, tenant_id=tenant.id, limit=100)}
    assert trail["admin_user.deactivated"].details == {"email": email, "sessions_ended": 1}
    assert trail["admin_user.role_changed"].details == {"email": email, "from": "marketer", "to": "support"}
    assert "admin_user.reactivated" in trail


@pytest.mark.parametrize("role", ["marketer", "support", "viewer"])
def test_only_owners_and_admins_manage_people(browser: Browser, factory, tenant, clock, role: str, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    console = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role=role))
    console.get("/admin/people", params={"lang": "en"})
    page = console.get("/admin/people").text
    assert "/admin/people/invite" not in page and "What each role can do" in page
    address = unique_email()
    answer = invite(console, address)
    assert answer.status_code == 403 and "Only owners and admins can manage people." in answer.text
    assert user(factory, tenant.id, address) is None and inbox.to(address) == []

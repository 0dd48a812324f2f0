"""Members' one-time sign-in codes, through the service on SQLite and PostgreSQL: six digits stored only
as a salted hash, ten minutes, one use, five tries, the latest code only, at most three per address per
quarter hour, and Arabic-Indic digits accepted."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, TenantCtx, factory_for, make_tenant
from tests.integration.test_concurrency import outcomes, race
from wafa.db import unit_of_work
from wafa.web import login_codes
from wafa.web.models import LoginCode

Factory = sessionmaker[Session]
EMAIL = "sara@example.com"


def issue(factory: Factory, tenant_id: int, now: datetime = START, email: str = EMAIL, member_id: int | None = 1) -> str:
    with unit_of_work(factory) as session:
        return login_codes.issue(session, tenant_id=tenant_id, email=email, member_id=member_id, signup=None, now=now)


def redeem(factory: Factory, tenant_id: int, code: str, now: datetime = START, email: str = EMAIL) -> LoginCode:
    """Use a code as the sign-in page does; a refused try is still committed (it counts)."""
    with unit_of_work(factory) as session:
        try:
            return login_codes.redeem(session, tenant_id=tenant_id, email=email, code=code, now=now)
        except login_codes.CodeRefused as refused:
            session.commit()
            raise refused


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_code_is_six_digits_stored_only_as_a_salted_hash(factory: Factory, tenant: TenantCtx) -> None:
    """The table never holds the code: two identical codes would not even share a hash."""
    code = issue(factory, tenant.id)
    assert len(code) == 6 and code.isdigit()
    with factory() as session:
        row = session.execute(select(LoginCode).where(LoginCode.tenant_id == tenant.id)).scalar_one()
    assert code not in (row.code_hash, row.salt) and len(row.code_hash) == 64
    assert (row.attempts, row.used_at, row.expires_at) == (0, None, START + timedelta(minutes=10))


def test_the_right_code_signs_in_once(factory: Factory, tenant: TenantCtx) -> None:
    """The code names its member and is marked used; a second use is refused."""
    code = issue(factory, tenant.id, member_id=77)
    used = redeem(factory, tenant.id, code)
    assert used.member_id == 77
    with pytest.raises(login_codes.CodeRefused):
        redeem(factory, tenant.id, code)


def test_a_code_lives_ten_minutes(factory: Factory, tenant: TenantCtx) -> None:
    """At 9:59 the code works; at 10:00 it is refused."""
    code = issue(factory, tenant.id)
    with pytest.raises(login_codes.CodeRefused):
        redeem(factory, tenant.id, code, now=START + timedelta(minutes=10))
    code = issue(factory, tenant.id, now=START + timedelta(minutes=10))
    assert redeem(factory, tenant.id, code, now=START + timedelta(minutes=19, seconds=59))


def test_five_wrong_tries_burn_the_code(factory: Factory, tenant: TenantCtx) -> None:
    """After the fifth wrong try the right code is refused too, as used up (no tries left to count)."""
    code = issue(factory, tenant.id)
    for _ in range(5):
        with pytest.raises(login_codes.CodeRefused) as refused:
            redeem(factory, tenant.id, other_than(code))
        assert "attempts_left" in refused.value.extra
    with pytest.raises(login_codes.CodeRefused) as refused:
        redeem(factory, tenant.id, code)
    assert "attempts_left" not in refused.value.extra
    with factory() as session:
        assert session.execute(select(LoginCode.attempts).where(LoginCode.tenant_id == tenant.id)).scalar_one() == 5


def test_each_wrong_try_says_how_many_are_left(factory: Factory, tenant: TenantCtx) -> None:
    """Wrong tries report 4, 3, 2, 1, then 0 tries left: the page warns before the code is burnt, not one try early."""
    code = issue(factory, tenant.id)
    left = []
    for _ in range(5):
        with pytest.raises(login_codes.CodeRefused) as refused:
            redeem(factory, tenant.id, other_than(code))
        left.append(refused.value.extra.get("attempts_left"))
    assert left == [4, 3, 2, 1, 0]


def test_four_wrong_tries_still_leave_the_right_one(factory: Factory, tenant: TenantCtx) -> None:
    """A typo or four does not lock the member out."""
    code = issue(factory, tenant.id)
    for _ in range(4):
        with pytest.raises(login_codes.CodeRefused):
            redeem(factory, tenant.id, other_than(code))
    assert redeem(factory, tenant.id, code)


def test_only_the_latest_code_works(factory: Factory, tenant: TenantCtx) -> None:
    """Asking again replaces the code: the earlier e-mail's code no longer signs in."""
    first = issue(factory, tenant.id)
    second = issue(factory, tenant.id, now=START + timedelta(minutes=1))
    if first == second:  # one chance in a million
        pytest.skip("the two random codes happen to be equal")
    with pytest.raises(login_codes.CodeRefused):
        redeem(factory, tenant.id, first, now=START + timedelta(minutes=2))
    assert redeem(factory, tenant.id, second, now=START + timedelta(minutes=2))


def test_arabic_indic_and_persian_digits_and_spaces_count_as_the_code(factory: Factory, tenant: TenantCtx) -> None:
    """١٢٣٤٥٦ and ۱۲۳۴۵۶ typed on Arabic and Persian keyboards, or "123 456", are the code 123456."""
    for typed in (str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"), str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"), None):
        code = issue(factory, tenant.id, email=f"{id(typed)}@example.com")
        sent = code.translate(typed) if typed else f" {code[:3]} {code[3:]} "
        assert redeem(factory, tenant.id, sent, email=f"{id(typed)}@example.com")


def test_no_code_for_an_address_is_refused(factory: Factory, tenant: TenantCtx) -> None:
    """An address that was sent nothing gets the same refusal as a used code."""
    with pytest.raises(login_codes.CodeRefused):
        redeem(factory, tenant.id, "123456", email="nobody@example.com")


def test_a_code_works_only_in_its_own_tenant(factory: Factory, tenant: TenantCtx) -> None:
    """The same address in another program cannot use this program's code."""
    other = make_tenant(factory, START)
    code = issue(factory, tenant.id)
    with pytest.raises(login_codes.CodeRefused):
        redeem(factory, other.id, code)
    assert redeem(factory, tenant.id, code)


def test_three_codes_per_address_per_quarter_hour(factory: Factory, tenant: TenantCtx) -> None:
    """The fourth code within 15 minutes is refused (429); another address, another tenant, or later is fine."""
    for minute in range(3):
        issue(factory, tenant.id, now=START + timedelta(minutes=minute))
    with pytest.raises(login_codes.TooManyCodes) as refused:
        issue(factory, tenant.id, now=START + timedelta(minutes=14))
    assert refused.value.status == 429
    assert issue(factory, tenant.id, email="omar@example.com", now=START + timedelta(minutes=14))
    assert issue(factory, make_tenant(factory, START).id, now=START + timedelta(minutes=14))
    with pytest.raises(login_codes.TooManyCodes):
        issue(factory, tenant.id, now=START + timedelta(minutes=14, seconds=59))
    assert issue(factory, tenant.id, now=START + timedelta(minutes=15))  # the first has left the window
    with pytest.raises(login_codes.TooManyCodes):
        issue(factory, tenant.id, now=START + timedelta(minutes=15))  # the second, third and this one are in it


def test_a_refused_fourth_code_leaves_the_third_usable(factory: Factory, tenant: TenantCtx) -> None:
    """Hitting the limit does not spoil the code already sent."""
    codes = [issue(factory, tenant.id, now=START + timedelta(seconds=s)) for s in range(3)]
    with pytest.raises(login_codes.TooManyCodes):
        issue(factory, tenant.id, now=START + timedelta(seconds=3))
    assert redeem(factory, tenant.id, codes[-1], now=START + timedelta(seconds=4))


def test_a_sign_up_code_carries_the_form_and_no_member(factory: Factory, tenant: TenantCtx) -> None:
    """A join form's code has no member yet and keeps what the form said, for enrolment when it is used."""
    with unit_of_work(factory) as session:
        code = login_codes.issue(session, tenant_id=tenant.id, email=EMAIL, member_id=None, signup='{"name": "Noura", "ref": "AB12"}', now=START)
    used = redeem(factory, tenant.id, code)
    assert used.member_id is None and used.signup == '{"name": "Noura", "ref": "AB12"}'


# --- races (PostgreSQL, real threads and connections) -------------------------------------------------


@pytest.mark.postgres_only
def test_a_code_typed_in_twenty_browsers_at_once_signs_in_once(pg_url: str) -> None:
    """Single use holds under concurrency: one redemption wins, the others are refused."""
    factory = factory_for(pg_url)
    tenant = make_tenant(factory, START)
    code = issue(factory, tenant.id)
    results = race(20, lambda _: redeem(factory, tenant.id, code))
    assert outcomes(results) == Counter({"ok": 1, "CodeRefused": 19})


@pytest.mark.postgres_only
def test_wrong_guesses_at_once_still_stop_at_five(pg_url: str) -> None:
    """Twenty simultaneous wrong guesses count at most five tries, and the code is burnt."""
    factory = factory_for(pg_url)
    tenant = make_tenant(factory, START)
    code = issue(factory, tenant.id)
    results = race(20, lambda _: redeem(factory, tenant.id, other_than(code)))
    assert outcomes(results) == Counter({"CodeRefused": 20})
    with factory() as session:
        assert session.execute(select(LoginCode.attempts).where(LoginCode.tenant_id == tenant.id)).scalar_one() == 5
    with pytest.raises(login_codes.CodeRefused):
        redeem(factory, tenant.id, code)


@pytest.mark.postgres_only
def test_codes_asked_for_at_once_still_stop_at_three(pg_url: str) -> None:
    """Twenty simultaneous asks for one address (a mail bomb) send at most three codes."""
    factory = factory_for(pg_url)
    tenant = make_tenant(factory, START)
    results = race(20, lambda _: issue(factory, tenant.id))
    assert outcomes(results) == Counter({"ok": 3, "TooManyCodes": 17})

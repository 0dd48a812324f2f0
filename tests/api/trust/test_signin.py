"""Signing in under attack. 80 clients posting unknown e-mails to /admin/login each cost an argon2
hash of 64 MiB, unthrottled, until the API's latency went from 3 ms to 134 ms and each worker grew to
1.4 GB; 4 wrong tries on each of many accounts passed; 30 addresses from one client all got sign-in
codes. Now attempts are counted per address and per organisation before anything is hashed, at most
WAFA_PASSWORD_HASH_SLOTS hashes run at once per process, failures lock the address out, and members'
codes, joins and program slugs are counted per address too. (bench/abuse.py measures the flood.)"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.web.conftest import PASSWORD, csrf_of, make_admin, sign_in
from tests.conftest import TenantCtx, make_member
from wafa.clock import FrozenClock
from wafa.trust import hashing
from wafa.web.models import LoginCode


def attempts(client: TestClient, slug: str, emails: list[str], password: str = "not the password") -> list[int]:  # noqa: S107
    return [sign_in(client, slug, email, password).status_code for email in emails]


def test_a_sign_in_flood_is_refused_before_any_password_is_hashed(limited: Callable[..., TestClient], tenant: TenantCtx) -> None:
    client = limited(signin_failures_per_ip="100/minute")
    before = hashing.SLOTS.computed
    answers = [sign_in(client, tenant.slug, f"nobody{n}@example.com") for n in range(20)]
    # signin_per_ip 8/minute: eight wrong e-mails cost a hash each (as long as a wrong password would),
    # the other twelve a lookup in the counts.
    assert [a.status_code for a in answers] == [401] * 8 + [429] * 12
    assert hashing.SLOTS.computed - before == 8
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "محاولات دخول كثيرة" in refused.text  # the console's default language


def test_an_organisation_tried_from_many_addresses_is_throttled_too(limited: Callable[..., TestClient], tenant: TenantCtx) -> None:
    first = limited(shared=True)
    statuses = []
    for n in range(14):  # 14 addresses, 1 try each: under every address's limit, over the organisation's 12/minute
        client = limited(app=first.app, ip=f"198.51.100.{n + 1}")
        statuses.append(sign_in(client, tenant.slug, f"x{n}@example.com").status_code)
    assert statuses == [401] * 12 + [429] * 2
    # Another organisation is not held up.
    assert sign_in(limited(app=first.app, ip="198.51.100.99"), "another-org", "y@example.com").status_code == 401


def test_an_address_that_fails_on_many_accounts_is_locked_out(limited: Callable[..., TestClient], factory: sessionmaker[Session],
                                                              tenant: TenantCtx, clock: FrozenClock) -> None:
    admins = [make_admin(factory, tenant.id, clock.now()) for _ in range(4)]
    attacker = limited(shared=True, ip="192.0.2.66")
    # Two wrong tries on each of three accounts: no account reaches its own lock (five), the address
    # reaches its limit of six failures.
    assert attempts(attacker, tenant.slug, admins[:3] * 2) == [401] * 6
    locked = sign_in(attacker, tenant.slug, admins[3])  # the right password, another account
    assert locked.status_code == 429 and "set-cookie" not in {k.lower() for k in locked.headers if "wafa_admin" in locked.headers[k]}
    # The account itself is not locked: its owner signs in from their own address.
    assert sign_in(limited(app=attacker.app, ip="192.0.2.10"), tenant.slug, admins[3]).status_code == 303


def test_hashes_run_a_few_at_a_time_while_the_api_keeps_answering(limited: Callable[..., TestClient], factory: sessionmaker[Session],
                                                                  tenant: TenantCtx, clock: FrozenClock) -> None:
    """A flood the throttles let through (limits set high) still hashes at most WAFA_PASSWORD_HASH_SLOTS
    passwords at once, and the API answers every request meanwhile."""
    member_id = make_member(factory, tenant.id, clock.now())
    first = limited(signin_per_ip="1000/minute", signin_per_org="1000/minute", signin_failures_per_ip="1000/minute",
                    rate_reads="1000/minute")
    hashing.SLOTS.most_at_once = 0
    statuses: list[int] = []

    def flood(n: int) -> None:
        client = limited(app=first.app, ip=f"203.0.113.{n}")
        statuses.extend(attempts(client, tenant.slug, [f"flood{n}-{i}@example.com" for i in range(4)]))

    api = limited(app=first.app, key=tenant.admin_key)
    threads = [threading.Thread(target=flood, args=(n,)) for n in range(1, 13)]
    for thread in threads:
        thread.start()
    reads = [api.get(f"/v1/members/{member_id}/balance").status_code for _ in range(20)]
    for thread in threads:
        thread.join()
    assert reads == [200] * 20
    assert sorted(set(statuses)) in ([401], [401, 503])  # 503: a sign-in that waited too long for a slot
    assert hashing.SLOTS.most_at_once == 1  # WAFA_PASSWORD_HASH_SLOTS


def _ask_code(client: TestClient, slug: str, email: str) -> int:
    page = client.get(f"/m/{slug}/login")
    assert page.status_code == 200, page.text
    return client.post(f"/m/{slug}/login", data={"email": email, "csrf": csrf_of(page.text)}, follow_redirects=False).status_code


def test_one_client_asking_codes_for_many_addresses_is_refused(limited: Callable[..., TestClient], factory: sessionmaker[Session],
                                                               tenant: TenantCtx) -> None:
    client = limited()
    statuses = [_ask_code(client, tenant.slug, f"guess{n}@example.com") for n in range(30)]
    assert statuses == [303] * 4 + [429] * 26  # member_codes_per_ip 4 per 15 minutes
    with factory() as session:
        issued = session.execute(select(func.count()).select_from(LoginCode).where(LoginCode.tenant_id == tenant.id)).scalar_one()
    assert issued == 4


def test_joining_counts_against_the_same_limit(limited: Callable[..., TestClient], tenant: TenantCtx) -> None:
    client = limited()
    statuses = []
    for n in range(6):
        page = client.get(f"/m/{tenant.slug}/join")
        statuses.append(client.post(f"/m/{tenant.slug}/join", data={"name": "Sara", "email": f"sara{n}@example.com", "csrf": csrf_of(page.text)},
                                    follow_redirects=False).status_code)
    assert statuses == [303] * 4 + [429] * 2


def test_wrong_codes_from_one_address_lock_it_out(limited: Callable[..., TestClient], factory: sessionmaker[Session], tenant: TenantCtx,
                                                  clock: FrozenClock) -> None:
    client = limited(member_codes_per_ip="100/minute")
    emails = [f"m{n}@example.com" for n in range(3)]
    for email in emails:
        make_member(factory, tenant.id, clock.now(), email=email)
        assert _ask_code(client, tenant.slug, email) == 303
    statuses = []
    for email in emails * 3:  # three wrong codes per address: under each code's five tries
        page = client.get(f"/m/{tenant.slug}/verify?email={email}")
        statuses.append(client.post(f"/m/{tenant.slug}/verify", data={"email": email, "code": "000000", "csrf": csrf_of(page.text)},
                                    follow_redirects=False).status_code)
    assert statuses == [401] * 6 + [429] * 3  # signin_failures_per_ip 6 per 15 minutes


def test_guessing_program_slugs_stops_after_a_few(limited: Callable[..., TestClient], tenant: TenantCtx) -> None:
    client = limited()
    assert [client.get(f"/m/no-such-program-{n}/login").status_code for n in range(5)] == [404] * 5
    # Past five misses the address learns nothing more: a program that exists answers the same 429.
    assert client.get("/m/no-such-program-6/login").status_code == 429
    refused = client.get(f"/m/{tenant.slug}/login")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert limited(app=client.app, ip="192.0.2.200").get(f"/m/{tenant.slug}/login").status_code == 200


@pytest.mark.parametrize("path", ["/admin/login"])
def test_the_sign_in_page_itself_is_not_throttled(limited: Callable[..., TestClient], path: str) -> None:
    client = limited()
    assert [client.get(path).status_code for _ in range(30)] == [200] * 30


def test_a_right_password_signs_in_under_the_limits(limited: Callable[..., TestClient], factory: sessionmaker[Session], tenant: TenantCtx,
                                                    clock: FrozenClock) -> None:
    admin = make_admin(factory, tenant.id, clock.now())
    assert sign_in(limited(), tenant.slug, admin, PASSWORD).status_code == 303

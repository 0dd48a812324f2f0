"""Browser sessions through the service on SQLite and PostgreSQL: a random token whose hash alone is
stored, of one kind and tenant, an idle expiry that slides with use, sign-out one or everywhere, and a
CSRF token per session."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import START, TenantCtx, make_tenant
from wafa.db import unit_of_work
from wafa.web import sessions
from wafa.web.models import WebSession

Factory = sessionmaker[Session]
HOUR = timedelta(hours=1)


def start(factory: Factory, tenant_id: int, kind: str = "admin", subject_id: int = 1, now=START) -> tuple[str, WebSession]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return sessions.start(session, kind=kind, tenant_id=tenant_id, subject_id=subject_id, now=now)


def find(factory: Factory, token: str | None, kind: str = "admin", now=START, tenant_id: int | None = None) -> WebSession | None:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return sessions.find(session, token=token, kind=kind, now=now, tenant_id=tenant_id)


def test_the_database_holds_only_the_tokens_hash(factory: Factory, tenant: TenantCtx) -> None:
    """A copy of the table signs nobody in: the token is in no column."""
    token, row = start(factory, tenant.id)
    with factory() as session:
        stored = session.execute(select(WebSession).where(WebSession.id == row.id)).scalar_one()
    assert len(token) >= 40
    assert token not in (stored.token_hash, stored.csrf_token) and len(stored.token_hash) == 64
    assert find(factory, stored.token_hash) is None


def test_each_session_has_its_own_token_and_csrf_token(factory: Factory, tenant: TenantCtx) -> None:
    """Two sign-ins of the same person never share a cookie or a CSRF token."""
    (a, row_a), (b, row_b) = start(factory, tenant.id), start(factory, tenant.id)
    assert a != b and row_a.csrf_token != row_b.csrf_token
    assert find(factory, a).id == row_a.id and find(factory, b).id == row_b.id  # type: ignore[union-attr]


def test_a_token_opens_only_its_kind_and_tenant(factory: Factory, tenant: TenantCtx) -> None:
    """An admin token is no member token, and a member token of tenant A is nothing in tenant B."""
    admin, _ = start(factory, tenant.id, "admin")
    member, _ = start(factory, tenant.id, "member")
    other = make_tenant(factory, START)
    assert find(factory, admin, "member") is None and find(factory, member, "admin") is None
    assert find(factory, member, "member", tenant_id=tenant.id) is not None
    assert find(factory, member, "member", tenant_id=other.id) is None


def test_missing_or_malformed_tokens_find_nothing(factory: Factory, tenant: TenantCtx) -> None:
    """No cookie, an empty one, a made-up one or an absurdly long one: no session, no error."""
    for token in (None, "", "made-up", "x" * 129, "é" * 20, "' OR 1=1 --"):
        assert find(factory, token) is None


def test_admin_sessions_end_after_twelve_idle_hours(factory: Factory, tenant: TenantCtx) -> None:
    """An admin who leaves the console for 12 hours must sign in again."""
    token, _ = start(factory, tenant.id, "admin")
    assert find(factory, token, now=START + 12 * HOUR - timedelta(seconds=1)) is not None
    token, _ = start(factory, tenant.id, "admin")
    assert find(factory, token, now=START + 12 * HOUR) is None


def test_member_sessions_last_thirty_idle_days(factory: Factory, tenant: TenantCtx) -> None:
    """A member's phone stays signed in for 30 days without a visit, not a second more."""
    token, row = start(factory, tenant.id, "member")
    assert row.expires_at == START + timedelta(days=30)
    assert find(factory, token, "member", now=START + timedelta(days=30)) is None


def test_use_slides_the_idle_expiry(factory: Factory, tenant: TenantCtx) -> None:
    """Each visit (at most one write per 5 minutes) pushes the end 12 hours past it."""
    token, _ = start(factory, tenant.id, "admin")
    assert find(factory, token, now=START + 11 * HOUR) is not None
    assert find(factory, token, now=START + 22 * HOUR) is not None
    with factory() as session:
        row = session.execute(select(WebSession).where(WebSession.token_hash == sessions._hash(token))).scalar_one()
    assert (row.last_seen_at, row.expires_at) == (START + 22 * HOUR, START + 34 * HOUR)
    assert find(factory, token, now=START + 34 * HOUR) is None


def test_visits_within_five_minutes_write_nothing(factory: Factory, tenant: TenantCtx) -> None:
    """last_seen_at moves only when five minutes have passed, so every page is not a write."""
    token, _ = start(factory, tenant.id, "admin")
    find(factory, token, now=START + timedelta(minutes=4, seconds=59))
    with factory() as session:
        row = session.execute(select(WebSession).where(WebSession.token_hash == sessions._hash(token))).scalar_one()
    assert (row.last_seen_at, row.expires_at) == (START, START + 12 * HOUR)
    find(factory, token, now=START + timedelta(minutes=5))
    with factory() as session:
        row = session.execute(select(WebSession).where(WebSession.token_hash == sessions._hash(token))).scalar_one()
    assert row.last_seen_at == START + timedelta(minutes=5)


def test_sign_out_ends_that_session_only(factory: Factory, tenant: TenantCtx) -> None:
    """Ending one token leaves the person's other browsers signed in; ending nothing is harmless."""
    phone, _ = start(factory, tenant.id)
    laptop, _ = start(factory, tenant.id)
    with unit_of_work(factory) as session:
        sessions.end(session, token=phone)
        sessions.end(session, token=None)
        sessions.end(session, token="never-issued")
    assert find(factory, phone) is None and find(factory, laptop) is not None


def test_ending_everywhere_ends_one_persons_sessions_of_one_kind(factory: Factory, tenant: TenantCtx) -> None:
    """A suspended member is signed out on every device; other members, admins and tenants are untouched."""
    phone, _ = start(factory, tenant.id, "member", subject_id=5)
    tablet, _ = start(factory, tenant.id, "member", subject_id=5)
    neighbour, _ = start(factory, tenant.id, "member", subject_id=6)
    admin_five, _ = start(factory, tenant.id, "admin", subject_id=5)
    other = make_tenant(factory, START)
    elsewhere, _ = start(factory, other.id, "member", subject_id=5)
    with unit_of_work(factory) as session:
        assert sessions.end_all(session, kind="member", tenant_id=tenant.id, subject_id=5) == 2
    assert find(factory, phone, "member") is None and find(factory, tablet, "member") is None
    assert find(factory, neighbour, "member") is not None
    assert find(factory, admin_five, "admin") is not None
    assert find(factory, elsewhere, "member") is not None


def test_purging_removes_only_expired_sessions(factory: Factory, tenant: TenantCtx) -> None:
    """The clean-up drops sessions past their expiry and keeps live ones."""
    _, old_row = start(factory, tenant.id, "admin", now=START - 13 * HOUR)
    live, _ = start(factory, tenant.id, "admin")
    with unit_of_work(factory) as session:
        assert sessions.purge_expired(session, now=START) >= 1
    with factory() as session:
        assert session.get(WebSession, old_row.id) is None
    assert find(factory, live) is not None


def test_token_comparison_needs_two_equal_non_empty_tokens() -> None:
    """CSRF checks: a missing token on either side never matches, not even another missing one."""
    assert sessions.same("abc", "abc")
    assert not sessions.same("abc", "abd")
    assert not sessions.same(None, None) and not sessions.same("", "") and not sessions.same("abc", None) and not sessions.same(None, "abc")

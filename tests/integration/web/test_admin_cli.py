"""`wafa admin create-user`: the first console user of a tenant comes from the command line. The user
can sign in at /admin; mistakes end with one line on stderr and exit code 1, never a traceback."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.conftest import START, TenantCtx, make_tenant
from wafa.cli.main import app
from wafa.config import get_settings
from wafa.tenants import admin_users, audit

runner = CliRunner()
PASSWORD = "a long enough secret"


@pytest.fixture
def wafa(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[type-arg]
    """Run `wafa ...` against the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("WAFA_DATABASE_URL", db_url)
    monkeypatch.delenv("WAFA_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("WAFA_TENANT", raising=False)
    get_settings.cache_clear()

    def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args), input=input)
        return result.exit_code, result.stdout, result.stderr

    yield run
    get_settings.cache_clear()


def email() -> str:
    return f"layla-{uuid.uuid4().hex[:8]}@example.com"


def one_line_error(code: int, out: str, err: str) -> str:
    assert code == 1 and out == ""
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def console_sign_in(client: TestClient, slug: str, address: str, password: str) -> int:
    with TestClient(client.app, raise_server_exceptions=False) as browser:
        page = browser.get("/admin/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        answer = browser.post("/admin/login", data={"tenant": slug, "email": address, "password": password, "csrf": csrf},
                              follow_redirects=False)
        return answer.status_code


def test_create_user_makes_an_admin_who_can_sign_in(wafa, client: TestClient, factory: sessionmaker[Session], tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    """The new user signs in to the console with that password; JSON on stdout names them; the audit trail
    records it. A tenant's first user is its owner (someone must be able to grant that role)."""
    address = email()
    code, out, _ = wafa("admin", "create-user", address.upper(), "--tenant", tenant.slug, "--name", "Layla", "--password", PASSWORD, "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["email"], data["name"], data["role"]) == (address, "Layla", "owner") and data["id"]
    assert console_sign_in(client, tenant.slug, address, PASSWORD) == 303
    assert console_sign_in(client, tenant.slug, address, PASSWORD + "x") == 401
    with factory() as session:
        (entry,) = audit.list_(session, tenant_id=tenant.id, action="admin_user.created")
        assert entry.actor == "cli" and entry.details == {"email": address, "role": "owner"}
        (user,) = admin_users.list_(session, tenant_id=tenant.id)
        assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")


def test_create_user_asks_for_the_password_twice_when_not_given(wafa, factory: sessionmaker[Session], tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    """Without --password the command prompts (hidden, with confirmation); a viewer role is kept."""
    address = email()
    code, out, err = wafa("admin", "create-user", address, "--tenant", tenant.slug, "--name", "Omar", "--role", "viewer",
                          input=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0, err
    assert PASSWORD not in out + err
    assert f"admin user {address} (viewer) can now sign in at /admin" in err
    with factory() as session:
        user = admin_users.authenticate(session, tenant_id=tenant.id, email=address, password=PASSWORD, now=START)
        assert user.role == "viewer"


def test_create_user_takes_the_password_from_the_environment(  # type: ignore[no-untyped-def]
    wafa, monkeypatch: pytest.MonkeyPatch, factory: sessionmaker[Session], tenant: TenantCtx
) -> None:
    """WAFA_ADMIN_PASSWORD serves scripts: no prompt, no password on the command line."""
    monkeypatch.setenv("WAFA_ADMIN_PASSWORD", PASSWORD)
    address = email()
    assert wafa("admin", "create-user", address, "--tenant", tenant.slug, "--name", "Sara")[0] == 0
    with factory() as session:
        assert admin_users.authenticate(session, tenant_id=tenant.id, email=address, password=PASSWORD, now=START).email == address


def test_a_short_password_exits_1_with_one_line(wafa, factory: sessionmaker[Session], tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    """Nine characters are refused; no user is created."""
    err = one_line_error(*wafa("admin", "create-user", email(), "--tenant", tenant.slug, "--name", "L", "--password", "123456789"))
    assert "10 characters" in err
    with factory() as session:
        assert admin_users.list_(session, tenant_id=tenant.id) == []


@pytest.mark.parametrize("address", [
    "not-an-email",
    "",
    "layla@",
    "@example.com",
])
def test_a_bad_email_exits_1_with_one_line(wafa, factory: sessionmaker[Session], tenant: TenantCtx, address: str) -> None:  # type: ignore[no-untyped-def]
    """An address that is no e-mail is refused, naming it; no user is created."""
    err = one_line_error(*wafa("admin", "create-user", address, "--tenant", tenant.slug, "--name", "L", "--password", PASSWORD))
    assert "e-mail" in err
    with factory() as session:
        assert admin_users.list_(session, tenant_id=tenant.id) == []


def test_an_unknown_tenant_exits_1_with_one_line(wafa) -> None:  # type: ignore[no-untyped-def]
    """A slug no tenant has is named in the error."""
    err = one_line_error(*wafa("admin", "create-user", email(), "--tenant", "no-such-shop", "--name", "L", "--password", PASSWORD))
    assert "no-such-shop" in err


def test_an_unknown_role_exits_1_with_one_line(wafa, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    """Only the five roles exist."""
    err = one_line_error(
        *wafa("admin", "create-user", email(), "--tenant", tenant.slug, "--name", "L", "--role", "superuser", "--password", PASSWORD)
    )
    assert "owner, admin, marketer, support, viewer" in err


def test_the_first_user_is_the_owner_and_later_ones_admins_unless_told(wafa, tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    """Without --role: owner for a tenant without an owner, admin after; --role names any of the five;
    list-users shows them."""
    first, second, third = email(), email(), email()
    for address, role in ((first, None), (second, None), (third, "marketer")):
        extra = ("--role", role) if role else ()
        assert wafa("admin", "create-user", address, "--tenant", tenant.slug, "--name", "N", "--password", PASSWORD, *extra)[0] == 0
    code, out, _ = wafa("admin", "list-users", "--tenant", tenant.slug, "--json")
    assert code == 0
    assert [(row["email"], row["role"], row["status"]) for row in json.loads(out)] == [
        (first, "owner", "active"), (second, "admin", "active"), (third, "marketer", "active"),
    ]


def test_a_duplicate_email_exits_1_and_keeps_the_first_user(wafa, factory: sessionmaker[Session], tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    """The same address twice in a tenant (in any case) is refused; the first password still signs in."""
    address = email()
    assert wafa("admin", "create-user", address, "--tenant", tenant.slug, "--name", "L", "--password", PASSWORD)[0] == 0
    err = one_line_error(*wafa("admin", "create-user", address.upper(), "--tenant", tenant.slug, "--name", "M", "--password", "another secret pass"))
    assert "already" in err
    with factory() as session:
        assert len(admin_users.list_(session, tenant_id=tenant.id)) == 1
        assert admin_users.authenticate(session, tenant_id=tenant.id, email=address, password=PASSWORD, now=START)


def test_the_same_email_may_be_an_admin_of_two_tenants(wafa, factory: sessionmaker[Session], tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    """Addresses are unique per tenant, not across them."""
    other = make_tenant(factory, START)
    address = email()
    for slug in (tenant.slug, other.slug):
        assert wafa("admin", "create-user", address, "--tenant", slug, "--name", "L", "--password", PASSWORD)[0] == 0


def test_list_users_shows_the_tenants_users_only(wafa, factory: sessionmaker[Session], tenant: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    """`wafa admin list-users --json` lists this tenant's users with role and status, never a password hash."""
    other = make_tenant(factory, START)
    mine, theirs = email(), email()
    wafa("admin", "create-user", mine, "--tenant", tenant.slug, "--name", "Mine", "--role", "viewer", "--password", PASSWORD)
    wafa("admin", "create-user", theirs, "--tenant", other.slug, "--name", "Theirs", "--password", PASSWORD)
    code, out, _ = wafa("admin", "list-users", "--tenant", tenant.slug, "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["email"], r["role"], r["status"]) for r in rows] == [(mine, "viewer", "active")]
    assert "argon2" not in out

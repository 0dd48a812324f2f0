"""The `wafa` command on a database of its own: what an operator sees on day one.

Each test gets its own database (a SQLite file, or a PostgreSQL database created for it), so a test
may tamper with rows without tidying up. Those marked `empty_database` start with no schema at all,
and the CLI migrates it itself; the others start where the first command leaves a new database
(a copy of one migrated once per run, which saves running every migration for each test). Keys are
checked where they matter, over the HTTP API. (tests/integration/test_cli.py covers the same
commands on the shared test databases.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from tests.conftest import PG_ENV, copy_sqlite, drop_postgres_database, migrated_postgres, migrated_sqlite, new_postgres_database
from wafa import db
from wafa.api.app import create_app
from wafa.cli.main import app
from wafa.config import get_settings
from wafa.db import session_factory, unit_of_work
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.members.schemas import MemberCreate
from wafa.tenants import service as tenants

Wafa = Callable[..., tuple[int, str, str]]
runner = CliRunner()
empty_database = pytest.mark.empty_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The URL of a database of its own: with no schema for a test marked `empty_database`, else migrated."""
    empty = request.node.get_closest_marker("empty_database") is not None
    if request.param == "sqlite":
        if not empty:
            copy_sqlite(migrated_sqlite(tmp_path_factory), tmp_path / "wafa.db")
        yield f"sqlite:///{tmp_path / 'wafa.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    url = new_postgres_database(base, "wafa_cli", template=None if empty else migrated_postgres(tmp_path_factory))
    try:
        yield url
    finally:
        drop_postgres_database(url)


def _forget_cached_database() -> None:
    get_settings.cache_clear()
    db._factory.cache_clear()


def _cli(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wafa]:
    monkeypatch.setenv("WAFA_DATABASE_URL", url)
    monkeypatch.delenv("WAFA_TENANT", raising=False)
    monkeypatch.delenv("WAFA_DEBUG", raising=False)
    _forget_cached_database()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    yield run
    session_factory(url).kw["bind"].dispose()
    _forget_cached_database()


@pytest.fixture
def wafa(empty_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wafa]:
    """Run `wafa ...` in this process against the test's database; returns (exit code, stdout, stderr)."""
    yield from _cli(empty_db, monkeypatch)


@pytest.fixture
def on_demo(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wafa]:
    """Run `wafa ...` against a copy of the demo program (tenant `demo`; tests/conftest.py seeds it once per run)."""
    yield from _cli(demo_url, monkeypatch)


def one_line_failure(code: int, out: str, err: str, expected_code: int = 1) -> str:
    """Assert the CLI convention for an expected failure; return the reason."""
    assert code == expected_code, (code, out, err)
    assert out == ""  # nothing on stdout, not even with --json
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def only_json(out: str):  # type: ignore[no-untyped-def]
    """stdout holds exactly one JSON document on one line."""
    assert out.endswith("\n") and out.count("\n") == 1, out
    return json.loads(out)


@pytest.fixture
def api(empty_db: str, wafa: Wafa) -> Iterator[TestClient]:
    """An HTTP client on the app serving the same database (no key set)."""
    with TestClient(create_app(factory=session_factory(empty_db)), raise_server_exceptions=False) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@empty_database
def test_tenant_create_on_an_empty_database_prints_only_json_with_a_key_that_works(wafa: Wafa, api: TestClient) -> None:
    code, out, _ = wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR", "--json")
    assert code == 0
    created = only_json(out)
    assert created["tenant"]["slug"] == "al-noor-stores" and created["tenant"]["name"] == "Al Noor Stores"
    assert created["scopes"] == ["admin"] and created["api_key"].startswith("wafa_")
    program = api.get("/v1/program", headers=bearer(created["api_key"]))
    assert program.status_code == 200 and program.json()["base_currency"] == "SAR"
    assert api.get("/v1/program", headers=bearer(created["api_key"] + "x")).status_code == 401


def test_tenant_create_human_output_shows_the_key_once(wafa: Wafa, api: TestClient) -> None:
    code, out, _ = wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR")
    assert code == 0 and "al-noor-stores" in out
    key = out.split()[-1]
    assert api.get("/v1/program", headers=bearer(key)).status_code == 200


def test_arabic_names_are_kept_and_need_a_latin_slug_only_for_the_url(wafa: Wafa) -> None:
    code, out, _ = wafa("tenant", "create", "أسواق النور", "--currency", "SAR", "--slug", "aswaq-alnoor", "--json")
    assert code == 0 and only_json(out)["tenant"]["name"] == "أسواق النور"
    listed = only_json(wafa("tenant", "list", "--json")[1])
    assert [(t["slug"], t["name"], t["status"]) for t in listed] == [("aswaq-alnoor", "أسواق النور", "active")]


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_duplicate_slug_exits_1_with_one_line_and_no_traceback(wafa: Wafa, as_json: list[str]) -> None:
    assert wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR")[0] == 0
    reason = one_line_failure(*wafa("tenant", "create", "Al Noor Stores", "--currency", "JOD", *as_json))
    assert "al-noor-stores" in reason and "exists" in reason
    assert len(only_json(wafa("tenant", "list", "--json")[1])) == 1


@pytest.mark.parametrize("currency", ["ZZZ", "XAU", "riyal", "SR"])
def test_unknown_currency_exits_1_and_creates_nothing(wafa: Wafa, currency: str) -> None:
    reason = one_line_failure(*wafa("tenant", "create", "Al Noor Stores", "--currency", currency, "--json"))
    assert currency.upper() in reason.upper()
    assert only_json(wafa("tenant", "list", "--json")[1]) == []


def test_bad_slug_exits_1(wafa: Wafa) -> None:
    reason = one_line_failure(*wafa("tenant", "create", "Shop", "--currency", "SAR", "--slug", "Not A Slug"))
    assert "slug" in reason


def test_program_set_prints_only_json_and_keeps_it(wafa: Wafa) -> None:
    wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR")
    code, out, _ = wafa(
        "program", "set", "--tenant", "al-noor-stores", "--earn-rate", "SAR=1", "--earn-rate", "JOD=10",
        "--expiry", "end_of_month:12", "--pending-days", "14", "--json",
    )
    assert code == 0
    program = only_json(out)
    assert program["earn_rates"] == {"SAR": "1", "JOD": "10"}
    assert program["expiry"] == {"policy": "end_of_month", "periods": 12} and program["pending_days"] == 14
    assert only_json(wafa("program", "show", "--tenant", "al-noor-stores", "--json")[1]) == program


@pytest.mark.parametrize(
    "args",
    [
        ["--expiry", "days"], ["--expiry", "end_of_month:x"], ["--expiry", "weekly:3"], ["--expiry", "days:-1"],
        ["--expiry", ""], ["--earn-rate", "SAR"], ["--earn-rate", "SAR=lots"], ["--earn-rate", "XAU=1"],
        ["--rounding", "bankers"], ["--pending-days", "-1"], ["--pending-days", "many"], ["--timezone", "Mars/Olympus"],
    ],
)
def test_program_set_bad_usage_exits_2_and_changes_nothing(wafa: Wafa, args: list[str]) -> None:
    wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR")
    before = wafa("program", "show", "--tenant", "al-noor-stores", "--json")[1]
    code, out, err = wafa("program", "set", "--tenant", "al-noor-stores", *args, "--json")
    assert code == 2 and out == "" and "Traceback" not in err
    assert wafa("program", "show", "--tenant", "al-noor-stores", "--json")[1] == before


def test_apikey_create_list_revoke_as_the_api_sees_it(wafa: Wafa, api: TestClient) -> None:
    wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR")
    code, out, _ = wafa("apikey", "create", "--tenant", "al-noor-stores", "--name", "till 3, Riyadh", "--scopes", "read", "--json")
    assert code == 0
    till = only_json(out)
    assert till["scopes"] == ["read"]
    assert api.get("/v1/program", headers=bearer(till["api_key"])).status_code == 200
    assert api.post("/v1/members", json={"external_id": "C1"}, headers=bearer(till["api_key"])).status_code == 403

    listed = only_json(wafa("apikey", "list", "--tenant", "al-noor-stores", "--json")[1])
    assert [(k["name"], k["scopes"], k["revoked"]) for k in listed] == [
        ("first admin key", ["admin"], False), ("till 3, Riyadh", ["read"], False),
    ]
    assert till["api_key"] not in json.dumps(listed) and till["api_key"].startswith(listed[1]["prefix"])

    code, out, err = wafa("apikey", "revoke", str(till["id"]), "--tenant", "al-noor-stores")
    assert code == 0 and out == "" and "revoked" in err
    assert api.get("/v1/program", headers=bearer(till["api_key"])).status_code == 401
    assert only_json(wafa("apikey", "list", "--tenant", "al-noor-stores", "--json")[1])[1]["revoked"] is True
    one_line_failure(*wafa("apikey", "revoke", str(till["id"]), "--tenant", "al-noor-stores"))


def test_apikey_human_output_is_just_the_secret(wafa: Wafa, api: TestClient) -> None:
    wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR")
    code, out, _ = wafa("apikey", "create", "--tenant", "al-noor-stores", "--scopes", "events:write, read")
    assert code == 0 and out.count("\n") == 1
    assert api.get("/v1/program", headers=bearer(out.strip())).status_code == 200


def test_a_tenant_cannot_revoke_another_tenant_s_key(wafa: Wafa, api: TestClient) -> None:
    wafa("tenant", "create", "Shop A", "--currency", "SAR")
    wafa("tenant", "create", "Shop B", "--currency", "SAR")
    key_a = only_json(wafa("apikey", "create", "--tenant", "shop-a", "--json")[1])
    one_line_failure(*wafa("apikey", "revoke", str(key_a["id"]), "--tenant", "shop-b"))
    assert api.get("/v1/program", headers=bearer(key_a["api_key"])).status_code == 200


@pytest.mark.parametrize("scopes", ["superuser", "read,root", ","])
def test_apikey_with_unknown_scopes_exits_1(wafa: Wafa, scopes: str) -> None:
    wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR")
    assert "scopes" in one_line_failure(*wafa("apikey", "create", "--tenant", "al-noor-stores", "--scopes", scopes, "--json"))


def _seed_due_lots(url: str) -> tuple[int, int]:
    """A member with one lot whose pending window has closed and one past its expiry; returns their points."""
    now = datetime.now(UTC)
    factory = session_factory(url)
    with unit_of_work(factory) as session:
        tenant_id = tenants.get_by_slug_or_raise(session, slug="al-noor-stores").id
        member_id = members.create(session, tenant_id=tenant_id, member_in=MemberCreate(external_id="C1"), region="SA", now=now).id
        ledger.credit(session, tenant_id=tenant_id, member_id=member_id, points=120, kind="earn", source="issued",
                      idempotency_key="due:release", reason="a purchase a month ago", now=now - timedelta(days=30),
                      available_at=now - timedelta(days=16), expires_at=None)
        ledger.credit(session, tenant_id=tenant_id, member_id=member_id, points=35, kind="earn", source="issued",
                      idempotency_key="due:expire", reason="a purchase two years ago", now=now - timedelta(days=730),
                      available_at=now - timedelta(days=730), expires_at=now - timedelta(days=1))
    return 120, 35


def test_jobs_run_due_json_releases_and_expires_once(wafa: Wafa, empty_db: str) -> None:
    wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR")
    released, expired = _seed_due_lots(empty_db)
    code, out, _ = wafa("jobs", "run-due", "--json")
    assert code == 0
    assert only_json(out) == {
        "released_lots": 1, "released_points": released, "expired_lots": 1, "expired_points": expired, "lapsed_holds": 0,
        "released_cashback": 0, "birthday_events": 0, "expired_rewards": 0, "tier_reviews": 0, "referrals_completed": 0, "memberships_due": 0,
        "rfm_recomputed": 0,
        "web_sessions_ended": 0, "outbox_rows_forgotten": 0, "reminders_announced": 0, "journey_messages_queued": 0, "settlements_closed": 0,
        "members_anonymised": 0,
    }
    code, out, _ = wafa("jobs", "run-due", "--tenant", "al-noor-stores", "--json")
    assert code == 0 and set(only_json(out).values()) == {0}  # nothing is due twice
    assert only_json(wafa("ledger", "verify", "--json")[1])["ok"] is True


def test_ledger_verify_on_an_empty_ledger_is_ok(wafa: Wafa) -> None:
    wafa("tenant", "create", "Al Noor Stores", "--currency", "SAR")
    code, out, _ = wafa("ledger", "verify", "--json")
    assert code == 0
    assert only_json(out) == {"ok": True, "entries": 0, "postings": 0, "accounts": 0, "lots": 0,
                              "first_broken_entry": None, "problems": []}


def _member_postings(url: str) -> list[tuple[int, int, int]]:
    """(entry id, posting id, account id) of every member-account posting, oldest entry first."""
    with session_factory(url)() as session:
        return [tuple(row) for row in session.execute(text(  # type: ignore[misc]
            "SELECT entry_id, id, account_id FROM postings WHERE seq IS NOT NULL ORDER BY entry_id, id"
        ))]


def _tamper(url: str, sql: str, **params: int) -> None:
    with unit_of_work(session_factory(url)) as session:
        session.execute(text(sql), params)


@pytest.mark.parametrize("tampering", ["one_leg", "balanced_pair"])
def test_ledger_verify_names_the_first_broken_entry_after_tampering(on_demo: Wafa, demo_url: str, tampering: str) -> None:
    entry_id, posting_id, _ = _member_postings(demo_url)[10]
    if tampering == "one_leg":  # the entry no longer balances
        _tamper(demo_url, "UPDATE postings SET amount = amount + 1 WHERE id = :p", p=posting_id)
    else:  # still balances: only the member's hash chain can tell
        _tamper(demo_url, "UPDATE postings SET amount = amount + 1 WHERE id = :p", p=posting_id)
        _tamper(demo_url, "UPDATE postings SET amount = amount - 1 WHERE entry_id = :e AND id <> :p AND seq IS NULL",
                e=entry_id, p=posting_id)
    code, out, err = on_demo("ledger", "verify", "--json")
    assert code == 1 and "Traceback" not in err
    report = only_json(out)
    assert report["ok"] is False and report["first_broken_entry"] == entry_id and report["problems"]
    if tampering == "balanced_pair":
        assert any(f"hash chain broken at entry {entry_id}" in problem for problem in report["problems"])
    code, out, _ = on_demo("ledger", "verify", "--tenant", "demo")
    assert code == 1 and f"first broken entry: {entry_id}" in out


@empty_database
def test_demo_then_verify_and_a_second_demo_keeps_the_history(wafa: Wafa, api: TestClient) -> None:
    code, out, _ = wafa("demo", "--members", "10", "--months", "1", "--json")
    assert code == 0
    demo = only_json(out)
    assert demo["tenant_slug"] == "demo" and demo["members"] == 10 and demo["purchases"] > 0
    verified = only_json(wafa("ledger", "verify", "--json")[1])
    assert verified["ok"] is True and verified["entries"] > 0 and verified["postings"] >= 2 * verified["entries"]
    assert verified["accounts"] > 0 and verified["lots"] > 0

    code, out, _ = wafa("demo", "--members", "10", "--months", "1", "--json")
    again = only_json(out)
    assert code == 0 and (again["members"], again["purchases"]) == (0, 0) and again["api_key"] != demo["api_key"]
    assert only_json(wafa("ledger", "verify", "--json")[1])["entries"] == verified["entries"]
    found = api.get("/v1/members", params={"external_id": "C10000"}, headers=bearer(again["api_key"]))
    assert found.status_code == 200 and len(found.json()["items"]) == 1


@pytest.mark.parametrize("count", ["1", "5"])
def test_demo_with_a_handful_of_members(wafa: Wafa, count: str) -> None:
    # The weekly redemptions pick six members; a smaller demo once failed after its first week.
    code, out, err = wafa("demo", "--members", count, "--months", "1", "--json")
    assert code == 0, err
    assert only_json(out)["members"] == int(count)
    assert only_json(wafa("ledger", "verify", "--json")[1])["ok"] is True


@empty_database
@pytest.mark.parametrize("args", [["--members", "0"], ["--members", "-3"], ["--months", "-1"]])
def test_demo_bad_sizes_are_bad_usage(wafa: Wafa, args: list[str]) -> None:
    code, out, err = wafa("demo", *args, "--json")
    assert code == 2 and out == "" and "Traceback" not in err
    assert wafa("db", "current")[1].strip() == "(empty database)"  # refused before touching anything


@empty_database
def test_db_upgrade_and_current(wafa: Wafa) -> None:
    assert wafa("db", "current")[1].strip() == "(empty database)"
    code, out, err = wafa("db", "upgrade")
    assert code == 0 and out == "" and "up to date" in err
    revision = wafa("db", "current")[1].strip()
    assert revision and revision != "(empty database)"
    assert wafa("db", "upgrade")[0] == 0  # twice is fine


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-wafa-dir/sub/wafa.db",
        "postgresql+psycopg://nobody@127.0.0.1:1/nothing",
        "nosuchdialect://somewhere/db",
        "not a database url",
    ],
)
def test_an_unusable_database_is_one_line_exit_1(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("WAFA_DATABASE_URL", url)
    monkeypatch.delenv("WAFA_DEBUG", raising=False)
    _forget_cached_database()
    try:
        for args in (["tenant", "list", "--json"], ["tenant", "create", "Shop", "--currency", "SAR", "--json"], ["ledger", "verify"]):
            result = runner.invoke(app, args)
            one_line_failure(result.exit_code, result.stdout, result.stderr)
    finally:
        _forget_cached_database()


@empty_database
@pytest.mark.parametrize("args", [["tenant", "list", "--json"], ["jobs", "run-due", "--json"], ["ledger", "verify", "--json"],
                                  ["worker", "--passes", "1"]])
def test_commands_that_do_not_migrate_fail_in_one_line_on_an_empty_database(wafa: Wafa, args: list[str]) -> None:
    one_line_failure(*wafa(*args))


def test_unknown_tenant_exits_1_naming_it(wafa: Wafa) -> None:
    wafa("db", "upgrade")
    for args in (["program", "show"], ["apikey", "list"], ["jobs", "run-due"], ["ledger", "verify"]):
        assert "no-such-shop" in one_line_failure(*wafa(*args, "--tenant", "no-such-shop", "--json"))


@empty_database
def test_missing_tenant_option_is_bad_usage(wafa: Wafa) -> None:
    code, out, err = wafa("program", "show")
    assert code == 2 and out == "" and "--tenant" in err and "Traceback" not in err

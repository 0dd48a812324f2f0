"""`wafa rewards list | import-vouchers | generate-coupons`: JSON on stdout only, exit codes 0/1/2, one-line reasons."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import TenantCtx, factory_for, make_member, make_tenant
from wafa.cli.main import app
from wafa.config import get_settings
from wafa.db import unit_of_work
from wafa.programs import service as programs
from wafa.rewards import catalog, coupons, redemptions, vouchers
from wafa.rewards.models import Voucher
from wafa.rewards.schemas import RewardIn

runner = CliRunner()


@pytest.fixture
def wafa(db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `wafa ...` against the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("WAFA_DATABASE_URL", db_url)
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    yield run
    get_settings.cache_clear()


@pytest.fixture
def shop(db_url: str) -> TenantCtx:
    return make_tenant(factory_for(db_url), datetime.now(UTC))


def add_reward(db_url: str, tenant: TenantCtx, **fields: object) -> int:
    """A reward in the tenant's catalog; returns its id."""
    fields.setdefault("name_en", f"Reward {fields['key']}")
    fields.setdefault("name_ar", "مكافأة")
    fields.setdefault("points", 100)
    with unit_of_work(factory_for(db_url)) as session:
        program = programs.get(session, tenant_id=tenant.id, fresh=True)
        return catalog.create(
            session, tenant_id=tenant.id, reward_in=RewardIn.model_validate(fields), program=program, now=datetime.now(UTC)
        ).id


def one_line_error(err: str, *words: str) -> bool:
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("error:") and all(w in lines[0] for w in words) and "Traceback" not in err


def test_rewards_commands_load_when_run_as_a_module() -> None:
    # `python -m wafa.cli.main` runs main.py as __main__ beside the package module; the command modules
    # must not import main.py back (an import contract in pyproject.toml keeps it so).
    done = subprocess.run([sys.executable, "-m", "wafa.cli.main", "rewards", "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "generate-coupons" in done.stdout and "import-vouchers" in done.stdout


# --- list -------------------------------------------------------------------------------------


def test_list_json_and_human_with_stock_of_each_kind(wafa, db_url: str, shop: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    spa = add_reward(db_url, shop, key="spa", name_en="Spa day", name_ar="يوم سبا", points=500,
                     gives={"type": "voucher", "partner": "Spa Co"})
    mug = add_reward(db_url, shop, key="mug", points=300, money="2.50", stock=7, gives={"type": "gift", "sku": "MUG"})
    off = add_reward(db_url, shop, key="ten-off", status="paused",
                     gives={"type": "coupon", "discount": {"type": "fixed", "amount": "10"}})
    with unit_of_work(factory_for(db_url)) as session:
        reward = catalog.get_or_raise(session, tenant_id=shop.id, reward_id=spa)
        vouchers.import_codes(session, reward=reward, codes=["S1", "S2", "S3"], now=datetime.now(UTC))

    code, out, _ = wafa("rewards", "list", "--tenant", shop.slug, "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["id"], r["key"], r["kind"], r["points"], r["money"], r["stock"], r["status"]) for r in rows] == [
        (spa, "spa", "voucher", 500, None, 3, "active"),
        (mug, "mug", "gift", 300, "2.50", 7, "active"),
        (off, "ten-off", "coupon", 100, None, None, "paused"),
    ]
    assert rows[0]["name_en"] == "Spa day" and rows[0]["name_ar"] == "يوم سبا" and rows[0]["currency"] == "SAR"

    code, out, _ = wafa("rewards", "list", "--tenant", shop.slug, "--status", "paused", "--json")
    assert code == 0 and [r["key"] for r in json.loads(out)] == ["ten-off"]

    code, out, _ = wafa("rewards", "list", "--tenant", shop.slug)
    assert code == 0
    assert "spa" in out and "Spa day" in out and "2.50 SAR" in out and "unlimited" in out and "paused" in out


def test_list_bad_status_exits_2_unknown_tenant_exits_1(wafa, shop: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    code, out, err = wafa("rewards", "list", "--tenant", shop.slug, "--status", "sometimes")
    assert code == 2 and out == "" and one_line_error(err, "--status")
    code, out, err = wafa("rewards", "list", "--tenant", "no-such-shop")
    assert code == 1 and out == "" and one_line_error(err, "no-such-shop")


# --- import-vouchers --------------------------------------------------------------------------


def test_import_vouchers_plain_file_counts_duplicates(wafa, db_url: str, shop: TenantCtx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    add_reward(db_url, shop, key="cinema", gives={"type": "voucher", "partner": "Cinema"})
    codes_file = tmp_path / "codes.txt"
    codes_file.write_text("CIN-001\nCIN-002\n\n   \n  CIN-003  \nCIN-001\n")

    code, out, _ = wafa("rewards", "import-vouchers", "cinema", str(codes_file), "--tenant", shop.slug, "--json")
    assert code == 0
    assert json.loads(out) == {"reward": "cinema", "imported": 3, "duplicates": 1, "handed_out": 0, "available": 3}

    codes_file.write_text("CIN-003\nCIN-004\n")
    code, out, _ = wafa("rewards", "import-vouchers", "cinema", str(codes_file), "--tenant", shop.slug)
    assert code == 0
    assert out.strip() == "imported 1 codes into cinema (1 duplicates skipped); 0 handed to waiting rewards; 4 available"


def test_import_vouchers_csv_with_header_takes_the_first_column(wafa, db_url: str, shop: TenantCtx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    reward_id = add_reward(db_url, shop, key="fuel", gives={"type": "voucher", "partner": "Fuel"})
    codes_file = tmp_path / "partner.csv"
    codes_file.write_text("code,value,expires\nF-1,50,2026-12-31\n\nF-2,50,2026-12-31\nF-1,50,2026-12-31\n\"F-3\",50,\n")

    code, out, _ = wafa("rewards", "import-vouchers", "fuel", str(codes_file), "--tenant", shop.slug, "--json")
    assert code == 0
    assert json.loads(out) == {"reward": "fuel", "imported": 3, "duplicates": 1, "handed_out": 0, "available": 3}
    with unit_of_work(factory_for(db_url)) as session:
        stored = session.execute(select(Voucher.code).where(Voucher.reward_id == reward_id).order_by(Voucher.id)).scalars()
        assert list(stored) == ["F-1", "F-2", "F-3"]

    headless = tmp_path / "headless.csv"
    headless.write_text("F-4,50\nF-5,50\n")
    code, out, _ = wafa("rewards", "import-vouchers", "fuel", str(headless), "--tenant", shop.slug, "--json")
    assert code == 0 and json.loads(out)["imported"] == 2 and json.loads(out)["available"] == 5


def test_import_vouchers_hands_codes_to_waiting_grants(wafa, db_url: str, shop: TenantCtx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    reward_id = add_reward(db_url, shop, key="lounge", gives={"type": "voucher", "partner": "Lounge"})
    now = datetime.now(UTC)
    member_id = make_member(factory_for(db_url), shop.id, now)
    with unit_of_work(factory_for(db_url)) as session:
        reward = catalog.get_or_raise(session, tenant_id=shop.id, reward_id=reward_id)
        waiting = redemptions.grant(session, tenant_id=shop.id, member_id=member_id, reward=reward, source="rule",
                                    source_key=f"cli-test:{reward_id}", now=now)
        assert waiting.voucher_code is None
    codes_file = tmp_path / "codes.txt"
    codes_file.write_text("L-1\nL-2\n")

    code, out, _ = wafa("rewards", "import-vouchers", "lounge", str(codes_file), "--tenant", shop.slug, "--json")
    assert code == 0 and json.loads(out) == {"reward": "lounge", "imported": 2, "duplicates": 0, "handed_out": 1, "available": 1}
    with unit_of_work(factory_for(db_url)) as session:
        assert redemptions.get_or_raise(session, tenant_id=shop.id, redemption_id=waiting.id).voucher_code == "L-1"


def test_import_vouchers_failures_exit_1_with_one_line(wafa, db_url: str, shop: TenantCtx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    add_reward(db_url, shop, key="ten-off", gives={"type": "coupon", "discount": {"type": "fixed", "amount": "10"}})
    codes_file = tmp_path / "codes.txt"
    codes_file.write_text("X-1\n")

    code, out, err = wafa("rewards", "import-vouchers", "ten-off", str(codes_file), "--tenant", shop.slug)
    assert code == 1 and out == "" and one_line_error(err, "ten-off", "coupon")
    code, out, err = wafa("rewards", "import-vouchers", "no-such-reward", str(codes_file), "--tenant", shop.slug)
    assert code == 1 and out == "" and one_line_error(err, "no-such-reward", "not found")
    code, out, err = wafa("rewards", "import-vouchers", "ten-off", str(tmp_path / "missing.txt"), "--tenant", shop.slug)
    assert code == 1 and out == "" and one_line_error(err, "cannot read", "missing.txt")
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9\n")
    code, out, err = wafa("rewards", "import-vouchers", "ten-off", str(tmp_path / "latin1.txt"), "--tenant", shop.slug)
    assert code == 1 and out == "" and one_line_error(err, "cannot read")


# --- generate-coupons -------------------------------------------------------------------------


def test_generate_coupons_writes_distinct_prefixed_codes(wafa, db_url: str, shop: TenantCtx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    output = tmp_path / "flyers.csv"
    code, out, _ = wafa(
        "rewards", "generate-coupons", "--tenant", shop.slug, "--name", "Ramadan flyers", "--count", "250",
        "--percent", "15", "--max-discount", "40", "--min-order", "100", "--category", "coffee", "--category", "bakery",
        "--uses", "2", "--prefix", "rmd", "--length", "10", "--valid-until", "2030-04-01T00:00:00+03:00",
        "--output", str(output), "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["codes"] == 250 and data["prefix"] == "RMD" and data["max_uses"] == 2 and data["output"] == str(output)
    assert data["discount"] == {"type": "percent", "currency": "SAR", "percent": "15", "min_order": "100.00",
                                "max_discount": "40.00", "categories": ["coffee", "bakery"]}
    assert data["valid_until"] == "2030-03-31T21:00:00+00:00"

    with output.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["code", "status", "uses", "max_uses", "valid_from", "valid_until"]
    found = [row[0] for row in rows[1:]]
    assert len(found) == 250 and len(set(found)) == 250
    assert all(c.startswith("RMD") and len(c) == 13 for c in found)
    assert {tuple(row[1:]) for row in rows[1:]} == {("active", "0", "2", "", "2030-03-31T21:00:00+00:00")}
    assert list(tmp_path.iterdir()) == [output]  # no staging file left behind
    with unit_of_work(factory_for(db_url)) as session:
        coupon = coupons.get_by_code_or_raise(session, tenant_id=shop.id, code=found[17].lower())
        assert coupon.campaign_id == data["campaign_id"] and coupon.max_uses == 2
        assert coupons.get_campaign_or_raise(session, tenant_id=shop.id, campaign_id=data["campaign_id"]).codes == 250


def test_generate_coupons_without_output_prints_id_and_count(wafa, db_url: str, shop: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = wafa("rewards", "generate-coupons", "--tenant", shop.slug, "--name", "Flyers", "--count", "5", "--amount", "10.00")
    assert code == 0
    campaign_id = int(out.split()[1].rstrip(":"))
    assert out.strip() == f"campaign {campaign_id}: 5 codes"
    with unit_of_work(factory_for(db_url)) as session:
        campaign = coupons.get_campaign_or_raise(session, tenant_id=shop.id, campaign_id=campaign_id)
        assert campaign.codes == 5 and campaign.discount["amount"] == 1000


@pytest.mark.parametrize("options", [
    [],                                           # neither --amount nor --percent
    ["--amount", "10", "--percent", "15"],        # both
    ["--percent", "120"],
    ["--amount", "0"],
    ["--amount", "10.005"],                       # SAR has 2 decimals
    ["--amount", "10", "--prefix", "A-B"],
    ["--amount", "10", "--length", "8"],
    ["--amount", "10", "--valid-until", "2030-04-01"],  # no time zone
    ["--amount", "10", "--valid-from", "2030-04-02T00:00Z", "--valid-until", "2030-04-01T00:00Z"],
])
def test_generate_coupons_bad_usage_exits_2(wafa, shop: TenantCtx, tmp_path, options: list[str]) -> None:  # type: ignore[no-untyped-def]
    output = tmp_path / "codes.csv"
    code, out, err = wafa("rewards", "generate-coupons", "--tenant", shop.slug, "--name", "X", "--count", "3",
                          "--output", str(output), *options)
    assert code == 2 and out == "" and one_line_error(err)
    assert list(tmp_path.iterdir()) == []


def test_generate_coupons_bad_count_exits_2(wafa, shop: TenantCtx) -> None:  # type: ignore[no-untyped-def]
    for count in ("0", "1000001"):
        code, out, err = wafa("rewards", "generate-coupons", "--tenant", shop.slug, "--name", "X", "--count", count, "--amount", "5")
        assert code == 2 and out == "" and one_line_error(err, "count")


def test_generate_coupons_failures_exit_1_and_leave_no_file(wafa, shop: TenantCtx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    output = tmp_path / "codes.csv"
    code, out, err = wafa("rewards", "generate-coupons", "--tenant", "no-such-shop", "--name", "X", "--count", "3",
                          "--amount", "5", "--output", str(output))
    assert code == 1 and out == "" and one_line_error(err, "no-such-shop")
    assert list(tmp_path.iterdir()) == []
    code, out, err = wafa("rewards", "generate-coupons", "--tenant", shop.slug, "--name", "X", "--count", "3",
                          "--amount", "5", "--output", str(tmp_path / "no-dir" / "codes.csv"))
    assert code == 1 and out == "" and one_line_error(err, "cannot write")

"""`wafa stores import | list`: JSON on stdout only, progress and bad rows on stderr, exit codes 0/1/2, all or nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import TenantCtx, factory_for, make_tenant
from wafa.cli.main import app
from wafa.config import get_settings
from wafa.stores import service

runner = CliRunner()
HEADER = "code,name_en,name_ar,latitude,longitude,timezone,radius_m,hours\n"


@pytest.fixture
def wafa(db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
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


def test_import_json_then_list(wafa, db_url: str, shop: TenantCtx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    file = tmp_path / "stores.csv"
    file.write_text(HEADER + 'RUH-01,Olaya,العليا,24.69,46.685,Asia/Riyadh,200,"mon-fri 08:00-22:00; sat 10:00-23:00; sun closed"\n'
                    "BER-01,Mitte,,52.52,13.405,Europe/Berlin,,mon-sun 09:00-20:00\n", encoding="utf-8")
    code, stdout, stderr = wafa("stores", "import", str(file), "--tenant", shop.slug, "--json")
    assert code == 0, stderr
    assert json.loads(stdout) == {"created": 2, "updated": 0, "codes": ["RUH-01", "BER-01"]}
    assert "2/2 stores" in stderr
    with factory_for(db_url)() as session:
        assert service.get_by_code_or_raise(session, tenant_id=shop.id, code="BER-01").timezone == "Europe/Berlin"
    code, stdout, _ = wafa("stores", "list", "--tenant", shop.slug, "--json")
    listed = json.loads(stdout)
    assert code == 0 and [row["hours"] for row in listed] == ["mon-fri 08:00-22:00; sat 10:00-23:00; sun closed", "mon-sun 09:00-20:00"]
    code, stdout, _ = wafa("stores", "import", str(file), "--tenant", shop.slug)
    assert code == 0 and stdout.strip() == "0 stores added, 2 changed"


def test_a_bad_row_imports_nothing_and_exits_1_listing_the_rows(wafa, db_url: str, shop: TenantCtx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    file = tmp_path / "stores.csv"
    file.write_text(HEADER + "OK,Fine,,24.69,46.685,Asia/Riyadh,,\nBAD,Bad,,24.69,200,Asia/Riyadh,,\n", encoding="utf-8")
    code, stdout, stderr = wafa("stores", "import", str(file), "--tenant", shop.slug, "--json")
    assert code == 1 and stdout == ""
    assert "line 3: longitude" in stderr and "nothing was imported" in stderr and "Traceback" not in stderr
    with factory_for(db_url)() as session:
        assert service.list_(session, tenant_id=shop.id) == []


def test_a_missing_file_exits_2_and_an_unknown_tenant_1(wafa, shop: TenantCtx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, stderr = wafa("stores", "import", str(tmp_path / "none.csv"), "--tenant", shop.slug)
    assert code == 2 and "cannot read" in stderr
    file = tmp_path / "stores.csv"
    file.write_text(HEADER + "OK,Fine,,24.69,46.685,Asia/Riyadh,,\n", encoding="utf-8")
    code, _, stderr = wafa("stores", "import", str(file), "--tenant", "no-such-shop")
    assert code == 1 and stderr.startswith("error:")

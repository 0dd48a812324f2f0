"""`wafa clv fit`: fits the demo program's history and prints the parameters and holdout diagnostics as JSON;
`wafa kpi`: the program's figures for a period and their change. Each on its own copy of the demo program
(tests/conftest.py seeds it once per run), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from tests.integration.test_cli import wafa  # noqa: F401  (the fixture)
from wafa.cli.main import app
from wafa.config import get_settings


@pytest.fixture
def on_demo(demo_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `wafa ...` against a copy of the demo program (tenant `demo`); returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("WAFA_DATABASE_URL", demo_url)
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    yield run
    get_settings.cache_clear()


def test_clv_fit_prints_parameters_and_diagnostics(on_demo) -> None:  # type: ignore[no-untyped-def]
    today = date.today()
    code, out, _ = on_demo("clv", "fit", "--tenant", "demo", "--calibration-end", str(today - timedelta(days=30)),
                           "--holdout-end", str(today - timedelta(days=1)), "--unit", "week")
    assert code == 0, out
    body = json.loads(out)
    assert set(body["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"} and body["unit"] == "week"
    assert body["diagnostics"]["customers"] > 10 and body["diagnostics"]["holdout"]["actual"] > 0


def test_clv_fit_bad_usage_and_too_little_history(wafa) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    code, _, err = wafa("clv", "fit", "--tenant", "nobody", "--calibration-end", "31-12-2025")
    assert code == 2 and "YYYY-MM-DD" in err
    code, _, err = wafa("clv", "fit", "--tenant", "nobody", "--calibration-end", "2025-12-31", "--unit", "month")
    assert code == 2 and "--unit" in err
    name = f"clv-{uuid.uuid4().hex[:8]}"
    wafa("tenant", "create", "Empty", "--currency", "SAR", "--slug", name, "--json")
    code, _, err = wafa("clv", "fit", "--tenant", name, "--calibration-end", "2025-12-31")
    assert code == 1 and "too few to fit" in err and "Traceback" not in err


def test_kpi_prints_the_period_and_the_change(on_demo) -> None:  # type: ignore[no-untyped-def]
    today = date.today()
    code, out, _ = on_demo("kpi", "--tenant", "demo", "--from", str(today - timedelta(days=30)), "--to", str(today), "--json")
    assert code == 0, out
    body = json.loads(out)
    assert body["period"]["orders"] > 0 and body["period"]["active_members"] > 0 and "change" in body
    code, out, _ = on_demo("kpi", "--tenant", "demo", "--from", str(today - timedelta(days=30)), "--to", str(today))
    assert code == 0 and "participation_rate_revenue" in out
    assert on_demo("kpi", "--tenant", "demo", "--from", "yesterday", "--to", str(today))[0] == 2

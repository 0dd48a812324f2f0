"""`wafa clv fit`: fits the demo program's history and prints the parameters and holdout diagnostics as JSON."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

from tests.integration.test_cli import wafa  # noqa: F401  (the fixture)


def test_clv_fit_prints_parameters_and_diagnostics(wafa) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    name = f"clv-{uuid.uuid4().hex[:8]}"
    code, _, _ = wafa("demo", "--members", "40", "--months", "3", "--slug", name, "--json")
    assert code == 0
    today = date.today()
    code, out, _ = wafa("clv", "fit", "--tenant", name, "--calibration-end", str(today - timedelta(days=30)),
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


def test_kpi_prints_the_period_and_the_change(wafa) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    name = f"kpi-{uuid.uuid4().hex[:8]}"
    assert wafa("demo", "--members", "20", "--months", "2", "--slug", name, "--json")[0] == 0
    today = date.today()
    code, out, _ = wafa("kpi", "--tenant", name, "--from", str(today - timedelta(days=30)), "--to", str(today), "--json")
    assert code == 0, out
    body = json.loads(out)
    assert body["period"]["orders"] > 0 and body["period"]["active_members"] > 0 and "change" in body
    code, out, _ = wafa("kpi", "--tenant", name, "--from", str(today - timedelta(days=30)), "--to", str(today))
    assert code == 0 and "participation_rate_revenue" in out
    assert wafa("kpi", "--tenant", name, "--from", "yesterday", "--to", str(today))[0] == 2

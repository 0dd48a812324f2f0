"""`wafa experiments results KEY --tenant SLUG [--json]`: the results as the API gives them, JSON on stdout
only; an unknown or unstarted experiment is a one-line reason and exit code 1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from tests.conftest import TenantCtx, factory_for, make_member, make_tenant
from wafa.cli.main import app
from wafa.config import get_settings
from wafa.db import unit_of_work
from wafa.experiments import service
from wafa.experiments.schemas import ExperimentCreate

runner = CliRunner()


@pytest.fixture
def wafa(db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WAFA_DATABASE_URL", db_url)
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    yield run
    get_settings.cache_clear()


def started(db_url: str, *, days_ago: int) -> tuple[TenantCtx, list[int]]:
    """A tenant with 30 members and experiment "spring" started `days_ago` days ago with a 14-day horizon."""
    factory = factory_for(db_url)
    then = datetime.now(UTC) - timedelta(days=days_ago)
    shop = make_tenant(factory, then - timedelta(days=1))
    members = [make_member(factory, shop.id, then - timedelta(days=1)) for _ in range(30)]
    with unit_of_work(factory) as session:
        service.create(session, tenant_id=shop.id, now=then, experiment_in=ExperimentCreate(
            key="spring", name="Spring", subject="offers", holdout_percent=20, arms=[{"key": "a"}, {"key": "b"}],  # type: ignore[list-item]
            primary_metric="retention", horizon_days=14))
        service.start(session, tenant_id=shop.id, key="spring", now=then)
    return shop, members


def test_results_as_json(db_url: str, wafa) -> None:  # type: ignore[no-untyped-def]
    shop, members = started(db_url, days_ago=20)
    code, stdout, _ = wafa("experiments", "results", "spring", "--tenant", shop.slug, "--json")
    assert code == 0, stdout
    data = json.loads(stdout)
    assert data["provisional"] is False and data["horizon_reached"] is True and data["primary_metric"] == "retention"
    assert data["holdout_members"] + sum(arm["members"] for arm in data["arms"]) == len(members)
    assert [arm["arm"] for arm in data["arms"]] == ["a", "b"] and data["winner"] is None


def test_results_for_people_say_provisional(db_url: str, wafa) -> None:  # type: ignore[no-untyped-def]
    shop, _ = started(db_url, days_ago=3)
    code, stdout, stderr = wafa("experiments", "results", "spring", "--tenant", shop.slug)
    assert code == 0
    assert "holdout" in stdout and "provisional until" in stderr and "members in the holdout" in stderr


def test_unknown_experiment_fails_in_one_line(db_url: str, wafa) -> None:  # type: ignore[no-untyped-def]
    shop, _ = started(db_url, days_ago=3)
    code, stdout, stderr = wafa("experiments", "results", "nope", "--tenant", shop.slug, "--json")
    assert code == 1 and stdout == "" and "no experiment 'nope'" in stderr and "Traceback" not in stderr

"""`wafa experiments ...`: an experiment's results, each arm against the holdout, as the console shows them."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from wafa.cli.common import JsonOption, TenantOption, emit, err, failures, out, tenant_id_of
from wafa.clock import SystemClock
from wafa.db import session_factory, unit_of_work

experiments_app = typer.Typer(help="A/B/n experiments of rules, offers and campaigns against a holdout.", no_args_is_help=True)


def _interval(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"{low:.4f} to {high:.4f}"


@experiments_app.command("results")
def results(key: str = typer.Argument(..., help="the experiment's key"), tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """Per member, from the start to the horizon (or now, if sooner): each arm's metrics against the holdout,
    with intervals corrected for the number of arms, and the winner on the primary metric. Before the
    horizon the results are provisional."""
    from wafa.experiments import service
    from wafa.experiments.routes import results_read

    with failures():
        with unit_of_work(session_factory()) as session:
            found = service.results_of(session, tenant_id=tenant_id_of(session, slug=tenant), key=key, now=SystemClock().now())
            data: dict[str, Any] = results_read(found).model_dump(mode="json")

        def human() -> None:
            table = Table("arm", "metric", "members", "arm mean", "holdout mean", "difference", f"{data['confidence']:.2%} interval", "p")
            for arm in data["arms"]:
                for m in arm["metrics"]:
                    mark = " *" if m["name"] == data["primary_metric"] else ""
                    table.add_row(arm["arm"], m["name"] + mark, str(arm["members"]), f"{m['mean']:.4f}", f"{m['holdout_mean']:.4f}",
                                  f"{m['difference']:+.4f}", _interval(m["low"], m["high"]),
                                  "—" if m["p_value"] is None else f"{m['p_value']:.4f}")
            out.print(table)
            state = f"provisional until {data['ends_at']}" if data["provisional"] else "horizon reached"
            winner = f"winner: arm {data['winner']}" if data["winner"] else "no arm wins on the primary metric"
            err.print(f"{data['key']}: {state}; {data['holdout_members']} members in the holdout; {winner} (* primary metric)")

        emit(data, as_json=as_json, human=human)

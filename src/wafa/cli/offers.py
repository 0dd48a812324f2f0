"""`wafa offers ...`: train a tenant's next-best-offer model, and measure it against item popularity on
a time-based holdout."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import typer
from rich.table import Table

from wafa.cli.common import JsonOption, TenantOption, emit, err, failures, out, tenant_id_of, usage
from wafa.clock import SystemClock
from wafa.db import session_factory, unit_of_work

offers_app = typer.Typer(help="Next-best offers: the rewards and categories each member is likely to want next.", no_args_is_help=True)
SeedOption = typer.Option(0, "--seed", min=0, help="the random seed of the fit (the same seed and data give the same model)")


def _scores_table(report: dict[str, Any]) -> Table:
    k = report["k"]
    table = Table("", f"precision@{k}", f"recall@{k}", f"NDCG@{k}")
    for name in ("model", "baseline"):
        scores = report.get(name)
        if scores is not None:
            label = "ALS model" if name == "model" else "popularity baseline"
            table.add_row(label, *(f"{scores[f'{metric}@{k}']:.4f}" for metric in ("precision", "recall", "ndcg")))
    return table


@offers_app.command("train")
def train(tenant: str = TenantOption, seed: int = SeedOption, as_json: bool = JsonOption) -> None:
    """Fit the model on every interaction so far (orders per category, rewards given) and store it, with
    the holdout metrics measured on the way; rankings come from the latest model trained."""
    from wafa.offers import service

    with failures():
        with unit_of_work(session_factory()) as session:
            row = service.train(session, tenant_id=tenant_id_of(session, slug=tenant), now=SystemClock().now(), seed=seed)
            data: dict[str, Any] = {
                "id": row.id, "trained_at": row.trained_at.isoformat(), "algorithm": row.algorithm, "members": len(row.member_ids),
                "items": len(row.item_ids), "parameters": row.parameters, "metrics": row.metrics,
            }

        def human() -> None:
            metrics = data["metrics"]
            if metrics.get("model") is not None:
                out.print(_scores_table(metrics))
            err.print(f"model {data['id']} trained: {data['members']} members, {data['items']} items"
                      + ("" if metrics.get("model") is not None else f" (not evaluated: {metrics.get('reason')})"))

        emit(data, as_json=as_json, human=human)


@offers_app.command("evaluate")
def evaluate(
    tenant: str = TenantOption,
    cutoff: str | None = typer.Option(None, "--cutoff", help="learn from before this UTC day (YYYY-MM-DD), test on after it; "
                                                            "default: the last fifth of the history is the test"),
    seed: int = SeedOption,
    as_json: bool = JsonOption,
) -> None:
    """Measure the model against item popularity: fit on the interactions before the cut-off, then score
    each member's items first seen after it (precision, recall and NDCG at 5). Stores nothing."""
    from wafa.offers import service

    try:
        cut = datetime.combine(date.fromisoformat(cutoff), datetime.min.time(), tzinfo=UTC) if cutoff is not None else None
    except ValueError:
        raise usage(f"--cutoff is a day, YYYY-MM-DD (not {cutoff!r})") from None
    with failures(), session_factory()() as session:
        report = service.evaluate(session, tenant_id=tenant_id_of(session, slug=tenant), now=SystemClock().now(), seed=seed, cutoff=cut)
        data = report.as_dict()

        def human() -> None:
            out.print(_scores_table(data))
            err.print(f"{data['members_evaluated']} members evaluated ({data['members_cold']} without history before the cut-off); "
                      f"trained on {data['train_members']} members × {data['train_items']} items before {data['cutoff']}, "
                      f"tested up to {data['end']}; training took {data['training_seconds']:.2f} s")

        emit(data, as_json=as_json, human=human)


@offers_app.command("list")
def list_offers(tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """The program's offers, newest first: their kind, audience, status, members given them and uses."""
    from wafa.offers import catalog

    with failures(), session_factory()() as session:
        tenant_id = tenant_id_of(session, slug=tenant)
        rows = catalog.list_(session, tenant_id=tenant_id)
        used = catalog.uses(session, tenant_id=tenant_id, offer_ids=[row.id for row in rows])
        data = [catalog.to_read(session, row, used=used.get(row.id, 0)).model_dump(mode="json") for row in rows]

    def human() -> None:
        table = Table("key", "kind", "audience", "status", "given", "used")
        for offer in data:
            chosen = offer["audience"]
            audience = next(kind for kind in ("all", "segments", "tiers", "external_ids", "model") if kind in chosen)
            if "experiment" in chosen:
                audience += f" (arms {', '.join(chosen['arms'])} of {chosen['experiment']})"
            table.add_row(offer["key"], offer["kind"], audience, offer["status"], str(offer["granted"]), str(offer["used"]))
        out.print(table)

    emit(data, as_json=as_json, human=human)


@offers_app.command("activate")
def activate(key: str = typer.Argument(..., help="the offer's key"), tenant: str = TenantOption, as_json: bool = JsonOption) -> None:
    """Make an offer live and give it to its audience now (again: to members who joined the audience since)."""
    from wafa.offers import catalog
    from wafa.tenants import audit

    with failures():
        with unit_of_work(session_factory()) as session:
            tenant_id = tenant_id_of(session, slug=tenant)
            now = SystemClock().now()
            err.print(f"giving {key!r} to its audience…")
            row, given = catalog.activate(session, tenant_id=tenant_id, key=key, now=now)
            audit.record(session, tenant_id=tenant_id, user_id=None, actor="cli", action="offer.activated", target=key,
                         details={"given": given}, now=now)
            data = {"key": row.key, "status": row.status, "given_now": given, "granted": row.granted}
        emit(data, as_json=as_json, human=lambda: out.print(f"{key}: active, given to {given} more members ({data['granted']} in all)"))

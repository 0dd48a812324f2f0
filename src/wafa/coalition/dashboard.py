"""What the console's coalition pages read: a partner's own figures (points issued and redeemed there,
members who joined through it, its customers' visits to the other partners as counts, never who), its
open period so far, its offers and rewards, and the flows of points between partners, named.

Ledger figures come through ledger/money.py, members through the members domain's directory query,
rules and rewards through their services: this module reads no other domain's tables itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.coalition import service, settlement
from wafa.coalition.models import SettlementRun, Statement
from wafa.coalition.service import Terms
from wafa.errors import NotFound
from wafa.ledger import money as ledger_money
from wafa.members import directory
from wafa.rewards import catalog
from wafa.rules import service as rules

PAGE = 500  # rows read at a time when a service pages its list


@dataclass(frozen=True, slots=True)
class Visits:
    """How often a partner's customers went to another partner in a period: counts only."""

    partner: Terms
    visits: int
    members: int


@dataclass(frozen=True, slots=True)
class PartnerFigures:
    """A partner's dashboard for [start, end): points moved at its stores, members who joined through
    it (in the period and ever), its customers' visits elsewhere, and its open period's net so far."""

    points_issued: int
    points_redeemed: int
    members_joined: int
    members_joined_ever: int
    visits_elsewhere: list[Visits]
    open_period: dict[str, int]


def points_at(session: Session, *, tenant_id: int, partner_id: int, start: datetime | None, end: datetime) -> tuple[int, int]:
    """(points issued, points redeemed) at a partner's stores in [start, end), counted as its statements count them."""
    points = ledger_money.period_points(session, tenant_id=tenant_id, partner_id=partner_id, start=start, end=end)
    captured = ledger_money.held_points_moved(session, tenant_id=tenant_id, partner_id=partner_id, start=start, end=end)
    return points.get("earn", 0) + points.get("convert", 0), -points.get("redeem", 0) + captured


def members_joined(session: Session, *, tenant_id: int, partner_id: int, start: datetime | None = None, end: datetime | None = None) -> int:
    """How many members joined through a partner (enrolled by its key or at its store), in [start, end)."""
    query = directory.table_query(tenant_id=tenant_id, region="", joined_from=start, joined_before=end)
    joined = query.where(query.selected_columns.partner_id == partner_id)
    return int(session.execute(select(func.count()).select_from(joined.subquery())).scalar_one())


def visits_elsewhere(session: Session, *, tenant_id: int, partner_id: int, start: datetime | None, end: datetime) -> list[Visits]:
    """A partner's customers' visits to the other partners in [start, end), most visited first."""
    partners = service.config_or_raise(session, tenant_id=tenant_id).partners
    return [
        Visits(partners[other], visits, members)
        for other, visits, members in ledger_money.partner_reach(session, tenant_id=tenant_id, partner_id=partner_id, start=start, end=end)
        if other in partners
    ]


def open_period(session: Session, *, tenant_id: int, partner_id: int, now: datetime) -> dict[str, int]:
    """What a partner's open period holds so far per currency (minor units, signed as a statement's net)."""
    floor = ledger_money.period_floor(session, tenant_id=tenant_id, partner_id=partner_id)
    rows = ledger_money.period_totals(session, tenant_id=tenant_id, partner_id=partner_id, start=floor, end=now)
    drafts, _ = settlement.partner_drafts(rows)
    return {currency: draft.net for currency, draft in sorted(drafts.items())}


def partner_figures(session: Session, *, tenant_id: int, partner_id: int, start: datetime, end: datetime, now: datetime) -> PartnerFigures:
    """Everything a partner's dashboard shows for [start, end)."""
    issued, redeemed = points_at(session, tenant_id=tenant_id, partner_id=partner_id, start=start, end=end)
    return PartnerFigures(
        points_issued=issued, points_redeemed=redeemed,
        members_joined=members_joined(session, tenant_id=tenant_id, partner_id=partner_id, start=start, end=end),
        members_joined_ever=members_joined(session, tenant_id=tenant_id, partner_id=partner_id),
        visits_elsewhere=visits_elsewhere(session, tenant_id=tenant_id, partner_id=partner_id, start=start, end=end),
        open_period=open_period(session, tenant_id=tenant_id, partner_id=partner_id, now=now),
    )


# --- offers and rewards ---------------------------------------------------------------------------


def _rules(session: Session, tenant_id: int) -> Iterator[tuple[Any, Any]]:
    after: int | None = None
    while True:
        rows = rules.list_(session, tenant_id=tenant_id, after_id=after, limit=PAGE)
        yield from rows
        if len(rows) < PAGE:
            return
        after = rows[-1][0].id


def _rewards(session: Session, tenant_id: int) -> Iterator[Any]:
    after: int | None = None
    while True:
        rows = catalog.list_(session, tenant_id=tenant_id, statuses=None, after_id=after, limit=PAGE)
        yield from rows[:PAGE]
        if len(rows) <= PAGE:
            return
        after = rows[PAGE - 1].id


def offers(session: Session, *, tenant_id: int, partner_id: int) -> list[tuple[Any, Any]]:
    """A partner's own rules (rule, current version): those applied only to events at it, which it pays for."""
    key = service.get_or_raise(session, tenant_id=tenant_id, partner_id=partner_id).key
    return [(rule, version) for rule, version in _rules(session, tenant_id) if (version.definition or {}).get("partner") == key]


def rewards(session: Session, *, tenant_id: int, partner_id: int) -> list[Any]:
    """The rewards a partner gives (its own catalog entries), in id order."""
    return [reward for reward in _rewards(session, tenant_id) if reward.partner_id == partner_id]


# --- flows between partners -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flow:
    """Points earned at one partner (None: the operator's own points) and spent at another (None: not at a partner)."""

    earned_at: Terms | None
    spent_at: Terms | None
    points: int


def flows(session: Session, *, tenant_id: int, start: datetime | None, end: datetime) -> list[Flow]:
    """Points spent in [start, end) by where they were earned and where spent, largest first."""
    partners = service.config_or_raise(session, tenant_id=tenant_id).partners
    found = [
        Flow(partners.get(a) if a is not None else None, partners.get(b) if b is not None else None, points)
        for a, b, points in ledger_money.flows(session, tenant_id=tenant_id, start=start, end=end)
    ]
    return sorted(found, key=lambda f: (-f.points, f.earned_at.id if f.earned_at else 0, f.spent_at.id if f.spent_at else 0))


# --- settlement runs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """A closed period with how many statements it made."""

    run: SettlementRun
    statements: int


def runs(session: Session, *, tenant_id: int, limit: int = 120) -> list[Run]:
    """The closed periods, newest first, each with its number of statements."""
    counts = dict(session.execute(
        select(Statement.run_id, func.count()).where(Statement.tenant_id == tenant_id).group_by(Statement.run_id)
    ).all())
    return [Run(run, int(counts.get(run.id, 0))) for run in settlement.list_runs(session, tenant_id=tenant_id, limit=limit)]


def run_or_raise(session: Session, *, tenant_id: int, run_id: int) -> SettlementRun:
    """A closed period of this tenant, or NotFound."""
    found = session.execute(
        select(SettlementRun).where(SettlementRun.tenant_id == tenant_id, SettlementRun.id == run_id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"settlement {run_id} not found")
    return found


def statement_of(session: Session, *, tenant_id: int, partner_id: int, statement_id: int) -> Statement | None:
    """A partner's own statement (None: there is none of that id, or it is another party's)."""
    return session.execute(
        select(Statement).where(Statement.tenant_id == tenant_id, Statement.id == statement_id, Statement.partner_id == partner_id)
    ).scalar_one_or_none()

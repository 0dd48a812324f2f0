"""Settlement: closing a period makes one statement per partner settled by it (and currency), and the
operator's, from the money the ledger posted in the partners' entries; they sum to exactly zero. A closed
statement never changes: what is dated before a period and was not settled before (a period left open,
a correction) comes into the next statement as a line of its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.coalition import service, terms
from wafa.coalition.models import SettlementRun, Statement
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.ledger import money as ledger_money
from wafa.outbox import service as outbox
from wafa.programs import service as programs

# The partner's side of a statement, by the kind of the entries that moved its money.
PARTNER_LINES = {
    "earn": "issued",
    "convert": "exchanged",
    "redeem": "redeemed",
    "capture": "redeemed",
    "reverse": "reversed",
    "expire": "breakage",
    "cashback": "cashback",
    "adjust": "adjustments",
}
LABELS = {
    "issued": "Points issued to the partner's customers",
    "exchanged": "Coalition points bought with the partner's own points",
    "redeemed": "Points and wallet money spent at the partner (value)",
    "redeem_commission": "Operator's commission on what was spent",
    "reversed": "Returns and cancellations",
    "breakage": "Value of expired points given back",
    "cashback": "Cashback the partner funded",
    "adjustments": "Adjustments",
    "earlier": "Dated before this period and not settled before",
    "fund": "Points fund (money held for points outstanding)",
    "commission": "Commission earned",
    "kept_breakage": "Breakage kept",
    "wallets": "Wallet money owed to members",
    "cashback_account": "Cashback paid",
    "wallet_spent": "Wallet money spent",
}
ORDER = ("issued", "exchanged", "redeemed", "redeem_commission", "reversed", "breakage", "cashback", "adjustments", "earlier",
         "fund", "commission", "kept_breakage", "cashback_account", "wallet_spent", "wallets")
_OPERATOR_ACCOUNTS = {
    ledger_money.FUND: "fund", ledger_money.COMMISSION: "commission", ledger_money.BREAKAGE: "kept_breakage",
    "cashback": "cashback_account", "wallet_spent": "wallet_spent", "wallet": "wallets", "wallet_pending": "wallets",
}


@dataclass
class Draft:
    """A statement being made: lines by code ([minor units, points]) and the net."""

    lines: dict[str, list[int]]
    net: int = 0

    def add(self, code: str, amount: int, points: int = 0) -> None:
        line = self.lines.setdefault(code, [0, 0])
        line[0] += amount
        line[1] += points


def partner_drafts(
    rows: Iterable[tuple[str, str, str, int]], *, earlier: Iterable[tuple[str, str, str, int]] = (),
) -> tuple[dict[str, Draft], dict[str, Draft]]:
    """The partner's and the operator's drafts per currency from (entry kind, account kind, unit, amount)
    sums of the period (and of what came before it unsettled). Pure: the arithmetic is tested without a database."""
    partner: dict[str, Draft] = {}
    operator: dict[str, Draft] = {}
    commission_by_kind: dict[tuple[str, str], int] = {}
    for kind, account_kind, unit, amount in rows:
        if unit == "PTS":
            continue  # the program's points: see points_of
        if account_kind == ledger_money.PARTNER_KIND:
            draft = partner.setdefault(unit, Draft({}))
            draft.net += amount
            draft.add(PARTNER_LINES.get(kind, "adjustments"), amount)
        else:
            draft = operator.setdefault(unit, Draft({}))
            draft.net += amount
            draft.add(_OPERATOR_ACCOUNTS.get(account_kind, "fund"), amount)
            if account_kind == ledger_money.COMMISSION:
                commission_by_kind[(kind, unit)] = commission_by_kind.get((kind, unit), 0) + amount
    # What was spent at the partner shows at its full value, and the commission withheld beside it.
    for (kind, unit), amount in commission_by_kind.items():
        if PARTNER_LINES.get(kind) == "redeemed" and unit in partner:
            partner[unit].add("redeemed", amount)
            partner[unit].add("redeem_commission", -amount)
    for _kind, account_kind, unit, amount in earlier:
        if unit == "PTS":
            continue
        if account_kind == ledger_money.PARTNER_KIND:
            draft = partner.setdefault(unit, Draft({}))
            draft.net += amount
            draft.add("earlier", amount)
        else:
            draft = operator.setdefault(unit, Draft({}))
            draft.net += amount
            draft.add("earlier", amount)
    # Both sides are signed as the postings are: what the party is owed grows with a positive amount
    # (a partner's payable; the operator's fund, commission and breakage), so the nets sum to zero.
    return partner, operator


def points_of(rows: Iterable[tuple[str, str, str, int]]) -> tuple[int, int]:
    """(points issued, points redeemed) at a partner from the same sums: what earns and exchanges took from
    the program's issued account, what redemptions and captures put in its redeemed account."""
    points = [(kind, account_kind, amount) for kind, account_kind, unit, amount in rows if unit == "PTS"]
    issued = -sum(amount for kind, account_kind, amount in points if account_kind == "issued" and kind in ("earn", "convert"))
    redeemed = sum(amount for kind, account_kind, amount in points if account_kind == "redeemed" and kind in ("redeem", "capture"))
    return issued, redeemed


def _lines(draft: Draft, points: dict[str, int]) -> list[dict]:
    return [
        {"code": code, "amount": draft.lines[code][0], "points": points.get(code)}
        for code in ORDER if code in draft.lines and (draft.lines[code][0] or points.get(code))
    ]


def close(session: Session, *, tenant_id: int, period: str, now: datetime, by: str) -> tuple[SettlementRun, bool]:
    """Close `period` for every partner settled by its kind of period; (the run, whether it was closed before).

    Closing waits for entries being written at those partners; later ones are dated into the next period.
    """
    found = service.config_or_raise(session, tenant_id=tenant_id)
    try:
        kind = terms.period_kind(period)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="period") from None
    timezone = programs.get(session, tenant_id=tenant_id).timezone
    start, end = terms.bounds(period, timezone=timezone)
    earlier_run = session.execute(
        select(SettlementRun).where(SettlementRun.tenant_id == tenant_id, SettlementRun.period == period)
    ).scalar_one_or_none()
    if earlier_run is not None:
        return earlier_run, True
    if end > now:
        raise Conflict(f"{period} ends at {end.isoformat()}: a period closes once it has ended", field="period")
    partners = sorted((p for p in found.partners.values() if p.period == kind), key=lambda p: p.id)
    run = SettlementRun(tenant_id=tenant_id, period=period, starts_at=start, ends_at=end, closed_by=by[:254], closed_at=now)
    session.add(run)
    session.flush()
    operator_total: dict[str, Draft] = {}
    for partner in partners:
        floor = ledger_money.period_floor(session, tenant_id=tenant_id, partner_id=partner.id)
        if floor is not None and floor >= end:
            raise Conflict(f"partner {partner.key!r} is settled through {floor.isoformat()}, after {period}", field="period")
        ledger_money.close_period(session, tenant_id=tenant_id, partner_id=partner.id, through=end)
        # From where the partner was settled last, if that is inside the period (its period changed from
        # weekly to monthly or back): what came before was in an earlier statement.
        since = max(start, floor) if floor is not None else start
        rows = ledger_money.period_totals(session, tenant_id=tenant_id, partner_id=partner.id, start=since, end=end)
        earlier = []
        if floor is None or floor < start:
            earlier = ledger_money.period_totals(session, tenant_id=tenant_id, partner_id=partner.id, start=floor, end=start)
        drafts, operator = partner_drafts(rows, earlier=earlier)
        issued_points, redeemed_points = points_of(rows)
        for currency in sorted(set(drafts) | {partner.currency}):
            draft = drafts.get(currency, Draft({}))
            session.add(Statement(
                tenant_id=tenant_id, run_id=run.id, party=f"partner:{partner.id}", partner_id=partner.id, period=period,
                starts_at=start, ends_at=end, currency=currency,
                lines=_lines(draft, {"issued": issued_points, "redeemed": redeemed_points} if currency == partner.currency else {}),
                points_issued=issued_points if currency == partner.currency else 0,
                points_redeemed=redeemed_points if currency == partner.currency else 0, net=draft.net, closed_at=now,
            ))
        for currency, draft in operator.items():
            total = operator_total.setdefault(currency, Draft({}))
            total.net += draft.net
            for code, (amount, _) in draft.lines.items():
                total.add(code, amount)
        for currency in set(drafts) | set(operator):
            if drafts.get(currency, Draft({})).net + operator.get(currency, Draft({})).net != 0:
                # Every entry balances per unit, so this is a bug: refuse to close rather than state it.
                raise RuntimeError(f"partner {partner.key} {currency}: statements of {period} do not sum to zero")
    for currency, draft in sorted(operator_total.items()):
        session.add(Statement(
            tenant_id=tenant_id, run_id=run.id, party="operator", partner_id=None, period=period, starts_at=start, ends_at=end,
            currency=currency, lines=_lines(draft, {}), points_issued=0, points_redeemed=0, net=draft.net, closed_at=now,
        ))
    session.flush()
    keys = {p.id: p.key for p in found.partners.values()}
    outbox.emit(session, tenant_id=tenant_id, type_="settlement.closed", member_id=None, now=now, payload={
        "run_id": run.id, "period": period, "starts_at": start, "ends_at": end,
        "statements": [
            {"statement_id": s.id, "party": s.party, "partner": keys.get(s.partner_id) if s.partner_id is not None else None,
             "currency": s.currency, "net": s.net, "points_issued": s.points_issued, "points_redeemed": s.points_redeemed}
            for s in statements_of_run(session, tenant_id=tenant_id, run_id=run.id)
        ],
    })
    return run, False


def due_periods(session: Session, *, tenant_id: int, now: datetime) -> list[str]:
    """The periods that ended last (one per kind of period the partners use) and are not closed yet, nor
    passed by a later period closed by hand."""
    found = service.config(session, tenant_id=tenant_id)
    if found is None:
        return []
    timezone = programs.get(session, tenant_id=tenant_id).timezone
    due = []
    for kind in sorted({p.period for p in found.partners.values()}):
        label = terms.previous(terms.label_of(now, kind=kind, timezone=timezone))
        _, end = terms.bounds(label, timezone=timezone)
        runs = session.execute(
            select(SettlementRun.period, SettlementRun.ends_at).where(SettlementRun.tenant_id == tenant_id, SettlementRun.ends_at >= end)
        ).all()
        if not any(terms.period_kind(period) == kind for period, _ in runs):
            due.append(label)
    return due


def statements_of_run(session: Session, *, tenant_id: int, run_id: int) -> list[Statement]:
    return list(session.execute(
        select(Statement).where(Statement.tenant_id == tenant_id, Statement.run_id == run_id).order_by(Statement.id)
    ).scalars())


def list_statements(
    session: Session, *, tenant_id: int, partner_id: int | None, before_id: int | None, limit: int, operator: bool = False,
) -> list[Statement]:
    """A partner's statements (or the operator's), newest first, before a cursor (limit + 1 rows)."""
    query = select(Statement).where(Statement.tenant_id == tenant_id)
    query = query.where(Statement.party == "operator") if operator else query.where(Statement.partner_id == partner_id)
    if before_id is not None:
        query = query.where(Statement.id < before_id)
    return list(session.execute(query.order_by(Statement.id.desc()).limit(limit + 1)).scalars())


def get_statement_or_raise(session: Session, *, tenant_id: int, statement_id: int) -> Statement:
    found = session.execute(
        select(Statement).where(Statement.tenant_id == tenant_id, Statement.id == statement_id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"statement {statement_id} not found")
    return found


def list_runs(session: Session, *, tenant_id: int, limit: int = 50) -> list[SettlementRun]:
    return list(session.execute(
        select(SettlementRun).where(SettlementRun.tenant_id == tenant_id).order_by(SettlementRun.id.desc()).limit(limit)
    ).scalars())


def open_totals(session: Session, *, tenant_id: int, now: datetime) -> dict[int, dict[str, int]]:
    """What each partner's open period holds so far, per currency (the net, signed as a statement's)."""
    found = service.config_or_raise(session, tenant_id=tenant_id)
    out: dict[int, dict[str, int]] = {}
    for partner in found.partners.values():
        floor = ledger_money.period_floor(session, tenant_id=tenant_id, partner_id=partner.id)
        # Everything posted so far: an entry stamped at `now` (or dated into the open period) included.
        rows = ledger_money.period_totals(session, tenant_id=tenant_id, partner_id=partner.id, start=floor, end=now + timedelta(days=1))
        drafts, _ = partner_drafts(rows)
        out[partner.id] = {currency: draft.net for currency, draft in drafts.items()}
    return out

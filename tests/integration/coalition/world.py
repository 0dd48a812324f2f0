"""A coalition to test against, and what the ledger posted for it, read the way settlement reads it.

Three partners: a café (SAR, commissions on both sides, rules of its own), a pharmacy (SAR, points of its
own exchanged at a rate, no commission) and a souq settled weekly in Kuwaiti dinars (three decimals, odd
fees). Helpers read an entry's money legs, a partner's money of all time and of its open period, and the
closed statements.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa.coalition.models import Statement
from wafa.coalition.settlement import partner_drafts
from wafa.ledger import money as ledger_money
from wafa.ledger.models import Account, Entry, MoneyPeriod, Posting

FAR = datetime(2200, 1, 1, tzinfo=UTC)

TERMS: dict[str, dict[str, Any]] = {
    "cafe": {"key": "cafe", "name": "Qahwa Café", "name_ar": "مقهى قهوة", "currency": "SAR", "period": "monthly", "earn_rate": "2",
             "issue_price": "0.05", "redeem_value": "0.04", "issue_fee": "0.1", "redeem_fee": "0.05"},
    "pharmacy": {"key": "pharmacy", "name": "Shifa Pharmacy", "currency": "SAR", "period": "monthly", "earn_rate": "1",
                 "issue_price": "0.06", "redeem_value": "0.05", "own_points_name": "Shifa stars", "own_points_rate": 10},
    "souq": {"key": "souq", "name": "Souq Kuwait", "currency": "KWD", "period": "weekly", "earn_rate": "3", "issue_price": "0.0045",
             "redeem_value": "0.004", "issue_fee": "0.333", "redeem_fee": "0.125", "own_points_name": "Souq coins", "own_points_rate": 7},
}

# The café's own rules (it pays for what they give) and one of the operator's (the operator pays).
RULES: list[dict[str, Any]] = [
    {"name_en": "Café doubles", "name_ar": "مضاعفة", "trigger": "purchase", "status": "active", "partner": "cafe",
     "conditions": [{"type": "order_amount", "at_least": "50.00"}], "actions": [{"type": "multiplier", "factor": "2"}]},
    {"name_en": "Café cashback", "name_ar": "استرداد", "trigger": "purchase", "status": "active", "partner": "cafe",
     "conditions": [{"type": "order_amount", "at_least": "80.00"}], "actions": [{"type": "cashback", "percent": "5"}]},
    {"name_en": "Big basket", "name_ar": "سلة كبيرة", "trigger": "purchase", "status": "active",
     "conditions": [{"type": "order_amount", "at_least": "150.00"}], "actions": [{"type": "fixed_points", "points": 7},
                                                                               {"type": "cashback", "percent": "1"}]},
]


@dataclass
class Partner:
    id: int
    key: str
    secret: str
    terms: dict[str, Any]

    @property
    def currency(self) -> str:
        return str(self.terms["currency"])

    @property
    def period(self) -> str:
        return str(self.terms["period"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def open_coalition(client: Any, admin: dict[str, str], *, policy: str, names: list[str]) -> dict[str, Partner]:
    """PUT the coalition, add the named partners with a key each; return them by key."""
    assert client.put("/v1/coalition", json={"breakage_policy": policy}, headers=admin).status_code == 200
    partners = {}
    for name in names:
        made = client.post("/v1/partners", json=TERMS[name], headers=admin)
        assert made.status_code == 201, made.text
        key = client.post(f"/v1/partners/{made.json()['id']}/keys", json={"name": f"{name} tills"}, headers=admin)
        assert key.status_code == 201, key.text
        partners[name] = Partner(made.json()["id"], name, key.json()["secret"], TERMS[name])
    return partners


def money_of(session: Session, *, tenant_id: int, entry_id: int) -> dict[tuple[str, str], int]:
    """An entry's money legs on partner and operator accounts: {(account kind, unit): amount}."""
    rows = session.execute(
        select(Account.kind, Posting.unit, func.sum(Posting.amount))
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.tenant_id == tenant_id, Posting.entry_id == entry_id, Account.member_id.is_(None), Posting.unit != "PTS",
               Account.kind != ledger_money.OWN_POINTS_KIND)
        .group_by(Account.kind, Posting.unit)
    ).all()
    return {(kind, unit): int(amount) for kind, unit, amount in rows if amount}


def floor_of(session: Session, *, tenant_id: int, partner_id: int) -> datetime | None:
    """Where the partner's open settlement period starts (read without the floor's lock)."""
    return session.execute(
        select(MoneyPeriod.closed_through).where(MoneyPeriod.tenant_id == tenant_id, MoneyPeriod.partner_id == partner_id)
    ).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class Leg:
    """One posting of the tenant, with what settlement and `following` read of its entry and account."""

    entry_id: int
    entry_kind: str
    partner_id: int | None
    created_at: datetime
    reverses: int | None
    account_kind: str
    on_member: bool
    unit: str
    amount: int

    @property
    def is_money(self) -> bool:
        """A leg on a partner's or the operator's money (or the members' wallets, in a partner's entry)."""
        return self.unit != "PTS" and self.account_kind != ledger_money.OWN_POINTS_KIND


def legs(session: Session, *, tenant_id: int) -> list[Leg]:
    """Every posting of the tenant (a test tenant's ledger is small), read in one query."""
    rows = session.execute(
        select(Entry.id, Entry.kind, Entry.partner_id, Entry.created_at, Entry.reverses_entry_id, Account.kind,
               Account.member_id.is_not(None), Posting.unit, Posting.amount)
        .join(Posting, Posting.entry_id == Entry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(Entry.tenant_id == tenant_id, Posting.tenant_id == tenant_id)
    ).all()
    return [Leg(*row) for row in rows]


def floors(session: Session, *, tenant_id: int) -> dict[int, datetime]:
    """Where each partner's open settlement period starts (partners with nothing closed are not listed)."""
    return dict(session.execute(select(MoneyPeriod.partner_id, MoneyPeriod.closed_through).where(MoneyPeriod.tenant_id == tenant_id)).all())


def drafts(rows: list[Leg]) -> tuple[dict[str, int], dict[str, int]]:
    """The partner's and the operator's nets per currency that settlement drafts from a partner's money legs."""
    summed: dict[tuple[str, str, str], int] = defaultdict(int)
    for leg in rows:
        summed[(leg.entry_kind, leg.account_kind, leg.unit)] += leg.amount
    partner, operator = partner_drafts([(*key, amount) for key, amount in summed.items()])
    return {c: d.net for c, d in partner.items()}, {c: d.net for c, d in operator.items()}


class Closed(NamedTuple):
    """A closed statement as it reads: all of it, so that any change shows."""

    run_id: int
    party: str
    partner_id: int | None
    period: str
    starts_at: datetime
    ends_at: datetime
    currency: str
    lines: list[dict[str, Any]]
    points_issued: int
    points_redeemed: int
    net: int
    closed_at: datetime


def statements(session: Session, *, tenant_id: int) -> dict[int, Closed]:
    """Every closed statement of the tenant, by id, as it reads now."""
    rows = session.execute(select(Statement).where(Statement.tenant_id == tenant_id).order_by(Statement.id)).scalars()
    return {
        s.id: Closed(s.run_id, s.party, s.partner_id, s.period, s.starts_at, s.ends_at, s.currency, s.lines, s.points_issued,
                     s.points_redeemed, s.net, s.closed_at)
        for s in rows
    }


def statement_sums(closed: dict[int, Closed]) -> tuple[dict[tuple[int, str], int], dict[tuple[int | None, str], int]]:
    """Per run and currency, the sum of every statement's net; per party (partner id, None: the operator) and
    currency, the sum over all runs."""
    by_run: dict[tuple[int, str], int] = defaultdict(int)
    by_party: dict[tuple[int | None, str], int] = defaultdict(int)
    for s in closed.values():
        by_run[(s.run_id, s.currency)] += s.net
        by_party[(s.partner_id, s.currency)] += s.net
    return dict(by_run), dict(by_party)

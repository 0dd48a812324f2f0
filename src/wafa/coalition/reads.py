"""The API shapes of coalition rows: partners with their stores, statements in major units."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wafa.coalition import service, settlement
from wafa.coalition.models import Partner, SettlementRun, Statement
from wafa.coalition.schemas import PartnerRead, SettlementRead, StatementLine, StatementRead, StoreRead
from wafa.money import to_major


def partner_read(session: Session, partner: Partner) -> PartnerRead:
    stores = service.stores_of(session, tenant_id=partner.tenant_id, partner_id=partner.id)
    return PartnerRead(
        id=partner.id, key=partner.key, name=partner.name, name_ar=partner.name_ar, status=partner.status, currency=partner.currency,
        period=partner.period, earn_rate=partner.earn_rate, issue_price=partner.issue_price, redeem_value=partner.redeem_value,
        issue_fee=partner.issue_fee, redeem_fee=partner.redeem_fee, own_points_name=partner.own_points_name,
        own_points_rate=partner.own_points_rate, stores=[StoreRead(code=s.code, name=s.name, city=s.city) for s in stores],
        created_at=partner.created_at, updated_at=partner.updated_at,
    )


def statement_read(statement: Statement) -> StatementRead:
    currency = statement.currency
    return StatementRead(
        id=statement.id, run_id=statement.run_id, party=statement.party, partner_id=statement.partner_id, period=statement.period,
        starts_at=statement.starts_at, ends_at=statement.ends_at, currency=currency, points_issued=statement.points_issued,
        points_redeemed=statement.points_redeemed,
        lines=[
            StatementLine(code=line["code"], label=settlement.LABELS.get(line["code"], line["code"]), points=line.get("points"),
                          amount=to_major(line["amount"], currency))
            for line in statement.lines
        ],
        net=to_major(statement.net, currency), closed_at=statement.closed_at,
    )


def settlement_read(session: Session, run: SettlementRun, *, replayed: bool) -> SettlementRead:
    return SettlementRead(
        id=run.id, period=run.period, starts_at=run.starts_at, ends_at=run.ends_at, closed_by=run.closed_by, closed_at=run.closed_at,
        replayed=replayed,
        statements=[statement_read(s) for s in settlement.statements_of_run(session, tenant_id=run.tenant_id, run_id=run.id)],
    )

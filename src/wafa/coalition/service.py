"""The coalition: the operator's settings, partners and their terms and stores (cached per process), which
partner an event or a redemption belongs to, and the money each movement of points carries
(ledger/money.py posts it; terms.py computes it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wafa import cache
from wafa.coalition import terms
from wafa.coalition.models import Coalition, Partner, PartnerStore
from wafa.coalition.schemas import CoalitionIn, PartnerIn, PartnerUpdate, StoreIn
from wafa.errors import Conflict, Forbidden, InvalidInput, NotFound
from wafa.ledger import money as ledger_money
from wafa.ledger.money import Money
from wafa.ledger.postings import Leg
from wafa.money import precision

KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


@dataclass(frozen=True, slots=True)
class Terms:
    """A partner and its terms, as the earn and redeem paths read them (cached, immutable)."""

    id: int
    key: str
    name: str
    name_ar: str | None
    status: str
    currency: str
    period: str
    earn_rate: str
    issue_price: str
    redeem_value: str
    issue_fee: str
    redeem_fee: str
    own_points_name: str | None
    own_points_rate: int | None

    @property
    def precision(self) -> int:
        return precision(self.currency)

    def name_in(self, language: str) -> str:
        return self.name_ar if language == "ar" and self.name_ar else self.name


@dataclass(frozen=True, slots=True)
class Config:
    """A coalition's settings, partners by id and key, and which partner each store code belongs to."""

    breakage_policy: str
    partners: dict[int, Terms]
    by_key: dict[str, int]
    stores: dict[str, int]


# --- the operator's settings ------------------------------------------------------------------


def _load(session: Session, tenant_id: int) -> Config | None:
    coalition = session.get(Coalition, tenant_id)
    if coalition is None:
        return None
    partners = {
        row.id: Terms(
            row.id, row.key, row.name, row.name_ar, row.status, row.currency, row.period, row.earn_rate, row.issue_price,
            row.redeem_value, row.issue_fee, row.redeem_fee, row.own_points_name, row.own_points_rate,
        )
        for row in session.execute(select(Partner).where(Partner.tenant_id == tenant_id)).scalars()
    }
    stores = dict(session.execute(select(PartnerStore.code, PartnerStore.partner_id).where(PartnerStore.tenant_id == tenant_id)).all())
    return Config(coalition.breakage_policy, partners, {terms_.key: terms_.id for terms_ in partners.values()}, stores)


def config(session: Session, *, tenant_id: int) -> Config | None:
    """The tenant's coalition (None: its program is not one), cached per process until it changes."""
    return cache.get(session, tenant_id=tenant_id, name="coalition", load=lambda: _load(session, tenant_id))


def _changed(session: Session, tenant_id: int) -> None:
    session.flush()
    cache.changed(session, tenant_id=tenant_id, name="coalition")


def get_settings(session: Session, *, tenant_id: int) -> Coalition | None:
    """The operator's settings row (None: not a coalition)."""
    return session.get(Coalition, tenant_id, populate_existing=True)


def configure(session: Session, *, tenant_id: int, coalition_in: CoalitionIn, now: datetime) -> Coalition:
    """Make the tenant's program a coalition, or change its settings; return them."""
    if coalition_in.breakage_policy not in ledger_money.BREAKAGE_POLICIES:
        raise InvalidInput(f"breakage_policy is one of {', '.join(ledger_money.BREAKAGE_POLICIES)}", field="breakage_policy")
    found = get_settings(session, tenant_id=tenant_id)
    if found is None:
        found = Coalition(tenant_id=tenant_id, breakage_policy=coalition_in.breakage_policy, created_at=now, updated_at=now)
        session.add(found)
    else:
        found.breakage_policy, found.updated_at = coalition_in.breakage_policy, now
    _changed(session, tenant_id)
    return found


def config_or_raise(session: Session, *, tenant_id: int) -> Config:
    found = config(session, tenant_id=tenant_id)
    if found is None:
        raise NotFound("this program is not a coalition: PUT /v1/coalition first")
    return found


# --- partners ---------------------------------------------------------------------------------


def _check_terms(values: dict) -> None:
    for name in ("earn_rate", "issue_price", "redeem_value", "issue_fee", "redeem_fee"):
        value = values.get(name)
        if value is not None and not terms.decimal_ok(value):
            raise InvalidInput(f"{name} is a non-negative decimal such as 1 or 0.05", field=name)
    for name in ("issue_fee", "redeem_fee"):
        value = values.get(name)
        if value is not None and not 0 <= float(value) < 1:
            raise InvalidInput(f"{name} is a fraction below 1 (0.05 for 5%)", field=name)
    if values.get("period") is not None and values["period"] not in terms.PERIODS:
        raise InvalidInput(f"period is one of {', '.join(terms.PERIODS)}", field="period")
    if values.get("currency") is not None:
        precision(values["currency"], field="currency")
    rate = values.get("own_points_rate")
    if rate is not None and not 1 <= rate <= 1_000_000:
        raise InvalidInput("own_points_rate is a whole number of the partner's points per coalition point, 1 to 1,000,000", field="own_points_rate")


def create(session: Session, *, tenant_id: int, partner_in: PartnerIn, now: datetime) -> Partner:
    """Add a partner to the coalition."""
    config_or_raise(session, tenant_id=tenant_id)
    values = partner_in.model_dump()
    values["currency"] = values["currency"].upper()
    if not KEY.fullmatch(values["key"]):
        raise InvalidInput("a partner key is lowercase letters, digits, dashes and underscores", field="key")
    _check_terms(values)
    if (values["own_points_name"] is None) != (values["own_points_rate"] is None):
        raise InvalidInput("own points need both a name and a rate", field="own_points_rate")
    if get_by_key(session, tenant_id=tenant_id, key=values["key"]) is not None:
        raise Conflict(f"a partner with key {values['key']!r} exists", field="key")
    partner = Partner(tenant_id=tenant_id, status="active", created_at=now, updated_at=now, **values)
    session.add(partner)
    _changed(session, tenant_id)
    return partner


def update(session: Session, *, tenant_id: int, partner_id: int, partner_in: PartnerUpdate, now: datetime) -> Partner:
    """Change a partner's name, status or terms; new terms apply to what happens from now on."""
    partner = get_or_raise(session, tenant_id=tenant_id, partner_id=partner_id)
    values = partner_in.model_dump(exclude_unset=True)
    if "currency" in values and values["currency"] is not None:
        values["currency"] = values["currency"].upper()
    _check_terms(values)
    for name, value in values.items():
        if value is None and name not in ("name_ar", "own_points_name", "own_points_rate"):
            raise InvalidInput(f"{name} cannot be empty", field=name)
        setattr(partner, name, value)
    if (partner.own_points_name is None) != (partner.own_points_rate is None):
        raise InvalidInput("own points need both a name and a rate", field="own_points_rate")
    partner.updated_at = now
    _changed(session, tenant_id)
    return partner


def get_by_key(session: Session, *, tenant_id: int, key: str) -> Partner | None:
    return session.execute(select(Partner).where(Partner.tenant_id == tenant_id, Partner.key == key)).scalar_one_or_none()


def get_or_raise(session: Session, *, tenant_id: int, partner_id: int) -> Partner:
    """A partner of this tenant, or NotFound."""
    partner = session.execute(
        select(Partner).where(Partner.tenant_id == tenant_id, Partner.id == partner_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if partner is None:
        raise NotFound(f"partner {partner_id} not found")
    return partner


def list_(session: Session, *, tenant_id: int, after_id: int | None = None, limit: int = 100) -> list[Partner]:
    """The coalition's partners in id order, after a cursor (limit + 1 rows: one more says there is a next page)."""
    query = select(Partner).where(Partner.tenant_id == tenant_id)
    if after_id is not None:
        query = query.where(Partner.id > after_id)
    return list(session.execute(query.order_by(Partner.id).limit(limit + 1)).scalars())


def terms_of(session: Session, *, tenant_id: int, partner_id: int) -> Terms:
    """A partner's cached terms, or NotFound."""
    found = config_or_raise(session, tenant_id=tenant_id).partners.get(partner_id)
    if found is None:
        raise NotFound(f"partner {partner_id} not found")
    return found


# --- stores -----------------------------------------------------------------------------------


def add_store(session: Session, *, tenant_id: int, partner_id: int, store_in: StoreIn, now: datetime) -> PartnerStore:
    """Give a partner a store: events naming its code are the partner's."""
    get_or_raise(session, tenant_id=tenant_id, partner_id=partner_id)
    taken = session.execute(
        select(PartnerStore.partner_id).where(PartnerStore.tenant_id == tenant_id, PartnerStore.code == store_in.code)
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict(f"store {store_in.code!r} belongs to a partner already", field="code")
    store = PartnerStore(tenant_id=tenant_id, partner_id=partner_id, created_at=now, **store_in.model_dump())
    session.add(store)
    _changed(session, tenant_id)
    return store


def stores_of(session: Session, *, tenant_id: int, partner_id: int | None = None) -> list[PartnerStore]:
    """The coalition's stores (of one partner), by partner then code."""
    query = select(PartnerStore).where(PartnerStore.tenant_id == tenant_id)
    if partner_id is not None:
        query = query.where(PartnerStore.partner_id == partner_id)
    return list(session.execute(query.order_by(PartnerStore.partner_id, PartnerStore.code)).scalars())


def remove_store(session: Session, *, tenant_id: int, partner_id: int, code: str) -> None:
    """Take a store from a partner (its past events stay the partner's)."""
    store = session.execute(
        select(PartnerStore).where(PartnerStore.tenant_id == tenant_id, PartnerStore.partner_id == partner_id, PartnerStore.code == code)
    ).scalar_one_or_none()
    if store is None:
        raise NotFound(f"partner {partner_id} has no store {code!r}")
    session.delete(store)
    _changed(session, tenant_id)


# --- which partner ----------------------------------------------------------------------------


def attribute(
    session: Session, *, tenant_id: int, key_partner_id: int | None, named: str | None, store: str | None,
) -> Terms | None:
    """The partner an event or redemption happens at: the key's own partner, or the one an operator's key
    names (`named`, a partner key), or the one owning the store; None outside a coalition or a partner.

    A partner's key may not name another partner or another partner's store; a suspended partner records nothing.
    """
    found = config(session, tenant_id=tenant_id)
    if found is None:
        if named is not None or key_partner_id is not None:
            raise InvalidInput("this program is not a coalition: events name no partner", field="partner")
        return None
    partner_id: int | None = None
    if named is not None:
        partner_id = found.by_key.get(named)
        if partner_id is None:
            raise InvalidInput(f"no partner {named!r} in this coalition", field="partner")
    store_partner = found.stores.get(store) if store is not None else None
    if key_partner_id is not None:
        if partner_id is not None and partner_id != key_partner_id:
            raise Forbidden("a partner's key records events for its own partner only")
        if store is not None and store_partner is not None and store_partner != key_partner_id:
            raise Forbidden(f"store {store!r} belongs to another partner")
        partner_id = key_partner_id
    elif partner_id is not None:
        if store_partner is not None and store_partner != partner_id:
            raise InvalidInput(f"store {store!r} belongs to another partner than {named!r}", field="store")
    else:
        partner_id = store_partner
    if partner_id is None:
        return None
    terms_ = found.partners.get(partner_id)
    if terms_ is None:
        raise Forbidden("this key's partner is no longer in the coalition")
    if terms_.status != "active":
        raise Forbidden(f"partner {terms_.key!r} is {terms_.status}: it records nothing until reactivated")
    return terms_


def own(principal_partner_id: int | None, partner_id: int | None) -> None:
    """Refuse a partner's key a thing of another partner's (or of no partner): NotFound, as if it did not exist."""
    if principal_partner_id is not None and partner_id != principal_partner_id:
        raise NotFound("not found")


# --- the money movements of points carry ------------------------------------------------------


def _legs(*pieces: tuple[int, int, str]) -> tuple[Leg, ...]:
    return tuple(Leg(account, amount, member_account=False, unit=unit) for account, amount, unit in pieces if amount)


def earn_money(session: Session, *, tenant_id: int, partner: Terms, points: int) -> Money:
    """What points issued at a partner cost it: owed by the partner, to the fund and the commission."""
    policy = config_or_raise(session, tenant_id=tenant_id).breakage_policy
    cost = terms.issued(points, price=partner.issue_price, fee_rate=partner.issue_fee, precision=partner.precision)
    currency = partner.currency
    details = {"breakage": policy, "points_charged": points, "issue_price": partner.issue_price, "currency": currency}
    if not cost.gross:
        return Money(partner.id, (), details)
    return Money(partner.id, _legs(
        (ledger_money.partner_account(session, tenant_id=tenant_id, partner_id=partner.id, unit=currency), -cost.gross, currency),
        (ledger_money.operator_account(session, tenant_id=tenant_id, kind=ledger_money.FUND, currency=currency), cost.to_fund, currency),
        (ledger_money.operator_account(session, tenant_id=tenant_id, kind=ledger_money.COMMISSION, currency=currency), cost.commission, currency),
    ), details)


def redeem_money(session: Session, *, tenant_id: int, partner: Terms, points: int) -> Money:
    """What points spent at a partner pay it: the fund pays their value, less the operator's commission."""
    worth = terms.redeemed(points, value=partner.redeem_value, fee_rate=partner.redeem_fee, precision=partner.precision)
    currency = partner.currency
    details = {"redeem_value": partner.redeem_value, "currency": currency}
    if not worth.gross:
        return Money(partner.id, (), details)
    return Money(partner.id, _legs(
        (ledger_money.partner_account(session, tenant_id=tenant_id, partner_id=partner.id, unit=currency), worth.to_partner, currency),
        (ledger_money.operator_account(session, tenant_id=tenant_id, kind=ledger_money.FUND, currency=currency), -worth.gross, currency),
        (ledger_money.operator_account(session, tenant_id=tenant_id, kind=ledger_money.COMMISSION, currency=currency), worth.commission, currency),
    ), details)


def spend_money(session: Session, *, tenant_id: int, partner: Terms, amount: int, currency: str) -> Money:
    """Wallet money spent at a partner: the operator pays it over (less commission) instead of keeping
    it as spent (the wallet's `wallet_spent` account nets to zero for it)."""
    worth = terms.spent(amount, fee_rate=partner.redeem_fee)
    return Money(partner.id, _legs(
        (ledger_money.operator_account(session, tenant_id=tenant_id, kind="wallet_spent", currency=currency), -amount, currency),
        (ledger_money.partner_account(session, tenant_id=tenant_id, partner_id=partner.id, unit=currency), worth.to_partner, currency),
        (ledger_money.operator_account(session, tenant_id=tenant_id, kind=ledger_money.COMMISSION, currency=currency), worth.commission, currency),
    ), {"currency": currency})


def cashback_money(session: Session, *, tenant_id: int, partner: Terms, amount: int, currency: str, sign: int = 1) -> Money:
    """Cashback a partner's own rules give (sign 1), or that a return takes back (sign -1): the partner
    pays it (or is repaid) instead of the program's cashback account."""
    return Money(partner.id, _legs(
        (ledger_money.operator_account(session, tenant_id=tenant_id, kind="cashback", currency=currency), sign * amount, currency),
        (ledger_money.partner_account(session, tenant_id=tenant_id, partner_id=partner.id, unit=currency), -sign * amount, currency),
    ), {"currency": currency})


def conversion_money(session: Session, *, tenant_id: int, amount: int, currency: str, sign: int = 1) -> Money | None:
    """Points converted to wallet money in a coalition are paid for from the fund (sign -1: a cancelled
    conversion puts it back); None outside a coalition."""
    if config(session, tenant_id=tenant_id) is None:
        return None
    return Money(None, _legs(
        (ledger_money.operator_account(session, tenant_id=tenant_id, kind="cashback", currency=currency), sign * amount, currency),
        (ledger_money.operator_account(session, tenant_id=tenant_id, kind=ledger_money.FUND, currency=currency), -sign * amount, currency),
    ), {"conversion": True, "currency": currency})


def with_partner(money: Money, partner: Terms | None) -> Money | None:
    """`money` dated at a partner (for a movement that carries none of its own), or as it is."""
    if partner is None:
        return money if money.legs else None
    return replace(money, partner_id=partner.id)


def tenant_ids(session: Session) -> list[int]:
    """The tenants whose programs are coalitions."""
    return list(session.execute(select(Coalition.tenant_id).order_by(Coalition.tenant_id)).scalars())


def count_partners(session: Session, *, tenant_id: int) -> int:
    return int(session.execute(select(func.count()).select_from(Partner).where(Partner.tenant_id == tenant_id)).scalar_one())


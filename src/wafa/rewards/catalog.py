"""The reward catalog: create and change rewards, their stock, and what locks a reward for a member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from wafa.analytics import audiences
from wafa.analytics import segments as analytics_segments
from wafa.coalition import service as coalition
from wafa.errors import Conflict, InvalidInput, NotFound
from wafa.members.models import Member
from wafa.memberships import service as memberships
from wafa.money import to_major, to_minor
from wafa.programs.service import ProgramConfig
from wafa.rewards.discounts import Discount
from wafa.rewards.models import Reward, RewardRedemption, Voucher
from wafa.rewards.schemas import DiscountIn, RewardIn, RewardUpdate
from wafa.rules import service as rules
from wafa.tiers import service as tiers


def discount_of(discount_in: DiscountIn, *, base_currency: str, field: str = "discount") -> Discount:
    """A discount's API terms (major units) as stored (minor units)."""
    currency = (discount_in.currency or base_currency).upper()

    def minor(value: str | None, name: str) -> int | None:
        return None if value is None else to_minor(value, currency, field=f"{field}.{name}")

    if discount_in.type == "fixed" and not minor(discount_in.amount, "amount"):
        raise InvalidInput("a fixed discount must be more than zero", field=f"{field}.amount")
    return Discount(
        type=discount_in.type, currency=currency, amount=minor(discount_in.amount, "amount") or 0,
        percent=str(Decimal(discount_in.percent)) if discount_in.percent else "0",
        min_order=minor(discount_in.min_order, "min_order") or 0, max_discount=minor(discount_in.max_discount, "max_discount"),
        categories=tuple(discount_in.categories), skus=tuple(discount_in.skus),
        free_sku=discount_in.sku, free_quantity=discount_in.quantity,
    )


def discount_to_api(discount: Discount) -> dict[str, Any]:
    """A stored discount in the API's terms (major units)."""
    cur = discount.currency
    out: dict[str, Any] = {"type": discount.type, "currency": cur}
    if discount.type == "fixed":
        out["amount"] = to_major(discount.amount, cur)
    if discount.type == "percent":
        out["percent"] = discount.percent
    if discount.type == "free_product":
        out |= {"sku": discount.free_sku, "quantity": discount.free_quantity}
    if discount.min_order:
        out["min_order"] = to_major(discount.min_order, cur)
    if discount.max_discount is not None:
        out["max_discount"] = to_major(discount.max_discount, cur)
    if discount.categories:
        out["categories"] = list(discount.categories)
    if discount.skus:
        out["skus"] = list(discount.skus)
    return out


def _config(gives: Any, *, program: ProgramConfig) -> dict[str, Any]:
    """What a reward gives, as stored: discounts in minor units, the cashback rate checked."""
    config = gives.model_dump(mode="json")
    if gives.type == "coupon":
        config["discount"] = discount_of(gives.discount, base_currency=program.base_currency, field="gives.discount").to_json()
    if gives.type == "free_product":
        config["discount"] = Discount(
            type="free_product", currency=program.base_currency, free_sku=gives.sku, free_quantity=gives.quantity
        ).to_json()
    if gives.type == "cashback":
        rate = Decimal(gives.rate) if gives.rate is not None else Decimal(program.point_cost)
        if rate <= 0:
            raise InvalidInput(
                "a cashback reward needs a rate, or the program's point cost to be set", field="gives.rate"
            )
        config["rate"] = str(rate)
    return config


def plan_keys(session: Session, *, tenant_id: int, keys: list[str]) -> list[str]:
    """`keys` as the program's paid plan keys (in any case); InvalidInput naming the first unknown one."""
    known = {plan.key.lower(): plan.key for plan in memberships.list_plans(session, tenant_id=tenant_id)}
    out: list[str] = []
    for index, key in enumerate(keys):
        if key.strip().lower() not in known:
            raise InvalidInput(f"no membership plan with key {key!r}", field=f"plans[{index}]")
        if known[key.strip().lower()] not in out:
            out.append(known[key.strip().lower()])
    return out


def targeting(session: Session, *, tenant_id: int, tiers: list[str], segments: list[str], plans: list[str]) -> tuple[list, list, list]:
    """A reward's tiers, segments and plans as the program's own keys; InvalidInput naming the first one it
    does not have (a reward limited to a tier that does not exist would be locked for everyone)."""
    return (
        audiences.tier_keys(session, tenant_id=tenant_id, keys=tiers, field="tiers"),
        audiences.segment_keys(session, tenant_id=tenant_id, keys=segments, field="segments"),
        plan_keys(session, tenant_id=tenant_id, keys=plans),
    )


def create(session: Session, *, tenant_id: int, reward_in: RewardIn, program: ProgramConfig, now: datetime) -> Reward:
    """Add a reward to the catalog."""
    if get_by_key(session, tenant_id=tenant_id, key=reward_in.key) is not None:
        raise Conflict(f"a reward with key {reward_in.key!r} exists", field="key")
    if reward_in.valid_from and reward_in.valid_until and reward_in.valid_until <= reward_in.valid_from:
        raise InvalidInput("valid_until must be after valid_from", field="valid_until")
    if reward_in.gives.type == "voucher" and reward_in.stock is not None:
        raise InvalidInput("a voucher reward's stock is the codes uploaded to it", field="stock")
    chosen_tiers, chosen_segments, chosen_plans = targeting(
        session, tenant_id=tenant_id, tiers=reward_in.tiers, segments=reward_in.segments, plans=reward_in.plans,
    )
    reward = Reward(
        tenant_id=tenant_id, key=reward_in.key, kind=reward_in.gives.type, name_en=reward_in.name_en, name_ar=reward_in.name_ar,
        description_en=reward_in.description_en, description_ar=reward_in.description_ar, image_url=reward_in.image_url,
        points=reward_in.points,
        money=to_minor(reward_in.money, program.base_currency, field="money") if reward_in.money else 0,
        stock_left=reward_in.stock, limit_count=reward_in.limit.count if reward_in.limit else None,
        limit_period=reward_in.limit.period if reward_in.limit else None, valid_from=reward_in.valid_from,
        valid_until=reward_in.valid_until, tiers=chosen_tiers, segments=chosen_segments, plans=chosen_plans,
        status=reward_in.status, config=_config(reward_in.gives, program=program), created_at=now, updated_at=now,
        partner_id=_partner_id(session, tenant_id=tenant_id, key=reward_in.partner),
    )
    if reward.kind == "cashback" and reward.points == 0:
        raise InvalidInput("a cashback reward converts at least one point", field="points")
    session.add(reward)
    session.flush()
    return reward


def update_(session: Session, *, tenant_id: int, reward_id: int, reward_in: RewardUpdate, program: ProgramConfig, now: datetime) -> Reward:
    """Change a reward; its kind stays. Coupons already issued keep the terms they were issued with."""
    reward = get_or_raise(session, tenant_id=tenant_id, reward_id=reward_id, lock=True)
    changes = reward_in.model_dump(exclude_unset=True)
    for name in ("name_en", "name_ar", "description_en", "description_ar", "image_url", "valid_from", "valid_until"):
        if name in changes:
            setattr(reward, name, changes[name])
    chosen = dict(zip(("tiers", "segments", "plans"), targeting(
        session, tenant_id=tenant_id, tiers=changes.get("tiers") or [], segments=changes.get("segments") or [],
        plans=changes.get("plans") or [],
    ), strict=True))
    for name in ("points", "status", "tiers", "segments", "plans"):
        if changes.get(name) is not None:
            setattr(reward, name, chosen.get(name, changes[name]))
    if "money" in changes:
        reward.money = to_minor(changes["money"], program.base_currency, field="money") if changes["money"] else 0
    if "limit" in changes:
        reward.limit_count = reward_in.limit.count if reward_in.limit else None
        reward.limit_period = reward_in.limit.period if reward_in.limit else None
    if "partner" in changes:
        reward.partner_id = _partner_id(session, tenant_id=tenant_id, key=changes["partner"])
    if reward_in.unlimited_stock:
        reward.stock_left = None
    elif reward_in.stock is not None:
        if reward.kind == "voucher":
            raise InvalidInput("a voucher reward's stock is the codes uploaded to it", field="stock")
        reward.stock_left = reward_in.stock
    if reward_in.gives is not None:
        if reward_in.gives.type != reward.kind:
            raise InvalidInput(f"this reward gives a {reward.kind}; its kind cannot change", field="gives.type")
        reward.config = _config(reward_in.gives, program=program)
    if reward.valid_from and reward.valid_until and reward.valid_until <= reward.valid_from:
        raise InvalidInput("valid_until must be after valid_from", field="valid_until")
    if reward.kind == "cashback" and reward.points == 0:
        raise InvalidInput("a cashback reward converts at least one point", field="points")
    reward.updated_at = now
    session.flush()
    return reward


def _partner_id(session: Session, *, tenant_id: int, key: str | None) -> int | None:
    """The id of the coalition partner a reward names by key (None: the operator's own reward)."""
    if key is None:
        return None
    found = coalition.config(session, tenant_id=tenant_id)
    if found is None or key not in found.by_key:
        raise InvalidInput(f"no partner {key!r} in this coalition", field="partner")
    return found.by_key[key]


def partner_key(session: Session, *, reward: Reward) -> str | None:
    """The key of the partner that gives a reward (None: the operator's own)."""
    if reward.partner_id is None:
        return None
    found = coalition.config(session, tenant_id=reward.tenant_id)
    partner = found.partners.get(reward.partner_id) if found is not None else None
    return partner.key if partner is not None else None


def get_by_key(session: Session, *, tenant_id: int, key: str) -> Reward | None:
    """Return a reward of this tenant by key, or None."""
    return session.execute(select(Reward).where(Reward.tenant_id == tenant_id, Reward.key == key)).scalar_one_or_none()


def by_ids(session: Session, *, tenant_id: int, reward_ids: list[int]) -> dict[int, Reward]:
    """The tenant's rewards with these ids, by id (ids of none left out)."""
    if not reward_ids:
        return {}
    rows = session.execute(select(Reward).where(Reward.tenant_id == tenant_id, Reward.id.in_(sorted(set(reward_ids))))).scalars()
    return {reward.id: reward for reward in rows}


def get_or_raise(session: Session, *, tenant_id: int, reward_id: int, lock: bool = False) -> Reward:
    """Return a reward of this tenant by id or raise NotFound."""
    query = select(Reward).where(Reward.tenant_id == tenant_id, Reward.id == reward_id)
    if lock:
        query = query.with_for_update()
    reward = session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()
    if reward is None:
        raise NotFound(f"reward {reward_id} not found", field="reward_id")
    return reward


def get_by_key_or_raise(session: Session, *, tenant_id: int, key: str) -> Reward:
    """Return a reward of this tenant by key or raise NotFound."""
    reward = get_by_key(session, tenant_id=tenant_id, key=key)
    if reward is None:
        raise NotFound(f"reward {key!r} not found", field="reward_key")
    return reward


def list_(
    session: Session, *, tenant_id: int, statuses: tuple[str, ...] | None, after_id: int | None, limit: int
) -> list[Reward]:
    """Rewards in id order after a cursor (limit + 1 rows: one more says there is a next page)."""
    query = select(Reward).where(Reward.tenant_id == tenant_id)
    if statuses:
        query = query.where(Reward.status.in_(statuses))
    if after_id is not None:
        query = query.where(Reward.id > after_id)
    return list(session.execute(query.order_by(Reward.id).limit(limit + 1)).scalars())


def table_query(*, tenant_id: int, status: str | None = None, kind: str | None = None, search: str | None = None) -> Select:
    """Rewards of a status and kind, whose key or names contain `search`, for a table to sort and page."""
    query = select(Reward).where(Reward.tenant_id == tenant_id)
    if status:
        query = query.where(Reward.status == status)
    if kind:
        query = query.where(Reward.kind == kind)
    if search:
        text = search.lower()
        query = query.where(
            func.lower(Reward.key).contains(text, autoescape=True) | func.lower(Reward.name_en).contains(text, autoescape=True)
            | Reward.name_ar.contains(search, autoescape=True)
        )
    return query


def stock_of(session: Session, *, reward: Reward) -> int | None:
    """What is left to redeem: the stock count, the voucher codes not yet handed out, or None (unlimited)."""
    if reward.kind == "voucher":
        return session.execute(
            select(func.count()).where(
                Voucher.tenant_id == reward.tenant_id, Voucher.reward_id == reward.id, Voucher.status == "available"
            )
        ).scalar_one()
    return reward.stock_left


def take_stock(session: Session, *, tenant_id: int, reward_id: int) -> bool:
    """Take one from a counted stock; False when none is left. The guarded update is the gate: two
    redemptions of the last one at once see the row one after the other, and only one finds it."""
    taken = session.execute(
        update(Reward)
        .where(Reward.tenant_id == tenant_id, Reward.id == reward_id, Reward.stock_left.is_not(None), Reward.stock_left > 0)
        .values(stock_left=Reward.stock_left - 1)
        .returning(Reward.id)
    ).first()
    return taken is not None


def put_back_stock(session: Session, *, tenant_id: int, reward_id: int) -> None:
    """Return one to a counted stock (a cancelled redemption)."""
    session.execute(
        update(Reward)
        .where(Reward.tenant_id == tenant_id, Reward.id == reward_id, Reward.stock_left.is_not(None))
        .values(stock_left=Reward.stock_left + 1)
    )


def period_bounds(period: str, *, now: datetime, timezone: str) -> tuple[datetime, datetime] | None:
    """The current day, week, month or year in the program's time zone as UTC bounds (None: lifetime)."""
    if period == "lifetime":
        return None
    if period == "year":
        zone = ZoneInfo(timezone)
        start = now.astimezone(zone).replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        end = start.replace(year=start.year + 1)
        return start.replace(tzinfo=zone).astimezone(UTC), end.replace(tzinfo=zone).astimezone(UTC)
    return rules.periods(now, timezone)[period]


def redeemed_count(session: Session, *, reward: Reward, member_id: int, now: datetime, timezone: str) -> int:
    """How many of this reward the member bought with points in the limit's current period (cancelled ones don't count)."""
    query = select(func.count()).where(
        RewardRedemption.tenant_id == reward.tenant_id, RewardRedemption.member_id == member_id,
        RewardRedemption.reward_id == reward.id, RewardRedemption.source == "points",
        RewardRedemption.status != "cancelled",
    )
    bounds = period_bounds(reward.limit_period or "lifetime", now=now, timezone=timezone)
    if bounds is not None:
        query = query.where(RewardRedemption.created_at >= bounds[0], RewardRedemption.created_at < bounds[1])
    return session.execute(query).scalar_one()


@dataclass(frozen=True, slots=True)
class Standing:
    """What eligibility asks of a member besides points: their tier (its key and name, lower-cased),
    segments, and the key of the paid plan in force."""

    tiers: frozenset[str]
    segments: frozenset[str]
    plan: str | None = None


def standing(session: Session, *, member: Member) -> Standing:
    """A member's tier, segments and paid plan (read once per transaction: a catalog asks per reward)."""
    memo = session.info.setdefault("reward_standing", {})
    if member.id not in memo:
        memo[member.id] = _standing(session, member=member)
    return memo[member.id]


def _standing(session: Session, *, member: Member) -> Standing:
    in_force = memberships.in_force(session, tenant_id=member.tenant_id, member_id=member.id)
    return Standing(
        tiers=tiers.standing(session, tenant_id=member.tenant_id, member_id=member.id).names,
        segments=analytics_segments.segments_of(session, tenant_id=member.tenant_id, member_id=member.id),
        plan=in_force[1].key if in_force else None,
    )


_LIMIT_WORDS = {"day": "a day", "week": "a week", "month": "a month", "year": "a year", "lifetime": "in all"}


def locks(
    session: Session, *, reward: Reward, member: Member, available_points: int, program: ProgramConfig, now: datetime,
    points: int | None = None,
) -> list[dict[str, str]]:
    """Why a member cannot redeem a reward now (empty: they can), each as a code and a sentence."""
    out: list[dict[str, str]] = []
    if reward.status != "active":
        out.append({"code": "status", "message": f"this reward is {reward.status}"})
    if reward.valid_from is not None and now < reward.valid_from:
        out.append({"code": "not_yet", "message": f"available from {reward.valid_from.isoformat()}"})
    if reward.valid_until is not None and now >= reward.valid_until:
        out.append({"code": "ended", "message": f"ended on {reward.valid_until.isoformat()}"})
    if member.status != "active":
        out.append({"code": "member", "message": f"the member is {member.status}"})
    who = standing(session, member=member)
    if reward.tiers and not who.tiers.intersection(tier.lower() for tier in reward.tiers):
        named = {t.key: t.name_en for t in tiers.tiers_of(session, tenant_id=reward.tenant_id)}
        out.append({"code": "tier", "message": f"needs {' or '.join(named.get(t, t) for t in reward.tiers)} tier"})
    if reward.segments and not who.segments.intersection(reward.segments):
        out.append({"code": "segment", "message": f"for members in {' or '.join(reward.segments)}"})
    if reward.plans and who.plan not in reward.plans:
        out.append({"code": "plan", "message": f"for {' or '.join(reward.plans)} members"})
    cost = max(points or 0, reward.points)
    if available_points < 0 and program.block_redemptions_in_debt:
        out.append({"code": "debt", "message": f"the member owes {-available_points} points"})
    elif available_points < cost:
        out.append({"code": "points", "message": f"you have {max(available_points, 0)} of {cost} points"})
    stock = stock_of(session, reward=reward)
    if stock is not None and stock <= 0:
        out.append({"code": "stock", "message": "out of stock"})
    if reward.limit_count is not None:
        used = redeemed_count(session, reward=reward, member_id=member.id, now=now, timezone=program.timezone)
        if used >= reward.limit_count:
            out.append({
                "code": "limit",
                "message": f"limit reached: {reward.limit_count} {_LIMIT_WORDS[reward.limit_period or 'lifetime']}",
            })
    return out

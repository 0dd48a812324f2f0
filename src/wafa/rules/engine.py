"""The rules engine: a pure function from (rules, event, member, usage) to awards.

No database, no clock, no eval: everything it needs comes in as frozen facts, and the same inputs
always give the same awards. Stacking: every matching stackable rule applies; an exclusive rule
shuts out the rules of lower priority, and among exclusive rules of the same priority the one worth
most to the member wins (most points, then most cashback, then the oldest rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from wafa.rules import schemas as s

# --- facts in ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """One order line; `earns` is False for discounted or reward lines, which earn nothing by default."""

    sku: str
    quantity: int
    unit_price: int  # minor units
    category: str | None = None
    brand: str | None = None
    earns: bool = True


@dataclass(frozen=True, slots=True)
class EventFacts:
    type: str
    occurred_at: datetime
    currency: str | None = None
    precision: int = 2
    amount: int = 0  # minor units paid for the whole order
    lines: tuple[Line, ...] = ()
    channel: str | None = None
    store: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    coupon_codes: tuple[str, ...] = ()
    # In a coalition: the key of the partner where the event happened (a partner's own rules apply there only).
    partner: str | None = None
    # The lines' total at list price, which every share of the amount is taken against: summed once.
    listed: int = field(init=False, default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "listed", sum(line.quantity * line.unit_price for line in self.lines))


@dataclass(frozen=True, slots=True)
class MemberFacts:
    locale: str | None = None
    city: str | None = None
    birth_date: date | None = None
    tier: str | None = None
    segments: frozenset[str] = frozenset()
    purchase_number: int = 0  # counting this purchase: 1 on the first
    # Running experiment key -> the member's arm (or "holdout"); read only when a rule asks (needs_experiments).
    arms: Mapping[str, str] = field(default_factory=dict)
    # Keys of the personal offers the member holds live; read only when a rule asks (needs_offers).
    offers: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    version: int
    definition: s.RuleDefinition


@dataclass(frozen=True, slots=True)
class Usage:
    """What a rule has already given: to this member per period, and in total against its budget."""

    member_day: int = 0
    member_week: int = 0
    member_month: int = 0
    member_lifetime: int = 0
    budget_points_used: int = 0
    budget_money_left: int | None = None  # minor units of the event's currency; None: no money budget


# --- awards out --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Award:
    """What one rule gives for one event."""

    rule_id: int
    version: int
    name_en: str
    name_ar: str
    points: int = 0
    cashback: int = 0  # minor units of the event's currency
    stamps: tuple[tuple[str, int], ...] = ()
    rewards: tuple[str, ...] = ()
    capped_by: str | None = None

    @property
    def worth(self) -> tuple[int, int]:
        return (self.points, self.cashback)

    @property
    def empty(self) -> bool:
        return not (self.points or self.cashback or self.stamps or self.rewards)

    def describe(self, locale: str = "en", *, currency: str | None = None, precision: int = 2, sign: int = 1) -> str:
        """A history line: "+240 points, rule 'Weekend x2' v3" (`sign=-1` for what a return takes back)."""
        name = self.name_ar if locale == "ar" else self.name_en
        parts = []
        if self.points:
            parts.append(f"{sign * self.points:+d} points")
        if self.cashback:
            money = Decimal(sign * self.cashback).scaleb(-precision)
            parts.append(f"{money:+.{precision}f} {currency or ''} cashback".replace("  ", " "))
        parts += [f"{count} stamp(s) on {card}" for card, count in self.stamps]
        parts += [f"reward {reward}" for reward in self.rewards]
        return f"{', '.join(parts) or 'nothing'}, rule '{name}' v{self.version}"


# --- the engine ---------------------------------------------------------------------------------


def evaluate(
    rules: Iterable[Rule],
    event: EventFacts,
    member: MemberFacts,
    *,
    base_points: int,
    timezone: str,
    usage: Mapping[int, Usage] | None = None,
) -> list[Award]:
    """The awards the rules give for this event, in the order they apply."""
    zone = ZoneInfo(timezone)
    usage = usage or {}
    memo: dict[object, list[Line]] = {}  # matching lines per item filter, for this event only
    candidates: list[tuple[Rule, Award]] = []
    for rule in rules:
        spec = rule.definition
        if spec.trigger != event.type or not in_window(spec.window, event.occurred_at, zone):
            continue
        if spec.partner is not None and spec.partner != event.partner:
            continue
        if not all(holds(condition, event, member, memo) for condition in spec.conditions):
            continue
        award = capped(rule, raw_award(rule, event, base_points, memo), usage.get(rule.id, Usage()))
        if not award.empty:
            candidates.append((rule, award))
    return _stack(candidates)


def _stack(candidates: list[tuple[Rule, Award]]) -> list[Award]:
    return stacking(candidates)[0]


def stacking(candidates: list[tuple[Rule, Award]]) -> tuple[list[Award], Rule | None]:
    """The awards that apply, in order, and the exclusive rule that shut out the others (None: none did)."""
    applied: list[Award] = []
    for priority in sorted({rule.definition.priority for rule, _ in candidates}, reverse=True):
        level = [(rule, award) for rule, award in candidates if rule.definition.priority == priority]
        applied += [award for rule, award in level if rule.definition.stackable]
        exclusive = [(rule, award) for rule, award in level if not rule.definition.stackable]
        if exclusive:
            winner, best = max(exclusive, key=lambda pair: (pair[1].worth, -pair[0].id))
            applied.append(best)
            return applied, winner  # an exclusive rule shuts out every lower priority
    return applied, None


def in_window(window: s.Window, occurred_at: datetime, zone: ZoneInfo) -> bool:
    """Whether a moment falls in a rule's active period, read in the program's time zone."""
    return outside_window(window, occurred_at, zone) is None


def outside_window(window: s.Window, occurred_at: datetime, zone: ZoneInfo) -> str | None:
    """Why a moment falls outside a rule's active period ("not_started", "ended", "day", "hours"), or
    None when it falls inside."""
    if window.starts_at is not None and occurred_at < window.starts_at:
        return "not_started"
    if window.ends_at is not None and occurred_at >= window.ends_at:
        return "ended"
    local = occurred_at.astimezone(zone)
    if window.days_of_week is not None and local.weekday() not in window.days_of_week:
        return "day"
    if window.hours is not None:
        now, start, end = local.time().replace(tzinfo=None), window.hours.start, window.hours.end
        inside = start <= now < end if start <= end else (now >= start or now < end)
        if not inside:
            return "hours"
    return None


# --- conditions ---------------------------------------------------------------------------------


def _minor(amount: str, precision: int) -> Fraction:
    return Fraction(Decimal(amount)) * 10**precision


def _matches(line: Line, match: s.ItemFilter) -> bool:
    return bool(
        (match.skus and line.sku in match.skus)
        or (match.categories and line.category in match.categories)
        or (match.brands and line.brand in match.brands)
    )


def _lines(event: EventFacts, match: s.ItemFilter | None, memo: dict[object, list[Line]] | None = None) -> list[Line]:
    # Rules test the same filter in a condition and an action, and many rules share filters: one
    # pass over the lines per distinct filter and event.
    key = None if match is None else (tuple(match.skus or ()), tuple(match.categories or ()), tuple(match.brands or ()), match.include_non_earning)
    if memo is not None and key in memo:
        return memo[key]
    if match is None:
        found = [line for line in event.lines if line.earns]
    else:
        skus, categories, brands = set(match.skus or ()), set(match.categories or ()), set(match.brands or ())
        found = [
            line for line in event.lines
            if (line.earns or match.include_non_earning)
            and (line.sku in skus or line.category in categories or line.brand in brands)
        ]
    if memo is not None:
        memo[key] = found
    return found


def paid_for(event: EventFacts, lines: Sequence[Line]) -> Fraction:
    """What the customer paid for these lines: the order's amount shared by list price."""
    if not event.lines:
        return Fraction(event.amount)
    if event.listed == 0:
        return Fraction(0)
    return Fraction(event.amount * sum(line.quantity * line.unit_price for line in lines), event.listed)


def _paid(event: EventFacts, match: s.ItemFilter | None, memo: dict[object, list[Line]] | None = None) -> Fraction:
    """The money an action counts: the earning lines (all, or the matching ones) or, with no lines, the order."""
    if not event.lines:
        return Fraction(event.amount) if match is None else Fraction(0)
    return paid_for(event, _lines(event, match, memo))


def age_band(birth: date | None, on: date) -> str:
    if birth is None:
        return "unknown"
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    for limit, band in ((18, "under_18"), (25, "18_24"), (35, "25_34"), (45, "35_44"), (55, "45_54"), (65, "55_64")):
        if age < limit:
            return band
    return "65_plus"


def _attribute(attributes: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = attributes
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _compare(op: str, found: Any, wanted: Any) -> bool:
    if op == "in":
        return found in wanted
    if op == "contains":
        if isinstance(found, str):
            return isinstance(wanted, str) and wanted in found
        return isinstance(found, list) and wanted in found
    if op in ("eq", "ne"):
        return (found == wanted) == (op == "eq")
    numeric = (int, float)
    if isinstance(found, bool) or isinstance(wanted, bool):
        return False
    if isinstance(found, numeric) and isinstance(wanted, numeric):
        return _order(op, found, wanted)
    if isinstance(found, str) and isinstance(wanted, str):
        return _order(op, found, wanted)
    return False


_Ordered = TypeVar("_Ordered", str, float)


def _order(op: str, found: _Ordered, wanted: _Ordered) -> bool:
    return {"gt": found > wanted, "gte": found >= wanted, "lt": found < wanted, "lte": found <= wanted}[op]


def holds(condition: s.Condition, event: EventFacts, member: MemberFacts, memo: dict[object, list[Line]] | None = None) -> bool:
    """Whether a condition holds for this event and member."""
    match condition:
        case s.AllOf(conditions=parts):
            return all(holds(part, event, member, memo) for part in parts)
        case s.AnyOf(conditions=parts):
            return any(holds(part, event, member, memo) for part in parts)
        case s.Not(condition=part):
            return not holds(part, event, member, memo)
        case s.OrderAmount(at_least=low, at_most=high):
            return (low is None or event.amount >= _minor(low, event.precision)) and (
                high is None or event.amount <= _minor(high, event.precision)
            )
        case s.Items(match=match, min_quantity=quantity, min_amount=amount):
            lines = _lines(event, match, memo)
            if sum(line.quantity for line in lines) < quantity:
                return False
            return amount is None or paid_for(event, lines) >= _minor(amount, event.precision)
        case s.Channel(any_of=names):
            return event.channel in names
        case s.Store(any_of=names):
            return event.store in names
        case s.NthPurchase(n=n):
            return member.purchase_number == n
        case s.MemberAttribute(attribute=attribute, any_of=names):
            if attribute == "age_band":
                return age_band(member.birth_date, event.occurred_at.date()) in names
            return getattr(member, attribute) in names
        case s.Tier(any_of=names):
            # Tier keys are lower-case; "Gold" written by hand means the same tier.
            return member.tier is not None and member.tier.lower() in {name.lower() for name in names}
        case s.Segment(any_of=names):
            return bool(member.segments & set(names))
        case s.EventAttribute(path=path, op=op, value=wanted):
            present, found = _attribute(event.attributes, path)
            return present if op == "exists" else present and _compare(op, found, wanted)
        case s.Coupon(codes=codes):
            return bool(event.coupon_codes) if codes is None else bool(set(event.coupon_codes) & set(codes))
        case s.Experiment(experiment=key, arms=arms):
            # Outside a running experiment a member is in no arm: nothing matches, not even "holdout".
            return member.arms.get(key) in arms
        case s.Offer(any_of=keys):
            return bool(member.offers & set(keys))
    raise TypeError(f"unknown condition {condition!r}")


# --- actions -------------------------------------------------------------------------------------


def raw_award(rule: Rule, event: EventFacts, base_points: int, memo: dict[object, list[Line]] | None = None) -> Award:
    """What a rule's actions give for an event, before its caps."""
    points, cashback, rewards = 0, 0, []
    stamps: dict[str, int] = {}  # per card: two actions on one card add up
    for action in rule.definition.actions:
        match action:
            case s.PointsPerUnit(points=ratio, per=per, match=match):
                points += floor(_paid(event, match, memo) / _minor(per, event.precision) * Fraction(Decimal(ratio)))
            case s.FixedPoints(points=fixed):
                points += fixed
            case s.Multiplier(factor=factor):
                points += max(0, floor(base_points * (Fraction(Decimal(factor)) - 1)))
            case s.PointsPerQuantity(points=each, match=match):
                points += each * sum(line.quantity for line in _lines(event, match, memo))
            case s.Cashback(percent=percent, match=match):
                cashback += floor(_paid(event, match, memo) * Fraction(Decimal(percent)) / 100)
            case s.Stamps(card=card, count=count, per_item=per_item, match=match):
                quantity = sum(line.quantity for line in _lines(event, match, memo)) if (per_item or match) else 1
                given = count * quantity if per_item else (count if quantity else 0)
                if given:
                    stamps[card] = stamps.get(card, 0) + given
            case s.IssueReward(reward=reward):
                rewards.append(reward)
    spec = rule.definition
    return Award(rule.id, rule.version, spec.name_en, spec.name_ar, points, cashback, tuple(stamps.items()), tuple(rewards))


def capped(rule: Rule, award: Award, used: Usage) -> Award:
    """An award cut to what the rule's caps and budgets still allow, naming the cap that cut it."""
    caps = rule.definition.caps
    limits = [
        ("per_order", caps.per_order, 0),
        ("per_member_day", caps.per_member_day, used.member_day),
        ("per_member_week", caps.per_member_week, used.member_week),
        ("per_member_month", caps.per_member_month, used.member_month),
        ("per_member_lifetime", caps.per_member_lifetime, used.member_lifetime),
        ("budget_points", caps.budget_points, used.budget_points_used),
    ]
    points, capped_by = award.points, None
    for name, limit, already in limits:
        if limit is not None and points > max(0, limit - already):
            points, capped_by = max(0, limit - already), name
    cashback = award.cashback
    if used.budget_money_left is not None and cashback > used.budget_money_left:
        cashback, capped_by = max(0, used.budget_money_left), "budget_money"
    if (points, cashback) == (award.points, award.cashback):
        return award
    return Award(award.rule_id, award.version, award.name_en, award.name_ar, points, cashback, award.stamps, award.rewards, capped_by)


# --- returns -------------------------------------------------------------------------------------


def kept(rule: Rule, event: EventFacts, member: MemberFacts, *, base_points: int, granted: Award) -> Award:
    """What of a granted award the member keeps once part of the order came back.

    The rule is read again on the kept part of the order (the lines and money not returned), with
    the facts of the original purchase; the member keeps the smaller of that and what was granted,
    so caps, budgets and stacking never give more on a return than they gave on the purchase.
    """
    if not all(holds(condition, event, member) for condition in rule.definition.conditions):
        return _zero(granted)
    raw = raw_award(rule, event, base_points)
    again = dict(raw.stamps)
    return Award(
        granted.rule_id, granted.version, granted.name_en, granted.name_ar,
        min(raw.points, granted.points), min(raw.cashback, granted.cashback),
        tuple((card, min(count, again.get(card, 0))) for card, count in granted.stamps if min(count, again.get(card, 0))),
        granted.rewards if raw.rewards else (),
        granted.capped_by,
    )


def _zero(award: Award) -> Award:
    return Award(award.rule_id, award.version, award.name_en, award.name_ar, capped_by=award.capped_by)


def needs_purchase_number(rules: Iterable[Rule]) -> bool:
    """Whether any rule asks which purchase of the member this is (counting costs a query)."""

    def walk(condition: s.Condition) -> bool:
        match condition:
            case s.NthPurchase():
                return True
            case s.AllOf(conditions=parts) | s.AnyOf(conditions=parts):
                return any(walk(part) for part in parts)
            case s.Not(condition=part):
                return walk(part)
        return False

    return any(walk(condition) for rule in rules for condition in rule.definition.conditions)


def needs_segments(rules: Iterable[Rule]) -> bool:
    """Whether any rule asks for the member's segments (reading them costs a query)."""

    def walk(condition: s.Condition) -> bool:
        match condition:
            case s.Segment():
                return True
            case s.AllOf(conditions=parts) | s.AnyOf(conditions=parts):
                return any(walk(part) for part in parts)
            case s.Not(condition=part):
                return walk(part)
        return False

    return any(walk(condition) for rule in rules for condition in rule.definition.conditions)


def _asks(rules: Iterable[Rule], kind: type) -> bool:
    def walk(condition: s.Condition) -> bool:
        match condition:
            case s.AllOf(conditions=parts) | s.AnyOf(conditions=parts):
                return any(walk(part) for part in parts)
            case s.Not(condition=part):
                return walk(part)
        return isinstance(condition, kind)

    return any(walk(condition) for rule in rules for condition in rule.definition.conditions)


def needs_experiments(rules: Iterable[Rule]) -> bool:
    """Whether any rule asks for the member's experiment arms."""
    return _asks(rules, s.Experiment)


def needs_offers(rules: Iterable[Rule]) -> bool:
    """Whether any rule asks which personal offers the member holds (reading them costs a query)."""
    return _asks(rules, s.Offer)

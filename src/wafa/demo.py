"""A realistic demo program: a tenant, its rules, members and six months of purchases, returns,
reviews and redemptions; and beside it a coalition of four partners (demo_coalition.py)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from wafa import demo_coalition
from wafa.analytics import custom_segments, lifetime_value, segments
from wafa.analytics.segment_rules import SegmentCondition
from wafa.clock import FrozenClock
from wafa.db import unit_of_work
from wafa.engagement import achievements, leaderboard, referrals, surveys
from wafa.engagement.schemas import BadgeIn, ChallengeIn, LeaderboardProfileIn, ReferralPolicyIn, ResponseIn, StreakIn, SurveyIn
from wafa.errors import WafaError
from wafa.events import member_events, returns
from wafa.events import service as events
from wafa.events import types as event_types
from wafa.events.idempotency import request_hash
from wafa.events.schemas import CustomEventIn, Item, MemberRef, PurchaseIn, ReturnIn
from wafa.jobs.service import run_due
from wafa.ledger import service as ledger
from wafa.members import service as members
from wafa.members.schemas import Consent, MemberCreate
from wafa.memberships import service as memberships
from wafa.memberships.schemas import PaymentIn, PlanIn
from wafa.messages import campaigns, channels, journeys, sender
from wafa.messages import service as messaging
from wafa.messages.models import CampaignMember
from wafa.notify import webhooks
from wafa.programs import service as programs
from wafa.rewards import catalog, coupons, redemptions, stamp_cards, vouchers
from wafa.rewards.schemas import RedemptionIn, RewardIn, StampCardIn
from wafa.rules import service as rules
from wafa.rules.schemas import RuleDefinition
from wafa.tenants import admin_users
from wafa.tenants import service as tenants
from wafa.tiers import service as tiers
from wafa.tiers.schemas import TierIn, TierPolicyIn

FIRST = ["Ahmed", "Fatima", "Omar", "Layla", "Yousef", "Noura", "Khalid", "Sara", "Ali", "Huda", "Faisal", "Reem", "Hassan", "Mona"]
FIRST_AR = ["أحمد", "فاطمة", "عمر", "ليلى", "يوسف", "نورة", "خالد", "سارة", "علي", "هدى", "فيصل", "ريم", "حسن", "منى"]
LAST = ["Al-Saud", "Haddad", "Khoury", "Nasser", "Mansour", "Qasim", "Farouk", "Hamdan", "Aziz", "Saleh"]
CATALOG = [
    ("COF-ESP", "coffee", "Wafa Roasters", "12.00"),
    ("COF-LAT", "coffee", "Wafa Roasters", "16.50"),
    ("BAK-CRO", "bakery", "Al Noor Bakery", "9.00"),
    ("DAT-AJW", "dates", "Madinah Farms", "45.00"),
    ("DAT-SKR", "dates", "Qassim Farms", "38.00"),
    ("GRO-RIC", "grocery", "Basmati Gold", "29.95"),
    ("GRO-OIL", "grocery", "Zaytoun", "54.00"),
    ("PER-OUD", "perfume", "Oud House", "320.00"),
]
CITIES = ["Riyadh", "Jeddah", "Dammam", "Makkah", "Madinah"]
REVIEW_SCHEMA = {
    "type": "object",
    "properties": {"sku": {"type": "string"}, "stars": {"type": "integer", "minimum": 1, "maximum": 5}},
    "required": ["sku", "stars"],
    "additionalProperties": False,
}
# The rules a real grocery-and-coffee chain runs, in Arabic and English.
RULES: list[dict[str, Any]] = [
    {"name_en": "Weekend double points", "name_ar": "نقاط مضاعفة في عطلة نهاية الأسبوع", "trigger": "purchase",
     "actions": [{"type": "multiplier", "factor": "2"}], "window": {"days_of_week": [4, 5]}},
    {"name_en": "First purchase bonus", "name_ar": "مكافأة أول شراء", "trigger": "purchase",
     "conditions": [{"type": "nth_purchase", "n": 1}], "actions": [{"type": "fixed_points", "points": 100}]},
    {"name_en": "Coffee evenings x3", "name_ar": "القهوة مساءً ×٣", "trigger": "purchase", "priority": 1,
     "actions": [{"type": "points_per_unit", "points": "2", "match": {"categories": ["coffee"]}}],
     "window": {"hours": {"from": "18:00", "to": "23:00"}}, "caps": {"per_member_day": 200}},
    {"name_en": "5% cashback in the app", "name_ar": "استرداد نقدي ٥٪ عبر التطبيق", "trigger": "purchase",
     "conditions": [{"type": "channel", "any_of": ["app"]}], "actions": [{"type": "cashback", "percent": "5"}],
     "caps": {"budget_money": "5000.00"}},
    {"name_en": "A stamp for every coffee", "name_ar": "ختم مع كل قهوة", "trigger": "purchase",
     "actions": [{"type": "stamps", "card": "coffee", "per_item": True, "match": {"categories": ["coffee"]}}]},
    {"name_en": "Review points", "name_ar": "نقاط المراجعة", "trigger": "review_written",
     "actions": [{"type": "fixed_points", "points": 50}], "caps": {"per_member_day": 50}},
    {"name_en": "Birthday bonus", "name_ar": "مكافأة عيد الميلاد", "trigger": "birthday",
     "actions": [{"type": "fixed_points", "points": 200}]},
]


# The reward catalog: one of each kind the program offers.
REWARDS: list[dict[str, Any]] = [
    {"key": "ten-off", "name_en": "10 SAR off your next order", "name_ar": "خصم ١٠ ريال على طلبك القادم", "points": 500,
     "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00", "min_order": "50.00"}}},
    {"key": "dates-15", "name_en": "15% off dates", "name_ar": "خصم ١٥٪ على التمور", "points": 300,
     "gives": {"type": "coupon", "discount": {"type": "percent", "percent": "15", "categories": ["dates"], "max_discount": "30.00"}}},
    {"key": "free-latte", "name_en": "A free latte", "name_ar": "لاتيه مجاني", "points": 250,
     "gives": {"type": "free_product", "sku": "COF-LAT"}},
    {"key": "wallet-cash", "name_en": "Points to wallet cash", "name_ar": "حوّل نقاطك إلى رصيد", "points": 200,
     "gives": {"type": "cashback"}},
    {"key": "tote-bag", "name_en": "Al Noor tote bag", "name_ar": "حقيبة النور", "points": 800, "stock": 40,
     "limit": {"count": 1, "period": "lifetime"}, "gives": {"type": "gift", "sku": "GFT-TOTE"}},
    {"key": "cinema", "name_en": "Cinema ticket (partner)", "name_ar": "تذكرة سينما (شريك)", "points": 1200,
     "limit": {"count": 2, "period": "month"}, "gives": {"type": "voucher", "partner": "Riyadh Cinemas"}},
    {"key": "lounge", "name_en": "Airport lounge access", "name_ar": "دخول صالة المطار", "points": 3000, "tiers": ["Gold", "Platinum"],
     "gives": {"type": "privilege", "valid_days": 90}},
]


# Three tiers on points earned over the last 12 months.
TIERS: list[dict[str, Any]] = [
    {"key": "silver", "name_en": "Silver", "name_ar": "فضي", "rank": 1, "threshold": "1000"},
    {"key": "gold", "name_en": "Gold", "name_ar": "ذهبي", "rank": 2, "threshold": "5000",
     "benefits": {"earn_multiplier": "1.25", "welcome_points": 200, "flags": ["free_delivery"]}},
    {"key": "platinum", "name_en": "Platinum", "name_ar": "بلاتيني", "rank": 3, "threshold": "15000",
     "benefits": {"earn_multiplier": "1.5", "welcome_points": 500, "flags": ["free_delivery", "priority_service"]}},
]


def _tier_ladder(session: Session, *, tenant_id: int, now: datetime) -> None:
    # Before the rewards: a reward may only be limited to tiers the program has.
    tiers.set_policy(session, tenant_id=tenant_id, now=now,
                     policy_in=TierPolicyIn(metric="points_earned", window="rolling", months=12, grace_days=30, max_drop=1))
    for spec in TIERS:
        tiers.create(session, tenant_id=tenant_id, tier_in=TierIn.model_validate(spec), now=now)


def _program_tiers(session: Session, *, tenant_id: int, now: datetime) -> None:
    memberships.create_plan(session, tenant_id=tenant_id, now=now, plan_in=PlanIn(
        key="plus", name_en="Noor Plus", name_ar="نور بلس", interval="month", price="29.00", trial_days=14, grace_days=5,
        benefits={"earn_multiplier": "2", "monthly_points": 100, "flags": ["free_delivery"]},
    ))
    referrals.set_policy(session, tenant_id=tenant_id, now=now, policy_in=ReferralPolicyIn(
        referrer_points=500, referee_points=200, referee_reward="ten-off", min_purchase="50.00", max_per_month=5, expire_days=90,
    ))
    # A plan-only reward: a free latte a month for Noor Plus members.
    catalog.create(session, tenant_id=tenant_id, program=programs.get(session, tenant_id=tenant_id), now=now, reward_in=RewardIn(
        key="plus-latte", name_en="Noor Plus: a free latte a month", name_ar="نور بلس: لاتيه مجاني كل شهر", points=0,
        plans=["plus"], limit={"count": 1, "period": "month"}, gives={"type": "free_product", "sku": "COF-LAT"},
    ))


BADGES: list[dict[str, Any]] = [
    {"key": "regular", "name_en": "Regular", "name_ar": "زبون دائم", "points": 100,
     "criterion": {"metric": "purchases", "at_least": "5"}},
    {"key": "coffee-lover", "name_en": "Coffee lover", "name_ar": "عاشق القهوة", "points": 150,
     "criterion": {"metric": "spend", "at_least": "150.00", "category": "coffee"}},
    {"key": "explorer", "name_en": "Explorer", "name_ar": "مستكشف", "criterion": {"metric": "categories", "at_least": "5"}},
    {"key": "critic", "name_en": "Critic", "name_ar": "ناقد", "points": 50,
     "criterion": {"metric": "events", "event_type": "review_written", "at_least": "3"}},
    {"key": "ambassador", "name_en": "Ambassador", "name_ar": "سفير", "points": 200, "criterion": {"metric": "referrals", "at_least": "1"}},
    {"key": "golden", "name_en": "Gold member", "name_ar": "عضو ذهبي", "criterion": {"metric": "tier", "tier": "gold"}},
]


def _program_achievements(session: Session, *, tenant_id: int, since: datetime, now: datetime) -> None:
    for spec in BADGES:
        achievements.create_badge(session, tenant_id=tenant_id, badge_in=BadgeIn.model_validate(spec), now=since)
    # Challenges: last month's (closed) and this month's, in the program's time zone.
    local = now.astimezone(ZoneInfo("Asia/Riyadh"))
    this_month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    next_month = (this_month + timedelta(days=32)).replace(day=1)
    for key, name_en, name_ar, goal, start, end, points in (
        ("three-last-month", "3 purchases last month", "٣ مشتريات الشهر الماضي", {"metric": "purchases", "at_least": "3"},
         last_month, this_month, 150),
        ("three-this-month", "3 purchases this month", "٣ مشتريات هذا الشهر", {"metric": "purchases", "at_least": "3"},
         this_month, next_month, 150),
        ("try-three", "Try 3 categories this month", "جرّب ٣ أقسام هذا الشهر", {"metric": "categories", "at_least": "3"},
         this_month, next_month, 100),
    ):
        achievements.create_challenge(session, tenant_id=tenant_id, now=since, challenge_in=ChallengeIn(
            key=key, name_en=name_en, name_ar=name_ar, goal=goal, starts_at=start, ends_at=end, points=points,
        ))
    achievements.create_streak(session, tenant_id=tenant_id, now=since, streak_in=StreakIn(
        key="weekly", name_en="Shop every week", name_ar="تسوّق كل أسبوع", period="week", min_amount="20.00", starts_at=since,
        milestones=[{"length": 3, "points": 60}, {"length": 6, "points": 150, "reward_key": "free-latte"}],
    ))


def _program_rewards(session: Session, *, tenant_id: int, now: datetime, rng: random.Random) -> None:
    program = programs.get(session, tenant_id=tenant_id)
    made = {
        spec["key"]: catalog.create(session, tenant_id=tenant_id, reward_in=RewardIn.model_validate(spec), program=program, now=now)
        for spec in REWARDS
    }
    vouchers.import_codes(
        session, reward=made["cinema"], codes=[f"RC-{rng.randrange(10**9, 10**10)}" for _ in range(60)], now=now
    )
    stamp_cards.create(
        session, tenant_id=tenant_id, now=now,
        card_in=StampCardIn(key="coffee", name_en="Coffee card", name_ar="بطاقة القهوة", stamps_needed=6,
                            reward_id=made["free-latte"].id),
    )


def _use_a_coupon(session: Session, *, tenant_id: int, member_id: int, purchase: PurchaseIn, now: datetime) -> int:
    """Redeem one of the member's coupons on this order if one gives something on it (1 if used)."""
    held = coupons.held_by(session, tenant_id=tenant_id, member_id=member_id)
    basket = coupons.basket_of(amount=purchase.amount, currency="SAR", items=purchase.items or [], member_id=member_id)
    for coupon in held:
        try:
            if coupons.check(coupon, basket, now=now).discount > 0:
                coupons.redeem(
                    session, tenant_id=tenant_id, code=coupon.code, basket=basket, order_id=purchase.order_id,
                    key=f"demo:{purchase.order_id}", request_hash=purchase.order_id, now=now,
                )
                return 1
        except WafaError:
            continue
    return 0


def _program_rules(session: Session, *, tenant_id: int, now: datetime) -> None:
    event_types.create(
        session, tenant_id=tenant_id, name="review_written", description="a product review in the app",
        schema=REVIEW_SCHEMA, now=now,
    )
    for spec in RULES:
        rules.create(session, tenant_id=tenant_id, definition=RuleDefinition.model_validate(spec), status="active", now=now)


# The demo's console sign-in, printed by `wafa demo` and given in the README: a demo on a laptop.
DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = "wafa-demo-password"


@dataclass
class DemoResult:
    tenant_slug: str
    api_key: str
    members: int
    purchases: int
    returns: int
    redemptions: int
    reviews: int = 0
    coupons_used: int = 0
    admin_email: str = DEMO_ADMIN_EMAIL
    admin_password: str = DEMO_ADMIN_PASSWORD
    # The coalition beside it (demo_coalition.CoalitionResult as a dict): its sign-in details and history.
    coalition: dict[str, Any] | None = None


def seed(
    factory: sessionmaker[Session],
    *,
    now: datetime,
    slug: str = "demo",
    members_count: int = 200,
    months: int = 6,
    seed_value: int = 7,
    progress: Callable[[int, int], None] | None = None,
    with_coalition: bool = True,
) -> DemoResult:
    """Create (or reuse) the demo tenant and the coalition beside it, fill them with history if empty,
    and return fresh admin keys."""
    result = _seed_program(factory, now=now, slug=slug, members_count=members_count, months=months, seed_value=seed_value, progress=progress)
    if with_coalition and slug != demo_coalition.SLUG:
        # As big as the program beside it (a small demo is a quick one), with at least one month to settle.
        size = min(demo_coalition.MEMBERS, 3 * members_count)
        busiest = max(2, demo_coalition.PURCHASES_PER_DAY[1] * size // demo_coalition.MEMBERS)
        result.coalition = demo_coalition.seed(
            factory, now=now, password=DEMO_ADMIN_PASSWORD, members_count=size, purchases_per_day=(1, busiest),
            days=demo_coalition.DAYS if months >= 3 else 62,
        ).as_dict()
    return result


def _seed_program(
    factory: sessionmaker[Session], *, now: datetime, slug: str, members_count: int, months: int, seed_value: int,
    progress: Callable[[int, int], None] | None,
) -> DemoResult:
    """The single-brand program: created if new, then filled with months of history."""
    rng = random.Random(seed_value)
    with unit_of_work(factory) as session:
        tenant = tenants.get_by_slug(session, slug=slug)
        fresh = tenant is None
        if tenant is None:
            tenant = tenants.create(
                session,
                name="Al Noor Stores (demo)",
                name_ar="متاجر النور (تجريبي)",
                slug=slug,
                currency="SAR",
                now=now - timedelta(days=31 * months + 1),
                points_name={"en": "Noor points", "ar": "نقاط النور"},
                earn_rates={"SAR": "1", "USD": "3.75", "JOD": "5"},
                pending_days=14,
                expiry={"policy": "end_of_year", "periods": 1},
                timezone="Asia/Riyadh",
                default_region="SA",
                min_redemption=100,
                point_cost="0.05",
            )
            _program_rules(session, tenant_id=tenant.id, now=now - timedelta(days=31 * months + 1))
            _tier_ladder(session, tenant_id=tenant.id, now=now - timedelta(days=31 * months + 1))
            _program_rewards(session, tenant_id=tenant.id, now=now - timedelta(days=31 * months + 1), rng=rng)
            _program_tiers(session, tenant_id=tenant.id, now=now - timedelta(days=31 * months + 1))
            _program_achievements(session, tenant_id=tenant.id, since=now - timedelta(days=31 * months + 1), now=now)
            admin_users.create(
                session, tenant_id=tenant.id, email=DEMO_ADMIN_EMAIL, name="Demo admin", password=DEMO_ADMIN_PASSWORD, role="owner", now=now,
            )
            # An example webhook, off: the console shows where messages would go (nothing is sent).
            webhooks.create(
                session, tenant_id=tenant.id, url="https://crm.example.com/wafa", event_types=["points.earned", "tier.upgraded", "reward.redeemed"],
                description="CRM (an example: point it at your system, then turn it on)", enabled=False, now=now, resolve=False,
            )
        key = tenants.create_key(session, tenant_id=tenant.id, name=f"demo admin {now:%Y-%m-%d %H:%M}", scopes=["admin"], now=now)
        tenant_id = tenant.id
    result = DemoResult(slug, key.secret, 0, 0, 0, 0)
    if not fresh:
        return result

    start = now - timedelta(days=31 * months)
    ids: list[int] = []
    with unit_of_work(factory) as session:
        for n in range(members_count):
            i = rng.randrange(len(FIRST))
            arabic = rng.random() < 0.6
            name = f"{FIRST_AR[i]}" if arabic else f"{FIRST[i]} {rng.choice(LAST)}"
            member = members.create(
                session,
                tenant_id=tenant_id,
                member_in=MemberCreate(
                    external_id=f"C{10000 + n}",
                    name=name,
                    email=f"member{n}@example.com",
                    phone=f"+96655{rng.randrange(1_000_000, 9_999_999)}",
                    locale="ar" if arabic else "en",
                    birth_date=date(rng.randrange(1960, 2006), rng.randrange(1, 13), rng.randrange(1, 29)) if rng.random() < 0.7 else None,
                    city=rng.choice(CITIES),
                    consent=Consent(email=rng.random() < 0.7, sms=rng.random() < 0.4),
                ),
                region="SA",
                now=start + timedelta(days=rng.random() * 31 * months * 0.7),
            )
            ids.append(member.id)
            if rng.random() < 0.2:
                # Some members show on leaderboards under a nickname.
                leaderboard.set_profile(session, tenant_id=tenant_id, member_id=member.id, now=member.enrolled_at,
                                        profile_in=LeaderboardProfileIn(nickname=f"{name.split()[0]} {n}"))
            if rng.random() < 0.08:
                # A few members pay for Noor Plus: subscribed, trial, then paid monthly by the shop.
                plus = memberships.subscribe(session, tenant_id=tenant_id, member_id=member.id, plan_key="plus", now=member.enrolled_at)
                memberships.record_payment(
                    session, tenant_id=tenant_id, membership_id=plus.id, key=f"demo:{plus.id}:1", now=member.enrolled_at,
                    payment_in=PaymentIn(status="paid", amount="29.00", currency="SAR", provider_ref=f"pi_demo_{plus.id}"),
                )
            if ids[:-1] and rng.random() < 0.15:
                # Some members came through a friend's code.
                referrer = members.get_or_raise(session, tenant_id=tenant_id, member_id=rng.choice(ids[:-1]))
                referrals.on_enrolment(session, tenant_id=tenant_id, member=member, code=referrer.referral_code, now=member.enrolled_at)
    result.members = len(ids)
    # Some members shop weekly, most now and then: a skewed activity weight each.
    weight = {mid: rng.paretovariate(1.5) for mid in ids}
    # Each member has a favourite category, which most of their lines come from (its own generator, so the rest
    # of the history is what it was): the next-best-offer model has tastes to learn, and offers have habits to name.
    tastes = random.Random(seed_value + 1)
    by_category: dict[str, list[tuple[str, str, str, str]]] = {}
    for line in CATALOG:
        by_category.setdefault(line[1], []).append(line)
    favourite = {mid: tastes.choices(sorted(by_category), weights=[4 if c == "coffee" else 2 for c in sorted(by_category)])[0] for mid in ids}
    days = (now - start).days
    order = 0
    for day in range(days):
        today = start + timedelta(days=day)
        if day == days - CAMPAIGN_DAYS_AGO:
            # Three weeks ago a campaign went out (through the log provider); its audience has shopped a
            # little more since, so its page shows a lift against the holdout.
            morning = datetime.combine(today.astimezone(RIYADH).date(), time(10), tzinfo=RIYADH).astimezone(UTC)
            for reached in _campaign(factory, tenant_id=tenant_id, at=morning):
                weight[reached] *= 1.5
        with unit_of_work(factory) as session:
            for _ in range(rng.randrange(10, 22)):
                order += 1
                at = today + timedelta(hours=rng.uniform(8, 22))
                member_id = rng.choices(ids, weights=[weight[m] for m in ids])[0] if rng.random() < 0.75 else None
                lines = [rng.choice(CATALOG) for _ in range(rng.randrange(1, 5))]
                if member_id:
                    lines = [tastes.choice(by_category[favourite[member_id]]) if tastes.random() < 0.6 else line for line in lines]
                items = [Item(sku=s, category=c, brand=b, quantity=rng.randrange(1, 3), unit_price=p) for s, c, b, p in lines]
                total = sum(Decimal(i.unit_price) * i.quantity for i in items)
                purchase = PurchaseIn(
                    type="purchase",
                    member=MemberRef(id=member_id) if member_id else None,
                    order_id=f"D{order:06d}",
                    amount=str(total),
                    currency="SAR",
                    occurred_at=at,
                    items=items,
                    channel=rng.choice(["store", "store", "app", "web"]),
                    store=rng.choice(["RUH-01", "RUH-02", "JED-01"]),
                )
                events.record_purchase(session, tenant_id=tenant_id, event_in=purchase,
                                       request_hash=request_hash("POST", "/v1/events", purchase.model_dump(mode="json")), now=at)
                result.purchases += 1
                if member_id and rng.random() < 0.5:
                    result.coupons_used += _use_a_coupon(session, tenant_id=tenant_id, member_id=member_id, purchase=purchase, now=at)
                if member_id and rng.random() < 0.08 and at + timedelta(days=1) < now:
                    # Some members review what they bought in the app the next day.
                    review = CustomEventIn(
                        type="review_written", member=MemberRef(id=member_id), reference=f"review:{purchase.order_id}",
                        attributes={"sku": items[0].sku, "stars": rng.choice([3, 4, 5, 5, 5])}, occurred_at=at + timedelta(days=1),
                    )
                    member_events.record_custom(session, tenant_id=tenant_id, event_in=review, request_hash=review.reference or "",
                                                now=at + timedelta(days=1))
                    result.reviews += 1
                if member_id and rng.random() < 0.04:
                    ret = ReturnIn(type="return", order_id=purchase.order_id, items=[{"sku": items[0].sku, "quantity": 1}],
                                   occurred_at=at + timedelta(hours=30))
                    returns.record_return(session, tenant_id=tenant_id, event_in=ret, now=at + timedelta(hours=30))
                    result.returns += 1
        if day % 7 == 6:
            run_due(factory, now=today, tenant_id=tenant_id)
            with unit_of_work(factory) as session:
                # Most renewals falling due are paid by the shop's provider; a few members let theirs lapse.
                for plus in memberships.past_due(session, tenant_id=tenant_id):
                    if rng.random() < 0.85:
                        memberships.record_payment(
                            session, tenant_id=tenant_id, membership_id=plus.id, key=f"demo:{plus.id}:{day}", now=today,
                            payment_in=PaymentIn(status="paid", amount="29.00", currency="SAR", provider_ref=f"pi_demo_{plus.id}_{day}"),
                        )
            with unit_of_work(factory) as session:
                for member_id in rng.sample(ids, min(6, len(ids))):
                    available = ledger.balances(session, tenant_id=tenant_id, member_id=member_id)["available"]
                    if available >= 300 and rng.random() < 0.5:
                        # Spend on the catalog: the dearest reward the member can afford.
                        affordable = [spec for spec in REWARDS if spec["points"] <= available and not spec.get("tiers")]
                        spec = max(affordable, key=lambda s: s["points"])
                        try:
                            redemptions.redeem(
                                session, tenant_id=tenant_id, member_id=member_id,
                                redemption_in=RedemptionIn(reward_key=spec["key"]), key=f"demo:{day}:{member_id}", now=today,
                            )
                            result.redemptions += 1
                        except WafaError:
                            pass
                    elif available >= 300:
                        try:
                            ledger.debit(
                                session, tenant_id=tenant_id, member_id=member_id, points=(available // 200) * 100,
                                kind="redeem", destination="redeemed", idempotency_key=f"demo:redeem:{day}:{member_id}",
                                reason="demo: discount at the till", now=today,
                            )
                            result.redemptions += 1
                        except WafaError:
                            pass
        if progress:
            progress(day + 1, days)
    run_due(factory, now=now, tenant_id=tenant_id)
    _survey_and_clv(factory, tenant_id=tenant_id, ids=ids, now=now, rng=rng)
    _journeys(factory, tenant_id=tenant_id, now=now)
    _stores_and_offers(factory, tenant_id=tenant_id, now=now)
    return result


CAMPAIGN_DAYS_AGO = 21
RIYADH = ZoneInfo("Asia/Riyadh")


def _campaign(factory: sessionmaker[Session], *, tenant_id: int, at: datetime) -> list[int]:
    """A sent campaign with a quarter of its audience held out; returns the members it was sent to."""
    with unit_of_work(factory) as session:
        for channel in ("email", "sms"):
            messaging.save_channel(session, tenant_id=tenant_id, channel=channel, config={"provider": "log"}, enabled=True, now=at)
        made = campaigns.create(
            session, tenant_id=tenant_id, name="Weekend double points", audience={"all": True}, channel="email",
            subject={"en": "Double Noor points this weekend", "ar": "نقاط النور مضاعفة في عطلة نهاية الأسبوع"},
            body={"en": "Hello {{ name }}, every purchase earns double {{ points_name }} on Friday and Saturday. Your card: {{ card_url }}",
                  "ar": "مرحباً {{ name }}، كل عملية شراء تكسبك {{ points_name }} مضاعفة يومي الجمعة والسبت. بطاقتك: {{ card_url }}"},
            send_at=at, holdout_percent=25, lift_days=14, now=at,
        )
        campaign_id = made.id
    campaigns.start_due(factory, now=at)
    with channels.client() as http:
        sender.send_all_due(factory, clock=FrozenClock(at), http=http, tenant_id=tenant_id)
    campaigns.finish_done(factory, now=at)
    with factory() as session:
        return [m for m, held in session.execute(
            select(CampaignMember.member_id, CampaignMember.holdout).where(CampaignMember.campaign_id == campaign_id)
        ).all() if not held]


def _journeys(factory: sessionmaker[Session], *, tenant_id: int, now: datetime) -> None:
    """The automatic messages a program usually starts with, on from today (through the log provider)."""
    with unit_of_work(factory) as session:
        for kind, settings in (("welcome", {}), ("points_expiring", {"days_before": [30, 7, 1]}), ("tier_upgraded", {}),
                               ("reward_issued", {}), ("birthday", {})):
            journeys.save(session, tenant_id=tenant_id, kind=kind, enabled=True, channels=["email", "sms"], settings=settings, now=now)


def _survey_and_clv(factory: sessionmaker[Session], *, tenant_id: int, ids: list[int], now: datetime, rng: random.Random) -> None:
    """An NPS survey answered by some members over the last two months, RFM scores and a custom segment,
    and a lifetime-value fit."""
    with unit_of_work(factory) as session:
        made = surveys.create(session, tenant_id=tenant_id, now=now - timedelta(days=61), survey_in=SurveyIn(
            key="nps", title_en="How are we doing?", title_ar="كيف حالنا؟", questions=[
                {"key": "recommend", "type": "nps", "text_en": "Would you recommend Al Noor to a friend?",
                 "text_ar": "هل تنصح بمتاجر النور صديقاً؟"},
                {"key": "comment", "type": "text", "text_en": "Anything else?", "text_ar": "شيء آخر؟", "required": False},
            ],
        ))
        survey_id = made.id
    answering = sorted(rng.sample(ids, len(ids) * 2 // 5), key=lambda _: rng.random())
    for member_id in answering:
        at = now - timedelta(days=rng.uniform(0.5, 60))
        score = rng.choices(range(11), weights=[1, 1, 1, 1, 2, 2, 4, 8, 14, 16, 14])[0]
        with unit_of_work(factory) as session:
            if members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id).status != "active":
                continue
            surveys.respond(session, tenant_id=tenant_id, survey_id=survey_id, now=at,
                            response_in=ResponseIn(member_id=member_id, answers={"recommend": score}))
    with unit_of_work(factory) as session:
        segments.recompute(session, tenant_id=tenant_id, now=now)
        custom_segments.create(
            session, tenant_id=tenant_id, key="riyadh-regulars", name_en="Riyadh regulars", name_ar="عملاء الرياض الدائمون", now=now,
            conditions=TypeAdapter(list[SegmentCondition]).validate_python([
                {"type": "member_attribute", "attribute": "city", "any_of": ["Riyadh"]},
                {"type": "rfm_segment", "any_of": ["champions", "loyal", "potential_loyalists"]},
            ]),
        )
    try:
        with unit_of_work(factory) as session:
            local = now.astimezone(ZoneInfo("Asia/Riyadh")).date()
            lifetime_value.fit(session, tenant_id=tenant_id, calibration_end=local - timedelta(days=31), unit="week",
                               holdout_end=local - timedelta(days=1), now=now)
    except WafaError:
        pass  # a demo too small to fit: the API says so when asked


# The chain's stores, where members check in from the portal (the codes its tills send with purchases).
STORES: list[dict[str, Any]] = [
    {"code": "RUH-01", "name_en": "Olaya, Riyadh", "name_ar": "العليا، الرياض", "latitude": 24.6907, "longitude": 46.6853},
    {"code": "RUH-02", "name_en": "King Fahd Road, Riyadh", "name_ar": "طريق الملك فهد، الرياض", "latitude": 24.7136, "longitude": 46.6753},
    {"code": "JED-01", "name_en": "Tahlia Street, Jeddah", "name_ar": "شارع التحلية، جدة", "latitude": 21.5433, "longitude": 39.1728},
]
OPEN_HOURS = {day: [["08:00", "23:00"]] for day in ("mon", "tue", "wed", "thu", "sun")} | {"fri": [["13:00", "23:59"]], "sat": [["08:00", "23:59"]]}


def _stores_and_offers(factory: sessionmaker[Session], *, tenant_id: int, now: datetime) -> None:
    """The stores, and three offers given to members now: extra points on coffee for the members the model
    picks (an experiment holds a fifth of them out), a latte at half its points for the program's champions
    and loyal members, and dates at Olaya for members who check in there."""
    from wafa.experiments import service as experiments
    from wafa.experiments.schemas import ExperimentCreate
    from wafa.offers import catalog as offers
    from wafa.offers.schemas import OfferIn
    from wafa.stores import service as stores
    from wafa.stores.schemas import StoreCreate

    with unit_of_work(factory) as session:
        for spec in STORES:
            stores.create(session, tenant_id=tenant_id, now=now, store_in=StoreCreate.model_validate(
                {**spec, "timezone": "Asia/Riyadh", "hours": OPEN_HOURS, "radius_m": 200}))
        rule, _ = rules.create(session, tenant_id=tenant_id, status="active", now=now, definition=RuleDefinition.model_validate({
            "name_en": "Coffee lovers: 50 extra points", "name_ar": "لمحبي القهوة: ٥٠ نقطة إضافية", "trigger": "purchase",
            "conditions": [{"type": "offer", "any_of": ["coffee-lovers"]},
                           {"type": "items", "match": {"categories": ["coffee"]}}],
            "actions": [{"type": "fixed_points", "points": 50}],
        }))
        # Does the coffee offer bring members back? A fifth of the model's pick is held out, for four weeks.
        experiments.create(session, tenant_id=tenant_id, now=now, experiment_in=ExperimentCreate.model_validate({
            "key": "coffee-lovers-test", "name": "Coffee lovers' extra points", "subject": "offers", "holdout_percent": 20,
            "arms": [{"key": "a", "weight": 1}], "primary_metric": "purchases", "horizon_days": 28}))
        experiments.start(session, tenant_id=tenant_id, key="coffee-lovers-test", now=now)
        specs = [
            {"key": "coffee-lovers", "name_en": "50 extra points on your coffee", "name_ar": "٥٠ نقطة إضافية على قهوتك", "kind": "rule",
             "rule_id": rule.id, "category": "coffee", "valid_days": 14, "per_member_cap": 3,
             "audience": {"model": {"top": 2}, "experiment": "coffee-lovers-test", "arms": ["a"]}},
            {"key": "latte-half", "name_en": "A latte for half the points", "name_ar": "لاتيه بنصف النقاط", "kind": "reward",
             "reward_key": "free-latte", "points": 125, "category": "coffee", "audience": {"segments": ["champions", "loyal"]},
             "valid_days": 30, "per_member_cap": 2},
            {"key": "olaya-dates", "name_en": "15% off dates at Olaya", "name_ar": "خصم ١٥٪ على التمور في العليا", "kind": "reward",
             "reward_key": "dates-15", "points": 150, "category": "dates", "audience": {"all": True}, "valid_days": 30,
             "per_member_cap": 1, "store_codes": ["RUH-01"]},
        ]
        for spec in specs:
            offers.create(session, tenant_id=tenant_id, offer_in=OfferIn.model_validate(spec), now=now)
            offers.activate(session, tenant_id=tenant_id, key=str(spec["key"]), now=now)

"""The demo's coalition: "Souq Rewards", four partners sharing one points currency (a café chain, a
pharmacy with points of its own, a fuel station, a supermarket), three months of members earning at
one partner and spending at another, and the first complete month settled."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from wafa.bus import dispatch
from wafa.bus.messages import MemberEnrolled
from wafa.coalition import exchanges, settlement, terms
from wafa.coalition import service as coalition
from wafa.coalition.schemas import CoalitionIn, PartnerIn, StoreIn
from wafa.db import unit_of_work
from wafa.errors import WafaError
from wafa.events import returns
from wafa.events import service as events
from wafa.events.idempotency import request_hash
from wafa.events.schemas import MemberRef, PurchaseIn, ReturnIn
from wafa.ledger import service as ledger
from wafa.ledger import wallet
from wafa.members import service as members
from wafa.members.schemas import Consent, MemberCreate
from wafa.programs import service as programs
from wafa.rewards import catalog, redemptions
from wafa.rewards.schemas import RedemptionIn, RewardIn
from wafa.rules import service as rules
from wafa.rules.schemas import RuleDefinition
from wafa.tenants import admin_users
from wafa.tenants import service as tenants
from wafa.tenants.models import Tenant
from wafa.tenants.roles import PARTNER

SLUG = "souq"
TIMEZONE = "Asia/Riyadh"
ADMIN_EMAIL = "admin@example.com"
# The member `wafa demo` suggests signing in as: a regular from the first day, with a long history.
MEMBER_EMAIL = "souq0@example.com"
# Sized to keep `wafa demo` quick (a purchase at a partner takes the full ORM path, about 10 ms of CPU;
# this adds about 7 s on SQLite and 10 s on PostgreSQL on 2 cores), yet hold every kind of movement
# between partners and one settled month.
MEMBERS, DAYS, PURCHASES_PER_DAY = 200, 92, (1, 5)


@dataclass(frozen=True)
class PartnerSpec:
    """A partner of the demo: its terms and stores, and how its customers shop there."""

    key: str
    name: str
    name_ar: str
    terms: dict[str, Any]
    stores: tuple[tuple[str, str, str], ...]  # (code, name, city)
    share: float  # of the coalition's purchases
    basket: tuple[int, int]  # SAR, least and most


PARTNERS = (
    PartnerSpec("qahwa", "Qahwa House", "بيت القهوة",
                {"earn_rate": "2", "issue_price": "0.05", "redeem_value": "0.04", "issue_fee": "0.1", "redeem_fee": "0.05"},
                (("QH-RUH-01", "Olaya", "Riyadh"), ("QH-RUH-02", "King Fahd Road", "Riyadh"), ("QH-JED-01", "Tahlia", "Jeddah"),
                 ("QH-DMM-01", "Corniche", "Dammam")), 0.38, (12, 60)),
    PartnerSpec("shifa", "Shifa Pharmacy", "صيدلية الشفاء",
                {"earn_rate": "1", "issue_price": "0.06", "redeem_value": "0.05", "issue_fee": "0.08", "redeem_fee": "0.05",
                 "own_points_name": "Shifa stars", "own_points_rate": 10},
                (("SH-RUH-01", "Malaz", "Riyadh"), ("SH-JED-01", "Rawdah", "Jeddah")), 0.17, (25, 300)),
    PartnerSpec("darb", "Darb Fuel", "وقود الدرب",
                {"earn_rate": "0.5", "issue_price": "0.04", "redeem_value": "0.04", "issue_fee": "0.05", "redeem_fee": "0.03"},
                (("DF-RUH-01", "Northern Ring Road", "Riyadh"), ("DF-QSM-01", "Buraydah Highway", "Qassim"),
                 ("DF-DMM-01", "Khobar Road", "Dammam")), 0.22, (60, 250)),
    PartnerSpec("bayt", "Al Bayt Market", "أسواق البيت",
                {"earn_rate": "1", "issue_price": "0.045", "redeem_value": "0.04", "issue_fee": "0.1", "redeem_fee": "0.05"},
                (("AB-RUH-01", "Sulaimaniyah", "Riyadh"), ("AB-JED-01", "Safa", "Jeddah"), ("AB-MED-01", "Quba", "Madinah")),
                0.23, (80, 900)),
)

# Each partner's own rule, which it pays for; and one of the operator's.
RULES: list[dict[str, Any]] = [
    {"name_en": "Qahwa House mornings: double points", "name_ar": "صباح بيت القهوة: نقاط مضاعفة", "trigger": "purchase",
     "partner": "qahwa", "actions": [{"type": "multiplier", "factor": "2"}], "window": {"hours": {"from": "06:00", "to": "10:00"}}},
    {"name_en": "Shifa: 75 points on 150 SAR or more", "name_ar": "الشفاء: ٧٥ نقطة على ١٥٠ ريالًا فأكثر", "trigger": "purchase",
     "partner": "shifa", "conditions": [{"type": "order_amount", "at_least": "150.00"}], "actions": [{"type": "fixed_points", "points": 75}]},
    {"name_en": "Darb Fuel: 2% back in your wallet", "name_ar": "وقود الدرب: ٢٪ تعود إلى محفظتك", "trigger": "purchase",
     "partner": "darb", "actions": [{"type": "cashback", "percent": "2"}]},
    {"name_en": "Al Bayt weekends: 1.5x points", "name_ar": "أسواق البيت في عطلة نهاية الأسبوع: النقاط ×١٫٥", "trigger": "purchase",
     "partner": "bayt", "actions": [{"type": "multiplier", "factor": "1.5"}], "window": {"days_of_week": [4, 5]}},
    {"name_en": "Welcome to Souq: 100 points on your first purchase", "name_ar": "أهلًا بك في السوق: ١٠٠ نقطة على أول شراء",
     "trigger": "purchase", "conditions": [{"type": "nth_purchase", "n": 1}], "actions": [{"type": "fixed_points", "points": 100}]},
]

# The partners' offers in the catalog (points spent on them pay the partner), and the operator's wallet conversion.
REWARDS: list[dict[str, Any]] = [
    {"key": "qahwa-coffee", "partner": "qahwa", "name_en": "A free coffee at Qahwa House", "name_ar": "قهوة مجانية من بيت القهوة",
     "points": 400, "gives": {"type": "free_product", "sku": "QH-LATTE"}},
    {"key": "shifa-20", "partner": "shifa", "name_en": "20 SAR off at Shifa Pharmacy", "name_ar": "خصم ٢٠ ريالًا في صيدلية الشفاء",
     "points": 550, "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "20.00", "min_order": "60.00"}}},
    {"key": "darb-wash", "partner": "darb", "name_en": "A car wash at Darb Fuel", "name_ar": "غسيل سيارة في وقود الدرب",
     "points": 500, "limit": {"count": 2, "period": "month"}, "gives": {"type": "free_product", "sku": "DF-WASH"}},
    {"key": "bayt-25", "partner": "bayt", "name_en": "25 SAR off your groceries at Al Bayt", "name_ar": "خصم ٢٥ ريالًا على مشترياتك من أسواق البيت",
     "points": 650, "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "25.00", "min_order": "100.00"}}},
    {"key": "wallet-cash", "name_en": "Points to wallet cash", "name_ar": "حوّل نقاطك إلى رصيد", "points": 250,
     "gives": {"type": "cashback"}},
]

FIRST = ["Abdullah", "Maha", "Turki", "Hessa", "Saud", "Lama", "Majed", "Dana", "Nawaf", "Jawaher", "Badr", "Shahad"]
FIRST_AR = ["عبدالله", "مها", "تركي", "حصة", "سعود", "لمى", "ماجد", "دانة", "نواف", "جواهر", "بدر", "شهد"]
LAST = ["Al-Otaibi", "Al-Qahtani", "Al-Harbi", "Al-Ghamdi", "Al-Dosari", "Al-Shehri", "Al-Zahrani", "Al-Mutairi"]


@dataclass
class CoalitionResult:
    """What `wafa demo` reports of the coalition: sign-in details, and what its history holds."""

    tenant_slug: str
    api_key: str
    admin_email: str
    admin_password: str
    partners: list[dict[str, str]] = field(default_factory=list)  # key, name, console user, a fresh partner API key
    members: int = 0
    purchases: int = 0
    returns: int = 0
    redemptions: int = 0
    exchanges: int = 0
    wallet_spends: int = 0
    settled: str | None = None  # the closed period

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def partner_email(key: str) -> str:
    return f"{key}@example.com"


def seed(
    factory: sessionmaker[Session], *, now: datetime, password: str, members_count: int = MEMBERS, days: int = DAYS,
    purchases_per_day: tuple[int, int] = PURCHASES_PER_DAY, seed_value: int = 11,
) -> CoalitionResult:
    """Create (or reuse) the coalition tenant, fill it with history if new, and return fresh keys for it."""
    rng = random.Random(seed_value)
    since = now - timedelta(days=days + 1)
    with unit_of_work(factory) as session:
        tenant = tenants.get_by_slug(session, slug=SLUG)
        fresh = tenant is None
        if tenant is None:
            tenant = _program(session, now=since, password=password)
        key = tenants.create_key(session, tenant_id=tenant.id, name=f"demo admin {now:%Y-%m-%d %H:%M}", scopes=["admin"], now=now)
        result = CoalitionResult(SLUG, key.secret, ADMIN_EMAIL, password)
        for spec in PARTNERS:
            partner = coalition.get_by_key(session, tenant_id=tenant.id, key=spec.key)
            if partner is None:
                continue
            till = tenants.create_key(session, tenant_id=tenant.id, name=f"{spec.name} tills (demo)", scopes=list(tenants.PARTNER_SCOPES),
                                      now=now, partner_id=partner.id)
            result.partners.append({"key": spec.key, "name": spec.name, "console_email": partner_email(spec.key), "api_key": till.secret})
        tenant_id = tenant.id
    if fresh:
        History(factory, tenant_id=tenant_id, rng=rng, result=result).run(
            start=now - timedelta(days=days), days=days, members_count=members_count, purchases_per_day=purchases_per_day,
        )
        result.settled = _settle_first_month(factory, tenant_id=tenant_id, start=now - timedelta(days=days), now=now)
    return result


def _program(session: Session, *, now: datetime, password: str) -> Tenant:
    """The coalition tenant with its partners (terms, stores, a console user each), rules and catalog."""
    tenant = tenants.create(
        session, name="Souq Rewards", name_ar="مكافآت السوق", slug=SLUG, currency="SAR", now=now,
        points_name={"en": "Souq points", "ar": "نقاط السوق"}, earn_rates={"SAR": "1"}, pending_days=0,
        expiry={"policy": "days", "periods": 365}, timezone=TIMEZONE, default_region="SA", min_redemption=100, point_cost="0.04",
    )
    coalition.configure(session, tenant_id=tenant.id, coalition_in=CoalitionIn(breakage_policy="operator"), now=now)
    for spec in PARTNERS:
        partner = coalition.create(session, tenant_id=tenant.id, now=now, partner_in=PartnerIn(
            key=spec.key, name=spec.name, name_ar=spec.name_ar, currency="SAR", period="monthly", **spec.terms,
        ))
        for code, name, city in spec.stores:
            coalition.add_store(session, tenant_id=tenant.id, partner_id=partner.id, store_in=StoreIn(code=code, name=name, city=city), now=now)
        admin_users.create(session, tenant_id=tenant.id, email=partner_email(spec.key), name=f"{spec.name} team", password=password,
                           role=PARTNER, partner_id=partner.id, now=now)
    admin_users.create(session, tenant_id=tenant.id, email=ADMIN_EMAIL, name="Souq operator", password=password, role="owner", now=now)
    for spec_ in RULES:
        rules.create(session, tenant_id=tenant.id, definition=RuleDefinition.model_validate(spec_), status="active", now=now)
    program = programs.get(session, tenant_id=tenant.id)
    for reward in REWARDS:
        catalog.create(session, tenant_id=tenant.id, reward_in=RewardIn.model_validate(reward), program=program, now=now)
    session.flush()
    return tenant


class History:
    """Three months of a coalition, a day at a time on a moving clock, through the services the API calls."""

    def __init__(self, factory: sessionmaker[Session], *, tenant_id: int, rng: random.Random, result: CoalitionResult) -> None:
        self.factory, self.tenant_id, self.rng, self.result = factory, tenant_id, rng, result
        self.zone = ZoneInfo(TIMEZONE)
        with factory() as session:
            found = coalition.config_or_raise(session, tenant_id=tenant_id)
        self.partners = {spec.key: found.partners[found.by_key[spec.key]] for spec in PARTNERS}
        self.home: dict[int, str] = {}  # member -> the partner they joined through
        self.weight: dict[int, float] = {}
        self.joined: list[tuple[datetime, int]] = []
        self.orders: list[tuple[datetime, str, str, Decimal]] = []  # (when, partner, order id, amount): returns pick from these
        self.order = 0

    def run(self, *, start: datetime, days: int, members_count: int, purchases_per_day: tuple[int, int]) -> None:
        self._enrol(start=start, days=days, count=members_count)
        for day in range(days):
            local = (start + timedelta(days=day)).astimezone(self.zone).date()
            midnight = datetime.combine(local, time(0), tzinfo=self.zone)
            # Who shops today: the members who joined before it, each as often as their habit says.
            ids = [member_id for joined, member_id in self.joined if joined < midnight]
            weights = [self.weight[m] for m in ids]
            with unit_of_work(self.factory) as session:
                self._returns(session, before=midnight + timedelta(days=1))
                for hours in sorted(self.rng.uniform(6.5, 23) for _ in range(self.rng.randint(*purchases_per_day))):
                    member_id = self.rng.choices(ids, weights=weights)[0] if ids and self.rng.random() < 0.85 else None
                    self._purchase(session, member_id=member_id, at=midnight + timedelta(hours=hours))
                self._spend(session, ids=ids, at=midnight + timedelta(hours=23, minutes=15))
                self._exchange(session, ids=ids, at=midnight + timedelta(hours=23, minutes=30))

    def _enrol(self, *, start: datetime, days: int, count: int) -> None:
        shares = [spec.share for spec in PARTNERS]
        with unit_of_work(self.factory) as session:
            for n in range(count):
                home = self.rng.choices(PARTNERS, weights=shares)[0]
                i = self.rng.randrange(len(FIRST))
                arabic = self.rng.random() < 0.6
                at = start + timedelta(days=self.rng.random() * days * 0.6 if n else 0)
                member = members.create(
                    session, tenant_id=self.tenant_id, region="SA", now=at, channel="api", actor=f"demo: {home.key} till",
                    partner_id=self.partners[home.key].id,
                    member_in=MemberCreate(
                        external_id=f"S{20000 + n}", name=FIRST_AR[i] if arabic else f"{FIRST[i]} {self.rng.choice(LAST)}",
                        email=f"souq{n}@example.com", locale="ar" if arabic else "en", city=self.rng.choice(home.stores)[2],
                        consent=Consent(email=self.rng.random() < 0.7, sms=self.rng.random() < 0.4),
                    ),
                )
                dispatch.publish(session, MemberEnrolled(self.tenant_id, member.id, at, member=member))
                self.home[member.id] = home.key
                self.weight[member.id] = self.rng.paretovariate(1.5) if n else 12.0
                self.joined.append((at, member.id))
        self.joined.sort()
        self.result.members = len(self.joined)

    def _purchase(self, session: Session, *, member_id: int | None, at: datetime) -> None:
        # Half of a member's shopping is where they joined; the rest anywhere in the coalition.
        if member_id is not None and self.rng.random() < 0.5:
            spec = next(s for s in PARTNERS if s.key == self.home[member_id])
        else:
            spec = self.rng.choices(PARTNERS, weights=[s.share for s in PARTNERS])[0]
        self.order += 1
        amount = Decimal(self.rng.randrange(spec.basket[0] * 100, spec.basket[1] * 100)) / 100
        store = self.rng.choice(spec.stores)[0]
        # A till sends its partner's key, or an operator's system names the partner or the store.
        how = self.rng.random()
        key_partner = self.partners[spec.key].id if how < 0.5 else None
        purchase = PurchaseIn(
            type="purchase", member=MemberRef(id=member_id) if member_id else None, order_id=f"{self.order:06d}", amount=str(amount),
            currency="SAR", occurred_at=at, channel="store", store=store if how < 0.8 else None, partner=spec.key if how >= 0.8 else None,
        )
        events.record_purchase(session, tenant_id=self.tenant_id, event_in=purchase, now=at, partner_id=key_partner,
                               request_hash=request_hash("POST", "/v1/events", purchase.model_dump(mode="json")))
        self.result.purchases += 1
        if member_id is not None and self.rng.random() < 0.05:
            self.orders.append((at + timedelta(hours=self.rng.uniform(20, 70)), spec.key, purchase.order_id, amount))

    def _returns(self, session: Session, *, before: datetime) -> None:
        """The returns of the day: all of an order, or part of it."""
        due = sorted(o for o in self.orders if o[0] < before)
        self.orders = [o for o in self.orders if o[0] >= before]
        for when, key, order_id, amount in due:
            part = None if self.rng.random() < 0.5 else str((amount / 2).quantize(Decimal("0.01")))
            back = returns.for_partner(session, tenant_id=self.tenant_id, key_partner_id=None, event_in=ReturnIn(
                type="return", order_id=order_id, partner=key, amount=part, occurred_at=when,
            ))
            returns.record_return(session, tenant_id=self.tenant_id, event_in=back, now=when)
            self.result.returns += 1

    def _spend(self, session: Session, *, ids: list[int], at: datetime) -> None:
        """Some members spend what they hold, mostly at partners other than their own."""
        program = programs.get(session, tenant_id=self.tenant_id)
        # Those who shop most have the most to spend.
        for member_id in dict.fromkeys(self.rng.choices(ids, weights=[self.weight[m] for m in ids], k=4) if ids else ()):
            try:
                with session.begin_nested():
                    spent = self._spend_one(session, member_id=member_id, program=program, at=at)
            except WafaError:
                continue  # in debt after a return, or a monthly limit reached: another day
            if spent == "wallet":
                self.result.wallet_spends += 1
            elif spent:
                self.result.redemptions += 1

    def _spend_one(self, session: Session, *, member_id: int, program: Any, at: datetime) -> str | None:
        """Wallet money at a partner's till; or points on a partner's offer, at its till, or turned into
        wallet money. Returns what was spent ("wallet", "points"), or None."""
        elsewhere = [s.key for s in PARTNERS if s.key != self.home[member_id]]
        choice = self.rng.random()
        if choice < 0.5:
            money = wallet.balances(session, tenant_id=self.tenant_id, member_id=member_id).get("SAR", {}).get("available", 0)
            if money >= 500:
                self._wallet_spend(session, member_id=member_id, money=money, key=self.rng.choice(elsewhere), at=at)
                return "wallet"
        available = ledger.balances(session, tenant_id=self.tenant_id, member_id=member_id)["available"]
        if available < 2 * program.min_redemption:
            return None
        offers = [r["key"] for r in REWARDS if r.get("partner") in elsewhere and r["points"] <= available]
        if offers and choice < 0.45:
            reward_key = self.rng.choice(offers)
        elif choice < 0.85:
            points = max(program.min_redemption, (available // 2) // 100 * 100)
            self._till_redemption(session, member_id=member_id, points=points, key=self.rng.choice(elsewhere), at=at,
                                  block_in_debt=program.block_redemptions_in_debt)
            return "points"
        else:
            reward_key = "wallet-cash"
        redemptions.redeem(session, tenant_id=self.tenant_id, member_id=member_id, now=at, key=f"souq:{at:%Y%m%d}:{member_id}",
                           redemption_in=RedemptionIn(reward_key=reward_key))
        return "points"

    def _till(self, key: str) -> str:
        """What a partner's till writes on a payment: its store and till number."""
        spec = next(s for s in PARTNERS if s.key == key)
        return f"{self.rng.choice(spec.stores)[1]}, till {self.rng.randint(1, 6)}"

    def _till_redemption(self, session: Session, *, member_id: int, points: int, key: str, at: datetime, block_in_debt: bool) -> None:
        """Points spent at a partner's till, as POST /v1/members/{id}/redemptions with `"partner": key` does."""
        partner = coalition.attribute(session, tenant_id=self.tenant_id, key_partner_id=None, named=key, store=None)
        assert partner is not None
        ledger.debit(
            session, tenant_id=self.tenant_id, member_id=member_id, points=points, kind="redeem", destination="redeemed",
            idempotency_key=f"redeem:souq:{at:%Y%m%d}:{member_id}", reason=self._till(key), now=at,
            block_in_debt=block_in_debt, money=coalition.redeem_money(session, tenant_id=self.tenant_id, partner=partner, points=points),
        )

    def _wallet_spend(self, session: Session, *, member_id: int, money: int, key: str, at: datetime) -> None:
        """Wallet money spent at a partner, as POST /v1/members/{id}/wallet/debits with `"partner": key` does."""
        partner = coalition.attribute(session, tenant_id=self.tenant_id, key_partner_id=None, named=key, store=None)
        assert partner is not None
        amount = min(money, self.rng.randrange(500, 3000))
        wallet.debit(
            session, tenant_id=self.tenant_id, member_id=member_id, amount=amount, currency="SAR",
            idempotency_key=f"wallet-debit:souq:{at:%Y%m%d}:{member_id}", reason=self._till(key), now=at,
            money=coalition.spend_money(session, tenant_id=self.tenant_id, partner=partner, amount=amount, currency="SAR"),
        )

    def _exchange(self, session: Session, *, ids: list[int], at: datetime) -> None:
        """A few of the pharmacy's customers bring their Shifa stars into the coalition."""
        theirs = [member_id for member_id in ids if self.home[member_id] == "shifa"]
        for member_id in self.rng.sample(theirs, min(len(theirs), self.rng.random() < 0.3)):
            exchanges.exchange(session, tenant_id=self.tenant_id, partner_id=self.partners["shifa"].id, member_id=member_id,
                               own_points=self.rng.randrange(35, 1200), key=f"souq:{at:%Y%m%d}:{member_id}", now=at)
            self.result.exchanges += 1


def _settle_first_month(factory: sessionmaker[Session], *, tenant_id: int, start: datetime, now: datetime) -> str | None:
    """Close the earliest month the history covers whole (the worker closes the rest as a real coalition's would)."""
    period = terms.label_of(start, kind="monthly", timezone=TIMEZONE)
    begins, ends = terms.bounds(period, timezone=TIMEZONE)
    if begins < start:
        period = terms.label_of(ends, kind="monthly", timezone=TIMEZONE)
        ends = terms.bounds(period, timezone=TIMEZONE)[1]
    if ends > now:
        return None
    with unit_of_work(factory) as session:
        settlement.close(session, tenant_id=tenant_id, period=period, now=now, by="demo")
    return period


def sign_in_lines(result: dict[str, Any]) -> list[str]:
    """What `wafa demo` prints of the coalition (a CoalitionResult as a dict) for people: what it holds,
    and how to sign in as the operator, as each partner, and as a member."""
    lines = [
        f"Coalition tenant {result['tenant_slug']}: {result['members']} new members, {result['purchases']} purchases at "
        f"{len(result['partners'])} partners, {result['returns']} returns, {result['redemptions']} redemptions, "
        f"{result['exchanges']} exchanges of own points, {result['wallet_spends']} wallet spends"
        + (f"; {result['settled']} settled." if result["settled"] else "."),
        f"Admin API key: {result['api_key']}",
        f"Console: /admin, organisation {result['tenant_slug']}, {result['admin_email']} / {result['admin_password']}",
    ]
    lines += [
        f"  partner {p['name']}: console {p['console_email']} / {result['admin_password']}, tills' API key {p['api_key']}"
        for p in result["partners"]
    ]
    lines.append(f"Member portal: /m/{result['tenant_slug']} (sign in as {MEMBER_EMAIL})")
    return lines

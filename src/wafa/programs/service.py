"""Reading and changing a tenant's program; a per-process cache keeps the hot path off the table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from wafa import cache
from wafa.errors import InvalidInput, NotFound
from wafa.money import precision
from wafa.programs.models import Program
from wafa.programs.schemas import ExpiryPolicy, PointsName, ProgramRead, ProgramUpdate


@dataclass(frozen=True, slots=True)
class ProgramConfig:
    """An immutable snapshot of a program's settings."""

    tenant_id: int
    points_name_en: str
    points_name_ar: str
    base_currency: str
    earn_rates: dict[str, str]
    rounding: str
    pending_days: int
    expiry_policy: str
    expiry_periods: int
    timezone: str
    default_region: str
    block_redemptions_in_debt: bool
    min_redemption: int
    hold_ttl_seconds: int
    redemption_step: int = 1
    point_cost: str = "0"
    return_restores: str = "proportional"
    numerals: str = "latn"
    # Anonymise members inactive for this many years (members/privacy.py); None: never.
    anonymise_inactive_after_years: int | None = None
    # Loyalty-fraud policies (models.py says what each value does).
    reenrol_debt: str = "carry"
    tier_return_policy: str = "keep"
    tier_return_days: int = 30
    velocity_limits: tuple[dict, ...] = ()

    def rate_for(self, currency: str) -> str:
        """Points per major unit of `currency`, or InvalidInput if the program does not take it."""
        precision(currency)
        rate = self.earn_rates.get(currency.upper())
        if rate is None:
            accepted = ", ".join(sorted(self.earn_rates))
            raise InvalidInput(f"this program does not accept {currency.upper()} (accepted: {accepted})", field="currency")
        return rate

    def in_base(self, money: int, currency: str) -> Decimal:
        """Money in `currency` (minor units) as base-currency minor units, at the ratio of the earn rates
        (what a point is worth in each); money in a currency without a rate to compare with counts 0."""
        base = self.base_currency
        if currency == base:
            return Decimal(money)
        if currency not in self.earn_rates or base not in self.earn_rates or Decimal(self.earn_rates[base]) == 0:
            return Decimal(0)
        major = Decimal(money).scaleb(-precision(currency))
        return (major * Decimal(self.earn_rates[currency]) / Decimal(self.earn_rates[base])).scaleb(precision(base))


def _snapshot(row: Program) -> ProgramConfig:
    return ProgramConfig(
        tenant_id=row.tenant_id,
        points_name_en=row.points_name_en,
        points_name_ar=row.points_name_ar,
        base_currency=row.base_currency,
        earn_rates=dict(row.earn_rates),
        rounding=row.rounding,
        pending_days=row.pending_days,
        expiry_policy=row.expiry_policy,
        expiry_periods=row.expiry_periods,
        timezone=row.timezone,
        default_region=row.default_region,
        block_redemptions_in_debt=row.block_redemptions_in_debt,
        min_redemption=row.min_redemption,
        hold_ttl_seconds=row.hold_ttl_seconds,
        redemption_step=row.redemption_step,
        point_cost=row.point_cost,
        return_restores=row.return_restores,
        numerals=row.numerals,
        anonymise_inactive_after_years=row.anonymise_inactive_after_years,
        reenrol_debt=row.reenrol_debt,
        tier_return_policy=row.tier_return_policy,
        tier_return_days=row.tier_return_days,
        velocity_limits=tuple(row.velocity_limits or ()),
    )


# The pending window (days) a new program starts with.
NEW_PROGRAM_PENDING_DAYS = 14


def create(session: Session, *, tenant_id: int, currency: str, now: datetime, **settings: object) -> ProgramConfig:
    """Create a tenant's program with 1 point per unit of `currency` unless told otherwise."""
    currency = currency.upper()
    precision(currency)
    # The window is written with the row (a setting like any other, but one every test tenant sets: through
    # update_settings it would tell every process of a change to a program nobody has read yet).
    pending_days = settings.pop("pending_days", NEW_PROGRAM_PENDING_DAYS)
    if not isinstance(pending_days, int) or isinstance(pending_days, bool) or not 0 <= pending_days <= 365:
        raise InvalidInput("pending_days must be a whole number of days from 0 to 365", field="pending_days")
    session.execute(
        insert(Program).values(
            tenant_id=tenant_id,
            base_currency=currency,
            earn_rates={currency: "1"},
            points_name_en="points",
            points_name_ar="نقاط",
            rounding="floor",
            # A return window by default: with none, points earned on a purchase can be spent before it is
            # returned (buy, redeem, return). Shown in the console's first-day checklist.
            pending_days=pending_days,
            expiry_policy="none",
            expiry_periods=0,
            timezone="UTC",
            default_region="SA",
            block_redemptions_in_debt=True,
            min_redemption=1,
            redemption_step=1,
            point_cost="0",
            return_restores="proportional",
            numerals="latn",
            hold_ttl_seconds=900,
            reenrol_debt="carry",
            tier_return_policy="keep",
            tier_return_days=30,
            velocity_limits=[],
            updated_at=now,
        )
    )
    if settings:
        return update_settings(session, tenant_id=tenant_id, program_in=ProgramUpdate(**settings), now=now)
    return get(session, tenant_id=tenant_id, fresh=True)


def get(session: Session, *, tenant_id: int, fresh: bool = False) -> ProgramConfig:
    """Return the program of a tenant (from the process cache unless `fresh`)."""
    if fresh:
        return _read(session, tenant_id)
    return cache.get(session, tenant_id=tenant_id, name="program", load=lambda: _read(session, tenant_id))


def _read(session: Session, tenant_id: int) -> ProgramConfig:
    row = session.execute(select(Program).where(Program.tenant_id == tenant_id)).scalar_one_or_none()
    if row is None:
        raise NotFound("this tenant has no program yet")
    return _snapshot(row)


def update_settings(session: Session, *, tenant_id: int, program_in: ProgramUpdate, now: datetime) -> ProgramConfig:
    """Apply the given settings; return the program as it now is."""
    current = get(session, tenant_id=tenant_id, fresh=True)
    values: dict[str, object] = {}
    data = program_in.model_dump(exclude_unset=True, exclude_none=True)
    if "points_name" in data:
        values["points_name_en"] = data["points_name"]["en"]
        values["points_name_ar"] = data["points_name"]["ar"]
    if program_in.expiry is not None:
        # The whole policy is replaced: an omitted field takes its default, not the old value.
        values["expiry_policy"] = program_in.expiry.policy
        values["expiry_periods"] = program_in.expiry.periods
        if program_in.expiry.policy == "days" and program_in.expiry.periods < 1:
            raise InvalidInput("expiry after N days needs periods >= 1", field="expiry.periods")
    for key in (
        "base_currency", "earn_rates", "rounding", "pending_days", "timezone", "default_region",
        "block_redemptions_in_debt", "min_redemption", "hold_ttl_seconds", "redemption_step",
        "point_cost", "return_restores", "numerals", "reenrol_debt", "tier_return_policy", "tier_return_days",
    ):
        if key in data:
            values[key] = data[key]
    if "default_region" in values:
        values["default_region"] = str(values["default_region"]).upper()
    merged = replace(current, **values)  # type: ignore[arg-type]
    if merged.base_currency not in merged.earn_rates:
        field = "base_currency" if "base_currency" in values else "earn_rates"
        raise InvalidInput(f"the base currency {merged.base_currency} needs an earn rate", field=field)
    values["updated_at"] = now
    session.execute(update(Program).where(Program.tenant_id == tenant_id).values(**values))
    cache.changed(session, tenant_id=tenant_id, name="program")
    return get(session, tenant_id=tenant_id, fresh=True)


def to_read(config: ProgramConfig) -> ProgramRead:
    """The API shape of a program."""
    return ProgramRead(
        points_name=PointsName(en=config.points_name_en, ar=config.points_name_ar),
        base_currency=config.base_currency,
        earn_rates={code: str(Decimal(rate)) for code, rate in config.earn_rates.items()},
        rounding=config.rounding,
        pending_days=config.pending_days,
        expiry=ExpiryPolicy(policy=config.expiry_policy, periods=config.expiry_periods),
        timezone=config.timezone,
        default_region=config.default_region,
        block_redemptions_in_debt=config.block_redemptions_in_debt,
        min_redemption=config.min_redemption,
        hold_ttl_seconds=config.hold_ttl_seconds,
        redemption_step=config.redemption_step,
        point_cost=config.point_cost,
        return_restores=config.return_restores,
        numerals=config.numerals,
        # Shown once ProgramRead has the field (programs/schemas.py); ignored until then. Set by PUT /v1/program/retention.
        anonymise_inactive_after_years=config.anonymise_inactive_after_years,
        reenrol_debt=config.reenrol_debt,
        tier_return_policy=config.tier_return_policy,
        tier_return_days=config.tier_return_days,
    )


def set_retention(session: Session, *, tenant_id: int, years: int | None, now: datetime) -> ProgramConfig:
    """Anonymise members inactive for `years` years from now on (None: never); return the program as it now is."""
    if years is not None and not 1 <= years <= MAX_RETENTION_YEARS:
        raise InvalidInput(f"years must be between 1 and {MAX_RETENTION_YEARS}, or null for never", field="anonymise_inactive_after_years")
    get(session, tenant_id=tenant_id, fresh=True)  # NotFound for a tenant without a program
    session.execute(update(Program).where(Program.tenant_id == tenant_id).values(anonymise_inactive_after_years=years, updated_at=now))
    cache.changed(session, tenant_id=tenant_id, name="program")
    return get(session, tenant_id=tenant_id, fresh=True)


# Longer than anyone keeps a loyalty account open; a typo (2025 for 5) is refused rather than meaning "never".
MAX_RETENTION_YEARS = 100


def retention_settings(session: Session) -> list[tuple[int, int]]:
    """(tenant, years) of every program that anonymises inactive members, in tenant order (the worker's pass)."""
    rows = session.execute(
        select(Program.tenant_id, Program.anonymise_inactive_after_years)
        .where(Program.anonymise_inactive_after_years.is_not(None)).order_by(Program.tenant_id)
    )
    return [(int(t), int(y)) for t, y in rows if y is not None]


def tenant_ids(session: Session) -> list[int]:
    """Every tenant with a program, in id order (the worker's scans go through them)."""
    return [int(t) for t in session.execute(select(Program.tenant_id).order_by(Program.tenant_id)).scalars()]

"""The program table: one program per tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, UTCDateTime


class Program(Base):
    __tablename__ = "programs"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    points_name_en: Mapped[str] = mapped_column(String(64), default="points")
    points_name_ar: Mapped[str] = mapped_column(String(64), default="نقاط")
    base_currency: Mapped[str] = mapped_column(String(3))
    # {"SAR": "1", "USD": "3.75"}: points per one major unit of each accepted currency (decimal strings).
    earn_rates: Mapped[dict[str, str]] = mapped_column(JSON)
    rounding: Mapped[str] = mapped_column(String(16), default="floor")
    pending_days: Mapped[int] = mapped_column(Integer, default=0)
    expiry_policy: Mapped[str] = mapped_column(String(16), default="none")
    expiry_periods: Mapped[int] = mapped_column(Integer, default=0)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    default_region: Mapped[str] = mapped_column(String(2), default="SA")
    # When a return claws back spent points: refuse redemptions until the debt is repaid.
    block_redemptions_in_debt: Mapped[bool] = mapped_column(Boolean, default=True)
    min_redemption: Mapped[int] = mapped_column(Integer, default=1)
    # Redemptions and holds spend whole multiples of this (1: any number of points).
    redemption_step: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # What one point costs the program, in the base currency (decimal string; "0" until set): values
    # the liability of points outstanding.
    point_cost: Mapped[str] = mapped_column(String(24), default="0", server_default="0")
    # What a return gives back of the wallet money and coupons that paid the order: "proportional"
    # (the returned share of wallet money; a coupon's use once the whole order is back) or "none".
    return_restores: Mapped[str] = mapped_column(String(16), default="proportional", server_default="proportional")
    # Digits the member portal and console show: "latn" (0-9) or "arab" (Arabic-Indic).
    numerals: Mapped[str] = mapped_column(String(8), default="latn", server_default="latn")
    hold_ttl_seconds: Mapped[int] = mapped_column(Integer, default=900)
    # Members with no activity (event, ledger entry, portal sign-in) for this many years are anonymised by
    # the worker, as an erasure would (members/privacy.py); None: never.
    anonymise_inactive_after_years: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A member enrolling again with the e-mail or phone of a closed member who left a debt: "carry" the
    # debt over to the new account, "refuse" the enrolment, or "ignore" it (members/person_debts.py).
    reenrol_debt: Mapped[str] = mapped_column(String(8), default="carry", server_default="carry")
    # A return that takes a member back below the threshold of a tier won within `tier_return_days`:
    # "demote" at once (and claw back the tier's welcome points) or "keep" the tier.
    tier_return_policy: Mapped[str] = mapped_column(String(8), default="keep", server_default="keep")
    tier_return_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # Velocity limits (trust/velocity.py): [{"subject", "action", "window", "max_points", "max_count"}].
    velocity_limits: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

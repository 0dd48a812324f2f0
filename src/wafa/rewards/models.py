"""Reward tables: the catalog, what members redeemed, coupons and their uses, coupon campaigns, partner
vouchers, stamp cards and each member's progress on them, and wallet or coupon payments on orders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wafa.db import Base, Id, UTCDateTime

REWARD_KINDS = ("coupon", "free_product", "cashback", "gift", "voucher", "privilege")


class Reward(Base):
    """Something members spend points on. `key` names it to rules and stamp cards."""

    __tablename__ = "rewards"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key", name="uq_rewards_key"),
        Index("ix_rewards_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    description_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    description_ar: Mapped[str | None] = mapped_column(Text, nullable=True)
    image_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    points: Mapped[int] = mapped_column(BigInteger)
    # Money paid on top of the points, in minor units of the program's base currency (0: points only).
    money: Mapped[int] = mapped_column(BigInteger, default=0)
    # None: unlimited. Taken by a guarded update, so concurrent redemptions never oversell.
    stock_left: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    limit_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    limit_period: Mapped[str | None] = mapped_column(String(8), nullable=True)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tiers: Mapped[list] = mapped_column(JSON, default=list)
    segments: Mapped[list] = mapped_column(JSON, default=list)
    # Plan-only rewards: keys of the paid membership plans whose members may redeem it.
    plans: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16))
    # What the kind gives: the coupon's discount, the gift's SKU, the voucher's partner, the privilege's days.
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    # In a coalition: the partner that gives this reward; points spent on it pay that partner.
    partner_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RewardRedemption(Base):
    """One reward given to a member: bought with points, or issued by a rule or a completed stamp card."""

    __tablename__ = "reward_redemptions"
    __table_args__ = (
        Index("ix_reward_redemptions_member", "tenant_id", "member_id", "reward_id", "created_at"),
        UniqueConstraint("tenant_id", "source_key", name="uq_reward_redemptions_source"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # "points" (bought), "rule" or "stamp_card" (issued for free).
    source: Mapped[str] = mapped_column(String(16))
    # Unique per tenant: the same purchase, key or card completion never issues twice.
    source_key: Mapped[str] = mapped_column(String(200))
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    money: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    # issued → used, cancelled or expired; gifts also carry their fulfilment.
    status: Mapped[str] = mapped_column(String(16))
    fulfilment: Mapped[str | None] = mapped_column(String(16), nullable=True)
    points_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    wallet_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    refund_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    wallet_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    coupon_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    voucher_code: Mapped[str | None] = mapped_column(String(128), nullable=True)
    event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    card_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CouponCampaign(Base):
    """A batch of coupon codes generated at once, all with the same discount."""

    __tablename__ = "coupon_campaigns"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    discount: Mapped[dict] = mapped_column(JSON)
    max_uses: Mapped[int] = mapped_column(Integer)
    prefix: Mapped[str] = mapped_column(String(8), default="")
    code_length: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    codes: Mapped[int] = mapped_column(BigInteger, default=0)
    # active or paused: a paused campaign's codes are refused at the till until it is resumed.
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Coupon(Base):
    """A code a till accepts for a discount, `max_uses` times, within its validity."""

    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code", name="uq_coupons_code"),
        Index("ix_coupons_campaign", "tenant_id", "campaign_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)  # no FK: bulk campaigns insert 100,000 rows at a time
    code: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    redemption_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    member_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    discount: Mapped[dict] = mapped_column(JSON)
    max_uses: Mapped[int] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # active or cancelled; a campaign's code is also paused and ends with its campaign (read from there).
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CouponUse(Base):
    """One use of a coupon at a till; `key` makes a retried redeem the same use."""

    __tablename__ = "coupon_uses"
    __table_args__ = (
        UniqueConstraint("tenant_id", "coupon_id", "key", name="uq_coupon_uses_key"),
        Index("ix_coupon_uses_order", "tenant_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    member_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    discount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # A return of the whole order gives the use back (the coupon can be used again) once.
    restored: Mapped[bool] = mapped_column(Boolean, default=False)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Voucher(Base):
    """A partner's code, imported in bulk and handed to one member per redemption."""

    __tablename__ = "vouchers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reward_id", "code", name="uq_vouchers_code"),
        Index("ix_vouchers_available", "tenant_id", "reward_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    code: Mapped[str] = mapped_column(String(128))
    # available → issued; a cancelled redemption revokes its code (the member has seen it).
    status: Mapped[str] = mapped_column(String(16))
    redemption_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StampCard(Base):
    """A card of N stamps: rules give stamps to `key`; a full card issues `reward_id` and a new card starts."""

    __tablename__ = "stamp_cards"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_stamp_cards_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    key: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(200))
    name_ar: Mapped[str] = mapped_column(String(200))
    stamps_needed: Mapped[int] = mapped_column(Integer)
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MemberStampCard(Base):
    """A member's stamps on a card, net of returns; full cards rewarded, and full cards whose reward
    was cancelled by hand (forfeited: those stamps are spent, and a return takes them back first)."""

    __tablename__ = "member_stamp_cards"
    __table_args__ = (UniqueConstraint("tenant_id", "member_id", "card_id", name="uq_member_stamp_cards"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    card_id: Mapped[int] = mapped_column(ForeignKey("stamp_cards.id"))
    stamps: Mapped[int] = mapped_column(BigInteger, default=0)
    rewarded: Mapped[int] = mapped_column(BigInteger, default=0)
    forfeited: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StampCardEvent(Base):
    """The stamps one event put on one member's card, and how many of them returns took back: a return
    takes back only stamps its order really put on the card (not those earned while it was paused)."""

    __tablename__ = "stamp_card_events"
    __table_args__ = (UniqueConstraint("tenant_id", "card_id", "member_id", "event_id", name="uq_stamp_card_events"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    card_id: Mapped[int] = mapped_column(ForeignKey("stamp_cards.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    event_id: Mapped[int] = mapped_column(BigInteger)
    stamps: Mapped[int] = mapped_column(BigInteger)
    taken_back: Mapped[int] = mapped_column(BigInteger, default=0)


class OrderPayment(Base):
    """Wallet money or a coupon used on an order, and how much of it returns have given back."""

    __tablename__ = "order_payments"
    __table_args__ = (Index("ix_order_payments_order", "tenant_id", "order_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    order_id: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(8))  # wallet or coupon
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    restored: Mapped[int] = mapped_column(BigInteger, default=0)
    wallet_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    coupon_use_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

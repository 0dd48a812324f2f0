"""API shapes of rewards: the catalog, redemptions, coupons and campaigns, vouchers, stamp cards."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wafa.events.schemas import Item
from wafa.inputs import Amount, Count, Flag, Id, Line, Moment, Text

Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Label = Annotated[Line, Field(min_length=1, max_length=64)]
# An image's address: http(s), then no control characters.
ImageUrl = Annotated[str, Field(max_length=1000, pattern=r"^https?://[^\x00-\x1f\x7f-\x9f]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DiscountIn(_Strict):
    """What a coupon takes off: a fixed amount, a percentage, or one product free. Money in major units."""

    type: Literal["fixed", "percent", "free_product"]
    amount: Amount | None = Field(None, description="fixed: the amount off")
    percent: Amount | None = Field(None, description="percent: the share off, 0 to 100")
    currency: Line | None = Field(None, min_length=3, max_length=3, description="defaults to the program's base currency")
    min_order: Amount | None = Field(None, description="the basket must come to at least this")
    max_discount: Amount | None = Field(None, description="never more off than this")
    categories: list[Label] = Field(default_factory=list, max_length=100, description="only these categories are discounted")
    skus: list[Label] = Field(default_factory=list, max_length=1000, description="only these SKUs are discounted")
    sku: Label | None = Field(None, description="free_product: the product given")
    quantity: Count = Field(1, ge=1, le=100, description="free_product: how many units go free")

    @model_validator(mode="after")
    def _terms(self) -> DiscountIn:
        if self.type == "fixed" and self.amount is None:
            raise ValueError("a fixed discount needs an amount")
        if self.type == "percent":
            if self.percent is None:
                raise ValueError("a percent discount needs a percent")
            if not 0 < Decimal(self.percent) <= 100:
                raise ValueError("percent is more than 0 and at most 100")
        if self.type == "free_product" and self.sku is None:
            raise ValueError("a free_product discount needs the sku given")
        return self


class CouponGives(_Strict):
    """A discount coupon (fixed, percent, or a free product), usable `uses` times within `valid_days`."""

    type: Literal["coupon"]
    discount: DiscountIn
    uses: Count = Field(1, ge=1, le=10_000)
    valid_days: Count | None = Field(30, ge=1, le=3650, description="how long an issued coupon is valid (null: no end)")


class FreeProductGives(_Strict):
    """A coupon for a free product at the till."""

    type: Literal["free_product"]
    sku: Label
    quantity: Count = Field(1, ge=1, le=100)
    valid_days: Count | None = Field(30, ge=1, le=3650)


class CashbackGives(_Strict):
    """Points converted into wallet money."""

    type: Literal["cashback"]
    rate: Amount | None = Field(
        None, description="money (major units of the base currency) per point; defaults to the program's point cost"
    )


class GiftGives(_Strict):
    """A physical gift shipped to the member (requested → shipped → delivered)."""

    type: Literal["gift"]
    sku: Label | None = None


class VoucherGives(_Strict):
    """A partner's code, one per redemption, from codes uploaded in bulk."""

    type: Literal["voucher"]
    partner: Line = Field(min_length=1, max_length=200)


class PrivilegeGives(_Strict):
    """A privilege or experience (lounge access, early access to a sale), valid for `valid_days`."""

    type: Literal["privilege"]
    valid_days: Count | None = Field(None, ge=1, le=3650)


Gives = Annotated[
    CouponGives | FreeProductGives | CashbackGives | GiftGives | VoucherGives | PrivilegeGives, Field(discriminator="type")
]


class Limit(_Strict):
    count: Count = Field(ge=1, le=1_000_000)
    period: Literal["day", "week", "month", "year", "lifetime"]


class RewardIn(_Strict):
    key: Key = Field(description="the reward's name to rules and stamp cards, unique in the program")
    name_en: Line = Field(min_length=1, max_length=200)
    name_ar: Line = Field(min_length=1, max_length=200)
    description_en: Text | None = Field(None, max_length=5000)
    description_ar: Text | None = Field(None, max_length=5000)
    image_url: ImageUrl | None = None
    points: Count = Field(ge=0, le=10**12, description="the cost in points (for cashback: the least a member converts)")
    money: Amount | None = Field(None, description="money paid on top of the points, in the base currency")
    stock: Count | None = Field(None, ge=0, le=10**12, description="null: unlimited (vouchers: the codes uploaded)")
    limit: Limit | None = Field(None, description="per member")
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    tiers: list[Label] = Field(default_factory=list, max_length=50, description="only members of these tiers (empty: all)")
    segments: list[Label] = Field(default_factory=list, max_length=50, description="only members of these segments")
    plans: list[Label] = Field(default_factory=list, max_length=50, description="only members of these paid plans (keys; empty: all)")
    status: Literal["draft", "active", "paused", "archived"] = "active"
    gives: Gives
    partner: Line | None = Field(
        None, min_length=1, max_length=64,
        description="in a coalition: the key of the partner that gives this reward; points spent on it pay that partner",
    )


class RewardUpdate(_Strict):
    name_en: Line | None = Field(None, min_length=1, max_length=200)
    name_ar: Line | None = Field(None, min_length=1, max_length=200)
    description_en: Text | None = Field(None, max_length=5000)
    description_ar: Text | None = Field(None, max_length=5000)
    image_url: ImageUrl | None = None
    points: Count | None = Field(None, ge=0, le=10**12)
    money: Amount | None = None
    stock: Count | None = Field(None, ge=0, le=10**12, description="the new stock left (send `unlimited_stock` to lift it)")
    unlimited_stock: Flag | None = None
    limit: Limit | None = None
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    tiers: list[Label] | None = Field(None, max_length=50)
    segments: list[Label] | None = Field(None, max_length=50)
    plans: list[Label] | None = Field(None, max_length=50)
    status: Literal["draft", "active", "paused", "archived"] | None = None
    gives: Gives | None = None
    partner: Line | None = Field(
        None, min_length=1, max_length=64,
        description="in a coalition: the key of the partner that gives this reward; points spent on it pay that partner",
    )


class Lock(BaseModel):
    code: Literal["status", "not_yet", "ended", "tier", "segment", "points", "stock", "limit", "member", "debt", "plan"]
    message: str


class RewardRead(BaseModel):
    id: int
    key: str
    kind: str
    name: dict[str, str]
    description: dict[str, str | None]
    image_url: str | None
    points: int
    money: str | None = Field(description="money on top of the points, in the base currency")
    currency: str
    stock: int | None = Field(description="left to redeem (null: unlimited)")
    limit: Limit | None
    valid_from: datetime | None
    valid_until: datetime | None
    tiers: list[str]
    segments: list[str]
    plans: list[str]
    status: str
    gives: dict[str, Any]
    partner: str | None = Field(None, description="in a coalition: the key of the partner that gives it")
    created_at: datetime
    updated_at: datetime
    available: bool | None = Field(None, description="with member_id: whether the member may redeem it now")
    locked: list[Lock] | None = Field(None, description="with member_id: why the member may not redeem it now")


class RewardPage(BaseModel):
    items: list[RewardRead]
    next_cursor: str | None


class RedemptionIn(_Strict):
    reward_id: Id | None = None
    reward_key: Key | None = None
    points: Count | None = Field(
        None, ge=1, le=10**12, description="cashback rewards: the points to convert (at least the reward's points)"
    )
    pay_money_from_wallet: Flag = Field(False, description="pay the reward's money part from the member's wallet")
    note: Text | None = Field(None, max_length=500, description="e.g. a gift's delivery address")

    @model_validator(mode="after")
    def _one(self) -> RedemptionIn:
        if (self.reward_id is None) == (self.reward_key is None):
            raise ValueError("give exactly one of reward_id or reward_key")
        return self


class CouponRead(BaseModel):
    code: str
    discount: dict[str, Any] = Field(description="the coupon's terms, money in major units")
    max_uses: int
    uses: int
    valid_from: datetime | None
    valid_until: datetime | None
    status: str = Field(description="active, used (no uses left), expired, cancelled, or paused with its campaign")
    member_id: int | None
    campaign_id: int | None


class RedemptionRead(BaseModel):
    id: int
    member_id: int
    reward: dict[str, Any] = Field(description="id, key, kind and names of the reward")
    source: str = Field(description="points (bought), rule or stamp_card (issued)")
    points: int
    money: str | None
    currency: str | None
    status: str = Field(description="issued, used, cancelled or expired")
    fulfilment: str | None = Field(description="gifts: requested, shipped, delivered or cancelled")
    coupon: CouponRead | None
    voucher_code: str | None
    wallet_amount: str | None = Field(description="cashback: the money paid into the wallet")
    note: str | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    balance: int | None = Field(None, description="the member's available points after this")


class RedemptionPage(BaseModel):
    items: list[RedemptionRead]
    next_cursor: str | None


class FulfilmentIn(_Strict):
    status: Literal["shipped", "delivered", "cancelled"]
    note: Text | None = Field(None, max_length=500, description="e.g. a tracking number")


class BasketIn(_Strict):
    amount: Amount = Field(description="the order total before this coupon")
    currency: Line = Field(min_length=3, max_length=3)
    items: list[Item] = Field(default_factory=list, max_length=500)
    member_id: Id | None = Field(None, description="needed for a coupon issued to a member")


class CouponRedeemIn(BasketIn):
    order_id: Line | None = Field(None, min_length=1, max_length=128, description="links the use to the order, for returns")


class CouponCheck(BaseModel):
    code: str
    valid: bool
    discount: str = Field(description="what the coupon takes off this basket, in major units")
    currency: str
    reason: str | None = Field(description="why it gives nothing, when it does not")
    coupon: CouponRead


class CouponUseRead(BaseModel):
    use_id: int
    code: str
    discount: str
    currency: str
    order_id: str | None
    uses_left: int
    used_at: datetime


class CampaignIn(_Strict):
    name: Line = Field(min_length=1, max_length=200)
    discount: DiscountIn
    count: Count = Field(ge=1, le=1_000_000)
    max_uses: Count = Field(1, ge=1, le=1_000_000, description="uses per code")
    prefix: str = Field("", max_length=8, pattern=r"^[A-Z0-9]*$")
    length: Count = Field(12, ge=10, le=32, description="random characters per code")
    valid_from: Moment | None = None
    valid_until: Moment | None = None


class CampaignRead(BaseModel):
    id: int
    name: str
    discount: dict[str, Any]
    max_uses: int
    codes: int
    prefix: str
    valid_from: datetime | None
    valid_until: datetime | None
    used: int = Field(description="uses so far, over all codes")
    status: str = Field(description="active, or paused: its codes are refused at the till until it is resumed")
    created_at: datetime


class CampaignPage(BaseModel):
    items: list[CampaignRead]
    next_cursor: str | None


class CampaignUpdate(_Strict):
    """Pause or resume a campaign, or move the end of its codes' validity (null: no end)."""

    status: Literal["active", "paused"] | None = None
    valid_until: Moment | None = Field(None, description="the new end for every code of the campaign; null: no end")

    @model_validator(mode="after")
    def _something(self) -> CampaignUpdate:
        if not self.model_fields_set:
            raise ValueError("give status or valid_until")
        if "status" in self.model_fields_set and self.status is None:
            raise ValueError("status cannot be empty")
        return self


class UsagePeriod(BaseModel):
    period: str = Field(description="the first local day of the period (YYYY-MM for months)")
    uses: int


class CampaignUsage(BaseModel):
    campaign_id: int
    codes: int = Field(description="codes issued")
    used_codes: int = Field(description="codes used at least once")
    remaining: int = Field(description="codes a till accepts now (not paused, not expired, uses left)")
    uses: int = Field(description="uses so far, over all codes")
    discount: dict[str, str] = Field(description="money taken off so far, per currency, in major units")
    step: Literal["day", "week", "month"]
    over_time: list[UsagePeriod] = Field(description="uses per period since the campaign began (returns given back excluded)")


class VouchersIn(_Strict):
    codes: list[Annotated[Line, Field(min_length=1, max_length=128)]] = Field(min_length=1, max_length=10_000)

    @field_validator("codes")
    @classmethod
    def _strip(cls, codes: list[str]) -> list[str]:
        stripped = [code.strip() for code in codes]
        if any(not code for code in stripped):
            raise ValueError("a voucher code must not be blank")
        return stripped


class VouchersRead(BaseModel):
    imported: int
    duplicates: int
    available: int


class StampCardIn(_Strict):
    key: Key = Field(description="the card rules give stamps to (the `card` of a stamps action)")
    name_en: Line = Field(min_length=1, max_length=200)
    name_ar: Line = Field(min_length=1, max_length=200)
    stamps_needed: Count = Field(ge=1, le=1000)
    reward_id: Id = Field(description="the reward a full card issues")
    status: Literal["active", "paused"] = "active"


class StampCardUpdate(_Strict):
    name_en: Line | None = Field(None, min_length=1, max_length=200)
    name_ar: Line | None = Field(None, min_length=1, max_length=200)
    status: Literal["active", "paused"] | None = Field(None, description="a paused card takes no stamps")


class StampCardRead(BaseModel):
    id: int
    key: str
    name: dict[str, str]
    stamps_needed: int
    reward_id: int
    status: str
    created_at: datetime


class StampCardPage(BaseModel):
    items: list[StampCardRead]


class MemberStampCardRead(BaseModel):
    card: StampCardRead
    stamps: int = Field(description="stamps on the current card")
    completed: int = Field(description="full cards rewarded so far")
    total_stamps: int = Field(description="all stamps ever kept, net of returns")


class MemberStampCards(BaseModel):
    member_id: int
    cards: list[MemberStampCardRead]

"""The WafaError tree: services raise these, one API handler turns them into problem details."""

from __future__ import annotations

from typing import Any


class WafaError(Exception):
    """Base of every expected failure; carries an HTTP status and a problem slug."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field:
            body["errors"] = [{"field": self.field, "reason": self.detail}]
        body.update(self.extra)
        return body


class InvalidInput(WafaError):
    """The request is well-formed JSON but a value is not acceptable."""

    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class NotFound(WafaError):
    """The thing asked for does not exist for this tenant."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(WafaError):
    """The request conflicts with the current state (a duplicate, a resolved hold)."""

    status = 409
    slug = "conflict"
    title = "Conflict"


class IdempotencyMismatch(Conflict):
    """An idempotency key was reused with a different request body."""

    slug = "idempotency-key-reused"
    title = "Idempotency key reused with a different request"


class InsufficientPoints(WafaError):
    """A debit asked for more points than the member has available."""

    status = 422
    slug = "insufficient-points"
    title = "Insufficient points"


class InsufficientFunds(WafaError):
    """A wallet debit asked for more money than the member's wallet holds."""

    status = 422
    slug = "insufficient-funds"
    title = "Insufficient funds"


class RewardLocked(WafaError):
    """The member may not redeem this reward now (tier, stock, limit, window, points); `locked` says why."""

    status = 422
    slug = "reward-locked"
    title = "Reward locked"


class OutOfStock(Conflict):
    """The reward's stock (or its partner's codes) ran out."""

    slug = "out-of-stock"
    title = "Out of stock"


class CouponNotUsable(InvalidInput):
    """The coupon exists but cannot be used now, or gives nothing on this basket."""

    slug = "coupon-not-usable"
    title = "Coupon not usable"


class CouponUsed(Conflict):
    """A coupon with no uses left, or already used on this order."""

    slug = "coupon-used"
    title = "Coupon already used"


class MemberInDebt(WafaError):
    """The member owes points (a return clawed back spent points); redemptions wait."""

    status = 422
    slug = "member-in-debt"
    title = "Member has a negative balance"


class PersonInDebt(Conflict):
    """Enrolling someone who, as another member (same inbox or phone), still owes points or wallet money,
    under a program whose `reenrol_debt` policy is "refuse"."""

    slug = "person-in-debt"
    title = "The person owes points or money as another member"


class MemberNotActive(WafaError):
    """The member is suspended or closed."""

    status = 422
    slug = "member-not-active"
    title = "Member is not active"


class Unauthorized(WafaError):
    """No valid API key was presented."""

    status = 401
    slug = "unauthorized"
    title = "Unauthorized"


class Forbidden(WafaError):
    """The API key lacks the scope this operation needs."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class LedgerCorrupt(WafaError):
    """`ledger verify` found an entry, balance or hash chain that does not add up."""

    status = 500
    slug = "ledger-corrupt"
    title = "Ledger verification failed"


class PdfUnavailable(WafaError):
    """This server cannot render PDFs (WeasyPrint, or the Pango library it uses, is missing)."""

    status = 503
    slug = "pdf-unavailable"
    title = "PDF export unavailable"

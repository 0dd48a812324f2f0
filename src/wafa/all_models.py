"""Imports every domain's tables so Base.metadata (and Alembic) sees the whole schema."""

from wafa.analytics.models import (
    AbcPolicy, AbcScore, AcquisitionSpend, AnalyticsRun, ClvModel, CustomSegment, ProgramGoal, RfmCount, RfmScore, SegmentCount,
    SegmentMember,
)

from wafa.engagement.models import (
    AchievementAward, Badge, Challenge, ChallengeProgress, LeaderboardProfile, MemberStreak, Referral, ReferralPolicy, Streak,
    Survey, SurveyInvitation, SurveyResponse,
)
from wafa.events.models import Event, EventType, IdempotencyRecord, ImportJob
from wafa.ledger.models import Account, Entry, Hold, Lot, LotMovement, Posting
from wafa.members.models import Member
from wafa.memberships.models import Membership, MembershipLog, MembershipPayment, Plan
from wafa.programs.models import Program
from wafa.rewards.models import (
    Coupon, CouponCampaign, CouponUse, MemberStampCard, OrderPayment, Reward, RewardRedemption, StampCard, StampCardEvent,
    Voucher,
)
from wafa.rules.models import Rule, RuleAward, RuleBudget, RuleVersion
from wafa.tenants.models import AdminUser, ApiKey, AuditEntry, Tenant
from wafa.web.models import LoginCode, WebSession
from wafa.tiers.models import MemberTier, Tier, TierChange, TierPolicy

__all__ = [
    "Account", "ApiKey", "Coupon", "CouponCampaign", "CouponUse", "Entry", "Event", "EventType", "Hold",
    "IdempotencyRecord", "Lot", "LotMovement", "Member", "MemberStampCard", "OrderPayment", "Posting", "Program",
    "Reward", "RewardRedemption", "Rule", "RuleAward", "RuleBudget", "RuleVersion", "StampCard", "StampCardEvent", "Tenant",
    "Voucher", "Tier", "TierPolicy", "MemberTier", "TierChange", "Referral", "ReferralPolicy",
    "Plan", "Membership", "MembershipPayment", "MembershipLog", "Badge", "Challenge", "ChallengeProgress", "Streak",
    "MemberStreak", "AchievementAward", "LeaderboardProfile", "ClvModel", "RfmScore", "AcquisitionSpend", "CustomSegment", "SegmentMember", "SegmentCount", "AbcPolicy", "AbcScore", "RfmCount", "AnalyticsRun", "ProgramGoal", "Survey", "SurveyInvitation", "SurveyResponse",
    "AdminUser", "AuditEntry", "WebSession", "LoginCode", "ImportJob",
]

"""Engagement: referrals (and, next, badges, challenges, streaks and surveys)."""

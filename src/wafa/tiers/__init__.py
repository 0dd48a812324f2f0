"""Tiers: ordered tiers, qualification on a metric over a window, upgrades at once, reviewed downgrades."""

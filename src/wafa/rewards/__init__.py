"""Rewards: the catalog, redemptions, coupons and campaigns, partner vouchers, stamp cards, order payments."""

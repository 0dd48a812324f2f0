"""Paid memberships: plans, subscriptions, payments from the shop's provider, renewals and lapses."""

"""Earning rules and promotions: typed conditions and actions, evaluated by a pure engine."""

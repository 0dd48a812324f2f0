"""Tenants, their API keys and scopes."""

"""Intake of purchases, returns and custom events; idempotency; dispatch to the ledger."""

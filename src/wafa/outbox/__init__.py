"""The outbox: every fact worth telling the outside world, written in the transaction of the change it
reports, then numbered per tenant once committed. Delivery (webhooks, broker streams, messages to
members) reads it from `wafa.notify`; this package imports no domain, so any domain (the ledger
included) may write to it."""

"""The points ledger: accounts, entries, postings, lots and holds. The only code that changes a balance."""

"""The loyalty program of a tenant: points currency, earn rates, rounding, pending window, expiry."""

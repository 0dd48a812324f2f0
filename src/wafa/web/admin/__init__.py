"""The admin console: a tenant's team runs its program from a browser."""

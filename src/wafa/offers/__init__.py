"""Personal offers: which rewards and purchase categories each member is likely to want next."""

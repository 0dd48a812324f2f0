"""Scheduled work: releasing pending points, expiring lots, lapsing holds."""

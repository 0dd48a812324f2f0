"""Stores with coordinates, time zone and opening hours, and members' check-ins at them."""

"""The admin console (/admin) and the member portal (/m/<tenant>): server-rendered pages in Arabic and English."""

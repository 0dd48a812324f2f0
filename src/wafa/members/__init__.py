"""Members: profile, consent, status, referral code and card token."""

"""The member portal: the card in a phone, balance, history, rewards, coupons, referrals, badges, surveys."""

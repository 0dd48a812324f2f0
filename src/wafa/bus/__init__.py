"""Domain events and their handlers: what happened (a purchase recorded, points earned, a tier
changed...) is published by the domain where it happens, and the handlers listed in
`wafa.bus.handlers` react, in order, in the caller's transaction."""

"""Words the pages show that come from other domains' values (statuses, problem titles, segment names):
listed here so that message extraction puts them in the catalogs. Never called."""


def N_(message: str) -> str:  # gettext's name for "mark for extraction only"
    return message


STATUSES = (
    N_("active"), N_("suspended"), N_("closed"), N_("issued"), N_("used"), N_("cancelled"), N_("expired"),
    N_("requested"), N_("shipped"), N_("delivered"), N_("waiting"), N_("pending"), N_("completed"), N_("refused"),
    N_("draft"), N_("paused"), N_("archived"), N_("open"), N_("upcoming"), N_("exhausted"),
)
PROBLEMS = (
    N_("Account locked"), N_("Bad request"), N_("Code refused"), N_("Conflict"), N_("Coupon already used"),
    N_("Coupon not usable"), N_("Forbidden"), N_("Idempotency key reused with a different request"), N_("Insufficient funds"),
    N_("Insufficient points"), N_("Invalid input"), N_("Member has a negative balance"), N_("Member is not active"),
    N_("Not found"), N_("Out of stock"), N_("Read-only role"), N_("Request refused"), N_("Reward locked"), N_("Sign-in refused"),
    N_("Too many codes asked for"), N_("Unauthorized"),
)
SEGMENTS = (
    N_("Champions"), N_("Loyal"), N_("Potential loyalists"), N_("New"), N_("At risk"), N_("Can't lose them"),
    N_("Hibernating"), N_("Lost"),
)

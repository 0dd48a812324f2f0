"""Settings read from WAFA_* environment variables, with defaults that run on a laptop."""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide configuration; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="WAFA_", extra="ignore")

    database_url: str = "sqlite:///wafa.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    # Pool sized for one app process; several processes each get their own pool.
    db_pool_size: int = 10
    worker_interval_seconds: float = 30.0
    # Where members reach this Wafa (links in referral invitations and, later, e-mails).
    public_url: str = "http://127.0.0.1:8000"
    # E-mail (members' sign-in codes). With no host, messages go to the server log instead.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Wafa <no-reply@localhost>"
    smtp_starttls: bool = False
    # Webhook endpoints must be https on a public address; tests and development allow http and
    # private addresses (127.0.0.1) with this set.
    webhook_allow_private: bool = False
    # How often `wafa worker` looks for messages to number and deliveries due (seconds).
    delivery_interval_seconds: float = 1.0
    # How long a worker holds the deliveries it is sending; past it, another worker sends them (the
    # first one died). Longer than a send can take (10 s timeout each).
    delivery_lease_seconds: float = 60.0
    # Session cookies carry the Secure flag: "auto" sets it when public_url is https.
    cookie_secure: str = "auto"
    # Where the front-end libraries installed from npm live (default: node_modules beside the source).
    assets_dir: str | None = None

    # --- Limits against abuse (wafa.trust; the README's security section) ---
    # Where request counts are kept, shared by every process: redis://host:port/db. Without it each
    # process counts in its own memory (fine for one process, e.g. on SQLite).
    redis_url: str | None = None
    # The largest request body (bytes) the API and console read; imports (CSV uploads) may be larger.
    max_body_bytes: int = 1_048_576
    max_import_bytes: int = 209_715_200
    # Requests per API key, per class of route ("N/second|minute|hour|day", several joined by ";").
    # A tenant may have its own (PUT /v1/tenant/rate-limits).
    rate_events: str = "3000/minute"
    rate_redemptions: str = "600/minute"
    rate_writes: str = "600/minute"
    rate_reads: str = "3000/minute"
    # Sign-in (console passwords, members' e-mailed codes, joining): per client address and per organisation,
    # counted before any password is hashed; failed sign-ins per address lock that address out.
    signin_per_ip: str = "20/minute;100/hour"
    signin_per_org: str = "120/minute"
    signin_failures_per_ip: str = "20/15 minutes"
    member_codes_per_ip: str = "10/15 minutes;30/day"
    # Unknown programs asked for under /m/<slug> by one address (slugs are not for guessing).
    unknown_programs_per_ip: str = "20/hour"
    # Password hashes (argon2id: 64 MiB and 4 threads each) computed at once per process; more wait, then get a 503.
    password_hash_slots: int = 1
    # /metrics: with a token, only `Authorization: Bearer <token>`; without, only clients on this machine.
    metrics_token: str | None = None


@lru_cache
def get_settings() -> Settings:
    """Return the settings of this process (read once)."""
    return Settings()

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


@lru_cache
def get_settings() -> Settings:
    """Return the settings of this process (read once)."""
    return Settings()

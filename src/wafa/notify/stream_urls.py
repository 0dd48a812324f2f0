"""The broker URLs a stream sink may hold: RabbitMQ (amqp, amqps) or NATS (nats, tls), over TLS to a public
address the webhooks' rule allows; shown with the password masked."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from wafa.config import get_settings
from wafa.errors import InvalidInput
from wafa.notify import webhooks

SCHEMES = {"rabbitmq": ("amqp", "amqps"), "nats": ("nats", "tls")}
_TLS = ("amqps", "tls")
_PORTS = {"amqp": 5672, "amqps": 5671, "nats": 4222, "tls": 4222}


def mask_url(url: str) -> str:
    """The URL with its password shown as ***: amqp://user:***@host/vhost."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def check_url(url: str, *, kind: str, field: str = "url", resolve: bool = True) -> None:
    """Refuse a broker URL with another kind's scheme or no host, one to an address webhooks may not reach
    (private, loopback, reserved), or one without TLS; WAFA_WEBHOOK_ALLOW_PRIVATE allows the last two
    (tests and development)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("the URL is not valid", field=field) from None
    schemes = SCHEMES[kind]
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidInput(f"a {kind} URL is {' or '.join(s + '://host' for s in schemes)}", field=field)
    if any(c.isspace() or not c.isprintable() for c in url) or parts.fragment:
        raise InvalidInput("the URL must not hold spaces, control characters or a #fragment", field=field)
    if parts.scheme not in _TLS and not get_settings().webhook_allow_private:
        raise InvalidInput(f"a broker on a public address is reached over TLS: use {schemes[1]}://", field=field)
    # The address rule is the webhooks' (only the host and port matter to it: the password stays out).
    address = parts.netloc.rpartition("@")[2]
    webhooks.check_url(f"https://{address if port is not None else f'{address}:{_PORTS[parts.scheme]}'}/", field=field, resolve=resolve)

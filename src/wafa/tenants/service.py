"""Tenants (their names in both languages, the names of their own benefits) and API keys: create,
authenticate (cached per process), revoke."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import insert, select
from sqlalchemy import update as update_rows  # `update` is this module's own verb
from sqlalchemy.orm import Session

from wafa import cache
from wafa.errors import Conflict, InvalidInput, NotFound, Unauthorized
from wafa.ledger import service as ledger
from wafa.programs import service as program_service
from wafa.tenants.models import ApiKey, Tenant
from wafa.tenants.schemas import TenantUpdate

SCOPES = ("admin", "read", "members:write", "events:write", "redeem")
# What a coalition partner's key may hold: enrol members, send purchases and returns, redeem at its tills.
PARTNER_SCOPES = ("members:write", "events:write", "redeem")
# A program names a few benefits of its own, not an open-ended dictionary.
MAX_BENEFIT_NAMES = 500
KEY_PREFIX = "wafa_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a tenant and what its key may do."""

    tenant_id: int
    key_id: int
    scopes: frozenset[str]
    # A coalition partner's key: only the routes a partner's tills use, and only the partner's own data.
    partner_id: int | None = None
    # The tenant's own rate limits by route class (wafa.trust.gate), where it set some.
    rate_limits: Mapping[str, str] | None = None

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly made key: the secret is shown once and never stored."""

    id: int
    secret: str
    prefix: str
    scopes: list[str]


def slugify(name: str) -> str:
    """A URL-safe slug for a tenant name (Latin letters kept, others dropped)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:48] or "tenant"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def get(session: Session, *, tenant_id: int) -> Tenant | None:
    """A tenant by id, or None."""
    return session.get(Tenant, tenant_id)


def get_by_slug(session: Session, *, slug: str) -> Tenant | None:
    """Return the tenant with this slug, or None."""
    return session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()


def get_by_slug_or_raise(session: Session, *, slug: str) -> Tenant:
    """Return the tenant with this slug or raise NotFound."""
    tenant = get_by_slug(session, slug=slug)
    if tenant is None:
        raise NotFound(f"no tenant {slug!r}")
    return tenant


def list_(session: Session) -> list[Tenant]:
    """Return all tenants, oldest first."""
    return list(session.execute(select(Tenant).order_by(Tenant.id)).scalars())


def create(
    session: Session, *, name: str, currency: str, now: datetime, slug: str | None = None, name_ar: str | None = None,
    **program_settings: object,
) -> Tenant:
    """Create a tenant with its program and ledger accounts."""
    if not name.strip():
        raise InvalidInput("a tenant needs a name", field="name")
    if name_ar is not None and len(name_ar.strip()) > 200:
        raise InvalidInput("the Arabic name is at most 200 characters", field="name_ar")
    slug = slug or slugify(name)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", slug):
        raise InvalidInput("a slug is lowercase letters, digits and dashes", field="slug")
    if get_by_slug(session, slug=slug) is not None:
        raise Conflict(f"a tenant with slug {slug!r} exists", field="slug")
    tenant_id = session.execute(
        insert(Tenant)
        .values(slug=slug, name=name.strip(), name_ar=(name_ar or "").strip() or None, status="active", created_at=now)
        .returning(Tenant.id)
    ).scalar_one()
    program_service.create(session, tenant_id=tenant_id, currency=currency, now=now, **program_settings)
    ledger.open_program_accounts(session, tenant_id=tenant_id)
    return session.execute(select(Tenant).where(Tenant.id == tenant_id)).scalar_one()


def get_or_raise(session: Session, *, tenant_id: int) -> Tenant:
    """A tenant by id, or NotFound."""
    tenant = get(session, tenant_id=tenant_id)
    if tenant is None:
        raise NotFound(f"no tenant {tenant_id}")
    return tenant


def update(session: Session, *, tenant_id: int, tenant_in: TenantUpdate) -> Tenant:
    """Rename a tenant in either language, or name (rename, forget) benefits of its own."""
    tenant = get_or_raise(session, tenant_id=tenant_id)
    if tenant_in.name is not None:
        if not tenant_in.name.strip():
            raise InvalidInput("a tenant needs a name", field="name")
        tenant.name = tenant_in.name.strip()
    if tenant_in.name_ar is not None:
        tenant.name_ar = tenant_in.name_ar.strip() or None
    if tenant_in.benefit_names:
        names = dict(tenant.benefit_names or {})
        for key, pair in tenant_in.benefit_names.items():
            if pair is None:
                names.pop(key, None)
            else:
                names[key] = {"en": pair.en.strip(), "ar": pair.ar.strip()}
        if len(names) > MAX_BENEFIT_NAMES:
            raise InvalidInput(f"a program names at most {MAX_BENEFIT_NAMES} benefits of its own", field="benefit_names")
        # A new dict: the JSON column notices a replaced value, not one changed in place.
        tenant.benefit_names = names
    session.flush()
    return tenant


def name_in(tenant: Tenant, language: str) -> str:
    """The tenant's name as a page in `language` shows it (Arabic pages fall back to the name)."""
    if language == "ar" and tenant.name_ar:
        return tenant.name_ar
    return tenant.name


def benefit_names(session: Session, *, tenant_id: int) -> dict[str, dict[str, str]]:
    """Names of the tenant's own benefits, by flag: {"valet_parking": {"en": ..., "ar": ...}}."""
    tenant = get(session, tenant_id=tenant_id)
    return dict(tenant.benefit_names or {}) if tenant else {}


def create_key(
    session: Session, *, tenant_id: int, name: str, scopes: list[str], now: datetime, partner_id: int | None = None,
) -> NewKey:
    """Create an API key (a coalition partner's, limited to PARTNER_SCOPES, with `partner_id`); the
    returned secret is the only copy."""
    allowed = PARTNER_SCOPES if partner_id is not None else SCOPES
    unknown = sorted(set(scopes) - set(allowed))
    if unknown or not scopes:
        raise InvalidInput(f"scopes must be some of {', '.join(allowed)}; got {', '.join(unknown) or 'none'}", field="scopes")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    prefix = secret[: len(KEY_PREFIX) + 6]
    key_id = session.execute(
        insert(ApiKey)
        .values(
            tenant_id=tenant_id, name=name, prefix=prefix, key_hash=hash_key(secret), scopes=sorted(set(scopes)), created_at=now,
            partner_id=partner_id,
        )
        .returning(ApiKey.id)
    ).scalar_one()
    return NewKey(key_id, secret, prefix, sorted(set(scopes)))


def list_keys(session: Session, *, tenant_id: int) -> list[ApiKey]:
    """Return the tenant's keys (hashes only), oldest first."""
    return list(session.execute(select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id)).scalars())


def rate_limits(session: Session, *, tenant_id: int) -> dict[str, str]:
    """The tenant's own rate limits by route class ({} where it keeps the server's defaults)."""
    return dict(session.execute(select(Tenant.rate_limits).where(Tenant.id == tenant_id)).scalar_one() or {})


def set_rate_limits(session: Session, *, tenant_id: int, limits: dict[str, str]) -> None:
    """Replace the tenant's own rate limits (checked by the caller); every process uses them once this commits."""
    session.execute(update_rows(Tenant).where(Tenant.id == tenant_id).values(rate_limits=limits or None))
    # The limits ride with each key's cached principal.
    cache.changed(session, tenant_id=tenant_id, name="api_keys")


def revoke_key(session: Session, *, tenant_id: int, key_id: int, now: datetime) -> None:
    """Revoke a key; every process refuses it once this commits."""
    done = session.execute(
        update_rows(ApiKey)
        .where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiKey.key_hash)
    ).one_or_none()
    if done is None:
        raise NotFound(f"no active key {key_id}")
    cache.changed(session, tenant_id=tenant_id, name="api_keys")


def cached_principal(secret: str) -> Principal | None:
    """The principal of a key this process authenticated, without touching the database, where the
    database tells this process of revocations (PostgreSQL); None otherwise: call `authenticate`."""
    return cache.peek(name="api_keys", key=hash_key(secret))


def authenticate(session: Session, *, secret: str) -> Principal:
    """Return the principal of an API key, or raise Unauthorized."""
    digest = hash_key(secret)

    def load() -> tuple[int, Principal]:
        row = session.execute(
            select(ApiKey.id, ApiKey.tenant_id, ApiKey.scopes, ApiKey.partner_id, Tenant.status, Tenant.rate_limits)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
        ).one_or_none()
        if row is None or row.status != "active":
            raise Unauthorized("invalid or revoked API key")
        return row.tenant_id, Principal(row.tenant_id, row.id, frozenset(row.scopes), row.partner_id,
                                        MappingProxyType(dict(row.rate_limits)) if row.rate_limits else None)

    return cache.get_by_key(session, name="api_keys", key=digest, load=load)

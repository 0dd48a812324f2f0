"""Setting up messaging (channels, suppressions), reading what members were sent, previews and test sends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.db import insert_or_skip
from wafa.errors import InvalidInput, NotFound
from wafa.members import service as members
from wafa.members.models import Member
from wafa.messages import channels, sender, templates
from wafa.messages.models import MemberMessage, MessageChannel, Suppression
from wafa.tenants.models import Tenant


def save_channel(session: Session, *, tenant_id: int, channel: str, config: dict[str, Any], enabled: bool, now: datetime) -> MessageChannel:
    """Set a channel's provider (checked: the provider fits the channel, addresses are allowed)."""
    if channel not in templates.CHANNELS:
        raise InvalidInput(f"no channel {channel!r}; one of {', '.join(templates.CHANNELS)}", field="channel")
    existing = session.execute(
        select(MessageChannel).where(MessageChannel.tenant_id == tenant_id, MessageChannel.channel == channel)
    ).scalar_one_or_none()
    config = _unmasked(config, existing.config if existing is not None else None)
    parsed = channels.parse_config(channel, config)  # a ChannelConfigError is a 422 naming the field
    stored = parsed.model_dump(mode="json", by_alias=True)
    session.execute(insert_or_skip(session, MessageChannel, conflict=["tenant_id", "channel"]).values(
        tenant_id=tenant_id, channel=channel, config=stored, enabled=enabled, updated_at=now,
    ))
    row = session.execute(
        select(MessageChannel).where(MessageChannel.tenant_id == tenant_id, MessageChannel.channel == channel).with_for_update()
    ).scalar_one()
    row.config, row.enabled, row.updated_at = stored, enabled, now
    session.flush()
    return row


def _unmasked(given: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """The settings sent back as shown (secrets masked) keep the stored secrets: a masked value means
    "unchanged", as a form that was shown the masked settings sends them. A mask that stands for no saved
    value (another provider, a setting never saved) is refused, never saved as the secret."""
    same = stored is not None and stored.get("provider") == given.get("provider")
    kept = stored if same and stored is not None else {}
    out = dict(given)
    for key, value in given.items():
        if key in kept and (value == channels.MASK or (key == "url" and isinstance(value, str) and channels.MASK in value)):
            out[key] = kept[key]
        elif key == "headers" and isinstance(value, dict) and isinstance(kept.get("headers"), dict):
            out[key] = {name: kept["headers"].get(name, v) if v == channels.MASK else v for name, v in value.items()}
    for key, value in out.items():
        masked = value == channels.MASK or (isinstance(value, str) and channels.MASK in value) or (
            isinstance(value, dict) and channels.MASK in value.values())
        if masked:
            raise InvalidInput(f"{channels.MASK} stands for a saved secret, and there is none for this setting: type the value",
                               field=f"config.{key}")
    return out


def channels_of(session: Session, *, tenant_id: int) -> list[MessageChannel]:
    return list(session.execute(select(MessageChannel).where(MessageChannel.tenant_id == tenant_id).order_by(MessageChannel.channel)).scalars())


def get_channel_or_raise(session: Session, *, tenant_id: int, channel: str) -> MessageChannel:
    row = session.execute(
        select(MessageChannel).where(MessageChannel.tenant_id == tenant_id, MessageChannel.channel == channel)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"channel {channel!r} is not set up")
    return row


def delete_channel(session: Session, *, tenant_id: int, channel: str) -> None:
    session.delete(get_channel_or_raise(session, tenant_id=tenant_id, channel=channel))
    session.flush()


def redacted(row: MessageChannel) -> tuple[dict[str, Any], bool]:
    """The settings as shown, secrets masked, and whether they are still valid. Settings saved under looser
    rules (a private address since refused) are shown with every value that may be a secret hidden, so they
    can be seen and fixed; their channel sends nothing meanwhile."""
    try:
        return channels.redacted(channels.parse_config(row.channel, row.config, resolve=False)), True
    except channels.ChannelConfigError:
        return {k: channels.MASK if k in ("password", "auth_token", "app_sid", "headers", "url") else v for k, v in row.config.items()}, False


# Suppressions --------------------------------------------------------------------------------------

def normalised_address(channel: str, address: str, *, region: str, field: str = "address") -> str:
    if channel == "email":
        if "@" not in address:
            raise InvalidInput("an e-mail address", field=field)
        return address.strip().lower()
    try:
        found = members.normalize_phone(address, region=region)
    except InvalidInput:
        found = None
    if not found:
        raise InvalidInput("a phone number in international form (+966...) or of the program's region", field=field)
    return found


def add_suppression(
    session: Session, *, tenant_id: int, channel: str, address: str, reason: str, detail: str | None, region: str, now: datetime,
) -> Suppression:
    address = normalised_address(channel, address, region=region)
    sender.suppress(session, tenant_id=tenant_id, channel=channel, address=address, reason=reason, detail=detail, now=now)
    return session.execute(select(Suppression).where(
        Suppression.tenant_id == tenant_id, Suppression.channel == channel, Suppression.address == address,
    )).scalar_one()


def suppressions(session: Session, *, tenant_id: int, before_id: int | None, limit: int, channel: str | None = None) -> list[Suppression]:
    query = select(Suppression).where(Suppression.tenant_id == tenant_id).order_by(Suppression.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Suppression.id < before_id)
    if channel is not None:
        query = query.where(Suppression.channel == channel)
    return list(session.execute(query).scalars())


def remove_suppression(session: Session, *, tenant_id: int, suppression_id: int) -> None:
    row = session.get(Suppression, suppression_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"no suppression {suppression_id}")
    session.delete(row)
    session.flush()


# What members were sent -----------------------------------------------------------------------------

def messages_of(
    session: Session, *, tenant_id: int, member_id: int, before_id: int | None, limit: int, status: str | None = None,
) -> list[MemberMessage]:
    query = (select(MemberMessage).where(MemberMessage.tenant_id == tenant_id, MemberMessage.member_id == member_id)
             .order_by(MemberMessage.id.desc()).limit(limit))
    if before_id is not None:
        query = query.where(MemberMessage.id < before_id)
    if status is not None:
        query = query.where(MemberMessage.status == status)
    return list(session.execute(query).scalars())


# Previews and test sends ----------------------------------------------------------------------------

def preview(
    session: Session, *, tenant_id: int, kind: str, channel: str, language: str, subject: str | None, body: str | None,
    member_id: int | None, now: datetime,
) -> tuple[str | None, str]:
    """Render a wording (given, or the saved one) with a member's values or the examples."""
    templates.check_kind(kind)
    if body is None:
        words = templates.wording(session, tenant_id=tenant_id, kind=kind, channel=channel, language=language)
        subject, body = words.subject, words.body
    templates.check(kind, channel, subject, body)
    values = templates.example_variables(kind, language)
    if member_id is not None:
        member = members.get_or_raise(session, tenant_id=tenant_id, member_id=member_id)
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        needs = sender._needs(body) | (sender._needs(subject) if subject else frozenset())
        values = {**values, **sender.variables_for(session, member=member, tenant=tenant, language=language, extra={}, needs=needs,
                                                  channel=channel, now=now)}
    return (templates.render(subject, values, field="subject") if subject and channel == "email" else None), templates.render(body, values)


def test_send(
    session: Session, *, tenant_id: int, kind: str, channel: str, language: str, to: str, region: str, http: httpx.Client, message_id: str,
) -> channels.Delivery:
    """Send one kind's wording, with the example values, to an address of the team's (not a member's)."""
    templates.check_kind(kind)
    configs = sender.channel_configs(session, tenant_id=tenant_id)
    if channel not in configs:
        raise InvalidInput(f"the {channel} channel is not set up or is off", field="channel")
    to = normalised_address(channel, to, region=region, field="to")
    words = templates.wording(session, tenant_id=tenant_id, kind=kind, channel=channel, language=language)
    values = templates.example_variables(kind, language)
    outgoing = channels.OutgoingMessage(
        message_id=message_id, channel=channel, to=to, language=language,
        subject=templates.render(words.subject, values, field="subject") if words.subject else None,
        text=templates.render(words.body, values), unsubscribe_url=None,
    )
    return channels.send(configs[channel], outgoing, http=http)


def member_for_unsubscribe(session: Session, *, slug: str, member_id: int, channel: str, signature: str) -> tuple[Tenant, Member] | None:
    """The tenant and member an unsubscribe link names, if its signature is theirs."""
    import hmac

    tenant = session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()
    member = session.get(Member, member_id)
    if tenant is None or member is None or member.tenant_id != tenant.id or channel not in templates.CHANNELS:
        return None
    key = sender.unsubscribe_key(session, tenant_id=tenant.id)
    if not hmac.compare_digest(sender.unsubscribe_signature(key, member.id, channel), signature):
        return None
    return tenant, member


def unsubscribe(session: Session, *, tenant: Tenant, member: Member, channel: str, now: datetime) -> None:
    """Withdraw consent on the channel (recorded as from the link) and suppress the address."""
    members.set_consent(session, tenant_id=tenant.id, member_id=member.id, channel=channel, granted=False, source="unsubscribe",
                        actor="unsubscribe link", now=now)
    address = sender.address_of(member, channel)
    if address:
        sender.suppress(session, tenant_id=tenant.id, channel=channel, address=address, reason="unsubscribe", detail=None, now=now)

"""Unsubscribe links of members' e-mails (RFC 8058): the link opens a page asking to confirm; mail
clients' one-click button POSTs `List-Unsubscribe=One-Click` to the same address, with no cookie and no
sign-in. The link's signature (made with the member's card token) is the proof; unsubscribing withdraws
the channel's consent (recorded as from the link) and suppresses the address."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from wafa.api.deps import Context, IdPath
from wafa.errors import NotFound
from wafa.messages import service as messaging
from wafa.programs import service as programs
from wafa.tenants import service as tenants
from wafa.web.i18n import Lang
from wafa.web.pages import language_of, render
from wafa.web.portal.auth import Portal

router = APIRouter(prefix="/m/{slug}/unsubscribe", include_in_schema=False)

Channel = Path(pattern="^(email|sms|whatsapp)$")
Signature = Path(pattern="^[0-9a-f]{32}$")


def _page(request: Request, slug: str, member_id: int, channel: str, signature: str, *, done: bool) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        found = messaging.member_for_unsubscribe(session, slug=slug, member_id=member_id, channel=channel, signature=signature)
        if found is None:
            raise NotFound("this unsubscribe link is not valid")
        tenant, member = found
        if done:
            messaging.unsubscribe(session, tenant=tenant, member=member, channel=channel, now=ctx.now())
        program = programs.get(session, tenant_id=tenant.id)
        lang = Lang(language_of(request, member.locale), program.numerals, program.timezone)
        portal = Portal(tenant_id=tenant.id, slug=tenant.slug, name=tenants.name_in(tenant, lang.code), lang=lang,
                        points_name={"en": program.points_name_en, "ar": program.points_name_ar}, currency=program.base_currency)
        return render(request, "portal/unsubscribe.html", lang=lang, portal=portal, done=done, channel=channel, action=str(request.url.path))


@router.get("/{member_id}/{channel}/{signature}")
def confirm(request: Request, slug: str, member_id: IdPath, channel: str = Channel, signature: str = Signature) -> Response:
    return _page(request, slug, member_id, channel, signature, done=False)


@router.post("/{member_id}/{channel}/{signature}")
def unsubscribe(request: Request, slug: str, member_id: IdPath, channel: str = Channel, signature: str = Signature) -> Response:
    """Both the page's button and mail clients' one-click POST land here; the signature is the check."""
    return _page(request, slug, member_id, channel, signature, done=True)

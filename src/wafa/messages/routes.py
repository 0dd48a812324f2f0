"""HTTP: messaging set-up (admin), members' messages and consent history."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from wafa.api.deps import Context, IdPath, decode_cursor, paginate, require
from wafa.members import service as members
from wafa.messages import campaigns, journeys, policy, service, templates
from wafa.messages.models import Campaign, MemberMessage, MessageChannel, Suppression
from wafa.messages.schemas import (
    CampaignIn,
    CampaignPage,
    CampaignRead,
    ChannelIn,
    ChannelPage,
    ChannelRead,
    ConsentChangeRead,
    ConsentHistory,
    ConsentIn,
    JourneyIn,
    JourneyPage,
    JourneyRead,
    LiftMetric,
    LiftRead,
    MemberMessagePage,
    MemberMessageRead,
    PolicyIO,
    PreviewIn,
    PreviewRead,
    SuppressionIn,
    SuppressionPage,
    SuppressionRead,
    TemplateIn,
    TemplatePage,
    TemplateRead,
    TestSendIn,
    TestSendRead,
)
from wafa.programs import service as programs
from wafa.tenants.service import Principal

router = APIRouter(prefix="/v1", tags=["messaging"])

ChannelPath = Path(pattern="^(email|sms|whatsapp)$")
KindPath = Path(pattern="^[a-z_]{1,40}$")
LanguagePath = Path(pattern="^(ar|en)$")


def _channel(row: MessageChannel) -> ChannelRead:
    config, valid = service.redacted(row)
    return ChannelRead(channel=row.channel, enabled=row.enabled, config=config, valid=valid, updated_at=row.updated_at)


@router.get("/messaging/channels", response_model=ChannelPage, summary="The channels set up, secrets masked (admin)")
def list_channels(request: Request, principal: Principal = Depends(require("admin"))) -> ChannelPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        return ChannelPage(items=[_channel(r) for r in service.channels_of(session, tenant_id=principal.tenant_id)])


@router.put("/messaging/channels/{channel}", response_model=ChannelRead, summary="Set up a channel's provider (admin)")
def put_channel(request: Request, channel_in: ChannelIn, channel: str = ChannelPath, principal: Principal = Depends(require("admin"))) -> ChannelRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _channel(service.save_channel(
            session, tenant_id=principal.tenant_id, channel=channel, config=channel_in.config, enabled=channel_in.enabled, now=ctx.now(),
        ))


@router.delete("/messaging/channels/{channel}", status_code=204, summary="Remove a channel (admin)")
def delete_channel(request: Request, channel: str = ChannelPath, principal: Principal = Depends(require("admin"))) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        service.delete_channel(session, tenant_id=principal.tenant_id, channel=channel)
    return Response(status_code=204)


@router.get("/messaging/policy", response_model=PolicyIO, summary="Quiet hours and frequency caps (admin)")
def get_policy(request: Request, principal: Principal = Depends(require("admin"))) -> PolicyIO:
    ctx = Context(request)
    with ctx.transaction() as session:
        found = policy.get(session, tenant_id=principal.tenant_id)
        return PolicyIO(quiet_start=found.quiet_start, quiet_end=found.quiet_end, daily_cap=found.daily_cap, weekly_cap=found.weekly_cap)


@router.put("/messaging/policy", response_model=PolicyIO, summary="Set quiet hours and frequency caps (admin)")
def put_policy(request: Request, policy_in: PolicyIO, principal: Principal = Depends(require("admin"))) -> PolicyIO:
    ctx = Context(request)
    with ctx.transaction() as session:
        policy.save(session, tenant_id=principal.tenant_id, policy=policy.Policy(**policy_in.model_dump()), now=ctx.now())
        return policy_in


@router.get("/messaging/templates", response_model=TemplatePage, summary="Every kind's wording per channel and language (admin)")
def list_templates(request: Request, principal: Principal = Depends(require("admin"))) -> TemplatePage:
    ctx = Context(request)
    with ctx.transaction() as session:
        items = []
        for kind in templates.KINDS:
            if kind == "campaign":
                continue  # a campaign carries its own wording
            names = sorted(templates.example_variables(kind))
            for channel in templates.CHANNELS:
                for language in templates.LANGUAGES:
                    words = templates.wording(session, tenant_id=principal.tenant_id, kind=kind, channel=channel, language=language)
                    items.append(TemplateRead(kind=kind, channel=channel, language=language, subject=words.subject, body=words.body,
                                              custom=words.custom, variables=names))
        return TemplatePage(items=items)


@router.put("/messaging/templates/{kind}/{channel}/{language}", response_model=TemplateRead, summary="Set a wording (admin)")
def put_template(
    request: Request, template_in: TemplateIn, kind: str = KindPath, channel: str = ChannelPath, language: str = LanguagePath,
    principal: Principal = Depends(require("admin")),
) -> TemplateRead:
    """Checked by rendering it with the kind's example values: an unknown variable or a syntax error is a 422."""
    ctx = Context(request)
    with ctx.transaction() as session:
        row = templates.save(session, tenant_id=principal.tenant_id, kind=kind, channel=channel, language=language,
                             subject=template_in.subject, body=template_in.body, now=ctx.now())
        return TemplateRead(kind=kind, channel=channel, language=language, subject=row.subject, body=row.body, custom=True,
                            variables=sorted(templates.example_variables(kind)))


@router.delete("/messaging/templates/{kind}/{channel}/{language}", status_code=204, summary="Back to the built-in wording (admin)")
def reset_template(
    request: Request, kind: str = KindPath, channel: str = ChannelPath, language: str = LanguagePath,
    principal: Principal = Depends(require("admin")),
) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        templates.reset(session, tenant_id=principal.tenant_id, kind=kind, channel=channel, language=language)
    return Response(status_code=204)


@router.post("/messaging/preview", response_model=PreviewRead, summary="Render a wording with example or a member's values (admin)")
def preview(request: Request, preview_in: PreviewIn, principal: Principal = Depends(require("admin"))) -> PreviewRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        subject, body = service.preview(
            session, tenant_id=principal.tenant_id, kind=preview_in.kind, channel=preview_in.channel, language=preview_in.language,
            subject=preview_in.subject, body=preview_in.body, member_id=preview_in.member_id, now=ctx.now(),
        )
        return PreviewRead(subject=subject, body=body)


@router.post("/messaging/test-send", response_model=TestSendRead, summary="Send a wording to the team's own address (admin)")
def test_send(request: Request, send_in: TestSendIn, principal: Principal = Depends(require("admin"))) -> TestSendRead:
    """Sent at once with the example values, past quiet hours and caps (it is not a member's message)."""
    import uuid

    from wafa.messages import channels

    ctx = Context(request)
    with ctx.transaction() as session, channels.client() as http:
        region = programs.get(session, tenant_id=principal.tenant_id).default_region
        outcome = service.test_send(
            session, tenant_id=principal.tenant_id, kind=send_in.kind, channel=send_in.channel, language=send_in.language, to=send_in.to,
            region=region, http=http, message_id="mm_test_" + uuid.uuid4().hex,
        )
        return TestSendRead(status=outcome.status, detail=outcome.detail, provider_id=outcome.provider_id)


def _journey(state: journeys.JourneyState) -> JourneyRead:
    return JourneyRead(kind=state.kind, trigger=state.trigger, enabled=state.enabled, channels=state.channels, settings=state.settings,
                       updated_at=state.updated_at)


@router.get("/messaging/journeys", response_model=JourneyPage, summary="The automatic messages, on or off (admin)")
def list_journeys(request: Request, principal: Principal = Depends(require("admin"))) -> JourneyPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        return JourneyPage(items=[_journey(s) for s in journeys.states(session, tenant_id=principal.tenant_id)])


@router.put("/messaging/journeys/{kind}", response_model=JourneyRead, summary="Turn a journey on or off, with its settings (admin)")
def put_journey(request: Request, journey_in: JourneyIn, kind: str = KindPath, principal: Principal = Depends(require("admin"))) -> JourneyRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _journey(journeys.save(
            session, tenant_id=principal.tenant_id, kind=kind, enabled=journey_in.enabled, channels=list(journey_in.channels),
            settings=journey_in.settings, now=ctx.now(),
        ))


def _message(row: MemberMessage) -> MemberMessageRead:
    return MemberMessageRead.model_validate(row, from_attributes=True)


@router.get("/members/{member_id}/messages", response_model=MemberMessagePage, summary="What a member was sent, or why not, newest first")
def member_messages(
    request: Request, member_id: IdPath, principal: Principal = Depends(require("read")),
    status: str | None = Query(None, pattern="^(queued|sent|skipped|failed|cancelled)$"), limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=200),
) -> MemberMessagePage:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        rows = service.messages_of(session, tenant_id=principal.tenant_id, member_id=member_id, before_id=decode_cursor(cursor),
                                   limit=limit + 1, status=status)
        items, next_cursor = paginate(rows, limit, _message)
        return MemberMessagePage(items=items, next_cursor=next_cursor)


@router.get("/members/{member_id}/consent", response_model=ConsentHistory, summary="A member's consent changes: when, where, by whom")
def consent_history(request: Request, member_id: IdPath, principal: Principal = Depends(require("read"))) -> ConsentHistory:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.get_or_raise(session, tenant_id=principal.tenant_id, member_id=member_id)
        return ConsentHistory(items=[ConsentChangeRead.model_validate(c, from_attributes=True)
                                     for c in members.consent_history(session, tenant_id=principal.tenant_id, member_id=member_id)])


@router.post("/members/{member_id}/consent", response_model=ConsentHistory, summary="Give or withdraw consent on one channel")
def change_consent(
    request: Request, member_id: IdPath, consent_in: ConsentIn, principal: Principal = Depends(require("members:write")),
) -> ConsentHistory:
    ctx = Context(request)
    with ctx.transaction() as session:
        members.set_consent(session, tenant_id=principal.tenant_id, member_id=member_id, channel=consent_in.channel, granted=consent_in.granted,
                            source=consent_in.source, actor=f"api key {principal.key_id}", now=ctx.now())
        return ConsentHistory(items=[ConsentChangeRead.model_validate(c, from_attributes=True)
                                     for c in members.consent_history(session, tenant_id=principal.tenant_id, member_id=member_id)])


def _suppression(row: Suppression) -> SuppressionRead:
    return SuppressionRead.model_validate(row, from_attributes=True)


@router.get("/messaging/suppressions", response_model=SuppressionPage, summary="Addresses nothing goes to (admin)")
def list_suppressions(
    request: Request, principal: Principal = Depends(require("admin")), channel: str | None = Query(None, pattern="^(email|sms|whatsapp)$"),
    limit: int = Query(50, ge=1, le=200), cursor: str | None = Query(None, max_length=200),
) -> SuppressionPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = service.suppressions(session, tenant_id=principal.tenant_id, before_id=decode_cursor(cursor), limit=limit + 1, channel=channel)
        items, next_cursor = paginate(rows, limit, _suppression)
        return SuppressionPage(items=items, next_cursor=next_cursor)


@router.post("/messaging/suppressions", status_code=201, response_model=SuppressionRead, summary="Suppress an address (admin)")
def add_suppression(request: Request, suppression_in: SuppressionIn, principal: Principal = Depends(require("admin"))) -> SuppressionRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        region = programs.get(session, tenant_id=principal.tenant_id).default_region
        return _suppression(service.add_suppression(
            session, tenant_id=principal.tenant_id, channel=suppression_in.channel, address=suppression_in.address,
            reason=suppression_in.reason, detail=suppression_in.detail, region=region, now=ctx.now(),
        ))


@router.delete("/messaging/suppressions/{suppression_id}", status_code=204, summary="Lift a suppression (admin)")
def remove_suppression(request: Request, suppression_id: IdPath, principal: Principal = Depends(require("admin"))) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        service.remove_suppression(session, tenant_id=principal.tenant_id, suppression_id=suppression_id)
    return Response(status_code=204)


def _campaign(session: Session, row: Campaign, now: datetime, *, with_lift: bool = True) -> CampaignRead:
    found = campaigns.lift(session, campaign=row, now=now) if with_lift else None
    return CampaignRead(
        id=row.id, name=row.name, audience=row.audience, channel=row.channel, subject=row.subject, body=row.body, send_at=row.send_at,
        holdout_percent=row.holdout_percent, lift_days=row.lift_days, status=row.status,
        audience_count=row.audience_count, holdout_count=row.holdout_count,
        progress=campaigns.progress(session, campaign=row), not_sent=campaigns.skipped_reasons(session, campaign=row),
        lift=LiftRead(since=found.since, until=found.until, provisional=found.provisional, audience=found.audience, holdout=found.holdout,
                      metrics=[LiftMetric(**asdict(m)) for m in found.metrics]) if found else None,
        created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
    )


@router.post("/campaigns", status_code=201, response_model=CampaignRead, summary="Schedule a broadcast (admin)")
def create_campaign(request: Request, campaign_in: CampaignIn, principal: Principal = Depends(require("admin"))) -> CampaignRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        row = campaigns.create(
            session, tenant_id=principal.tenant_id, name=campaign_in.name, audience=campaign_in.audience, channel=campaign_in.channel,
            subject={str(k): v for k, v in campaign_in.subject.items()},
            body={str(k): v for k, v in campaign_in.body.items()}, send_at=campaign_in.send_at,
            holdout_percent=campaign_in.holdout_percent, lift_days=campaign_in.lift_days, now=ctx.now(),
        )
        return _campaign(session, row, ctx.now())


@router.get("/campaigns", response_model=CampaignPage, summary="Campaigns, newest first, without their lift (admin)")
def list_campaigns(
    request: Request, principal: Principal = Depends(require("admin")), limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, max_length=200),
) -> CampaignPage:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = campaigns.list_(session, tenant_id=principal.tenant_id, before_id=decode_cursor(cursor), limit=limit + 1)
        # Without the lift (a computation over the audience's purchases each): read it on the campaign's own page.
        items, next_cursor = paginate(rows, limit, lambda r: _campaign(session, r, ctx.now(), with_lift=False))
        return CampaignPage(items=items, next_cursor=next_cursor)


@router.get("/campaigns/{campaign_id}", response_model=CampaignRead, summary="A campaign: progress and lift against its holdout (admin)")
def get_campaign(request: Request, campaign_id: IdPath, principal: Principal = Depends(require("admin"))) -> CampaignRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _campaign(session, campaigns.get_or_raise(session, tenant_id=principal.tenant_id, campaign_id=campaign_id), ctx.now())


@router.post("/campaigns/{campaign_id}/cancel", response_model=CampaignRead, summary="Cancel a campaign (what is not sent yet) (admin)")
def cancel_campaign(request: Request, campaign_id: IdPath, principal: Principal = Depends(require("admin"))) -> CampaignRead:
    ctx = Context(request)
    with ctx.transaction() as session:
        return _campaign(session, campaigns.cancel(session, tenant_id=principal.tenant_id, campaign_id=campaign_id, now=ctx.now()), ctx.now())

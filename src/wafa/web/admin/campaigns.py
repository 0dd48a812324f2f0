"""Broadcast campaigns in the console, as /v1/campaigns offers them: the list and the form for a new one
(audience, channel, wording, send time, holdout), and each campaign's progress, skipped reasons and lift."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from wafa.analytics import audiences
from wafa.api.deps import Context, IdPath
from wafa.errors import Conflict, InvalidInput
from wafa.messages import campaigns, templates
from wafa.money import precision
from wafa.programs import service as programs
from wafa.web.admin.auth import PATH, Admin, current_admin
from wafa.web.admin.forms import FormError, Problem, Problems, apply_change, integer, local_datetime, text
from wafa.web.admin.messaging import WORDS, refusal, wording_problem
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

CAMPAIGNS_SHOWN = 50
MAX_UPLOAD = 8 * 1024 * 1024  # a file of external ids (100,000 ids of up to 80 characters)


def _campaigns_page(request: Request, admin: Admin, *, before: int | None = None, problems: Problems | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        rows = campaigns.list_(session, tenant_id=admin.tenant_id, before_id=before, limit=CAMPAIGNS_SHOWN + 1)
        shown = [(c, campaigns.progress(session, campaign=c)) for c in rows[:CAMPAIGNS_SHOWN]]
        tiers = audiences.tier_choices(session, tenant_id=admin.tenant_id)
        segments = audiences.segment_choices(session, tenant_id=admin.tenant_id)
        timezone = programs.get(session, tenant_id=admin.tenant_id).timezone
        session.expunge_all()
    # A new campaign goes out at the next full hour unless told otherwise.
    next_hour = (ctx.now().astimezone(ZoneInfo(timezone)) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    return render(request, "admin/campaigns.html", lang=admin.lang, me=admin, section="campaigns", rows=shown,
                  older=shown[-1][0].id if len(rows) > CAMPAIGNS_SHOWN else None, tier_choices=tiers, segment_choices=segments,
                  channels=templates.CHANNELS, common=sorted(templates.example_variables("campaign")), next_hour=next_hour, words=WORDS,
                  problems=problems, status=422 if problems else 200)


@router.get("/campaigns")
def campaigns_page(request: Request, before: int | None = Query(None, ge=1, le=2**63 - 1), admin: Admin = Depends(current_admin)) -> Response:
    return _campaigns_page(request, admin, before=before)


_HEADERS = frozenset({"external_id", "external id", "id", "member", "customer_id"})


def external_ids_of(raw: str) -> list[str]:
    """External ids one per line, or the first column of a CSV (a header row naming the column is skipped), each once."""
    found: list[str] = []
    for row in csv.reader(io.StringIO(raw)):
        value = row[0].strip() if row else ""
        if value and not (not found and value.lower() in _HEADERS):
            found.append(value)
    return list(dict.fromkeys(found))


_CAMPAIGN_SENTENCES = {
    "name": N_("Give the campaign a name."), "audience": N_("Choose who receives it."), "tiers": N_("Tick at least one tier."),
    "segments": N_("Tick at least one segment."), "external_ids": N_("Paste or upload at least one external id."),
    "channel": N_("Choose one of the options."), "send_at": N_("Choose a time that has not passed."),
    "holdout_percent": N_("Enter a percentage from 0 to 50."), "lift_days": N_("Enter a number of days from 1 to 365."),
    "body": N_("Write the message in Arabic, in English or in both."),
}
_CAMPAIGN_FIELDS = {"audience.all": "audience", "audience.tiers": "tiers", "audience.segments": "segments", "audience.external_ids": "external_ids"}


def campaign_of(form: Any, uploaded: str, *, timezone: str) -> dict[str, Any]:
    """The campaign form as campaigns.create's arguments; FormError beside each field to fix."""
    wrong: dict[str, Problem] = {}
    name = text(form, "name")
    if not name or len(name) > 200:
        wrong["name"] = Problem(_CAMPAIGN_SENTENCES["name"]) if not name else Problem(N_("Enter at most %(max_length)s characters."),
                                                                                      {"max_length": 200})
    who = text(form, "audience")
    audience: dict[str, Any] = {}
    if who == "all":
        audience = {"all": True}
    elif who in ("tiers", "segments"):
        audience = {who: [v for v in form.getlist(who) if isinstance(v, str) and v.strip()]}
    elif who == "external_ids":
        pasted = external_ids_of(str(form.get("external_ids", "") or ""))
        audience = {"external_ids": list(dict.fromkeys(pasted + external_ids_of(uploaded)))}
        if len(audience["external_ids"]) > campaigns.MAX_EXTERNAL_IDS:
            wrong["external_ids"] = Problem(N_("At most %(max)s external ids."), {"max": f"{campaigns.MAX_EXTERNAL_IDS:,}"})
    else:
        wrong["audience"] = Problem(_CAMPAIGN_SENTENCES["audience"])
    if audience and not audience.get(who):
        wrong[who] = Problem(_CAMPAIGN_SENTENCES[who])
    channel = text(form, "channel")
    if channel not in templates.CHANNELS:
        wrong["channel"] = Problem(_CAMPAIGN_SENTENCES["channel"])
    numbers: dict[str, int] = {}
    for field, default in (("holdout_percent", 10), ("lift_days", 30)):
        try:
            found = integer(form, field)
            numbers[field] = default if found is None else found
        except FormError:
            wrong[field] = Problem(_CAMPAIGN_SENTENCES[field])
    send_at = None
    try:
        send_at = local_datetime(form, "send_at", timezone)
        if send_at is None:
            wrong["send_at"] = Problem(N_("Choose when to send it."))
    except FormError as exc:
        wrong |= exc.fields
    subject = {lang: text(form, f"subject_{lang}") for lang in templates.LANGUAGES}
    body = {lang: str(form.get(f"body_{lang}", "") or "").strip() for lang in templates.LANGUAGES}
    if not any(body.values()):
        wrong["body"] = Problem(_CAMPAIGN_SENTENCES["body"])
    elif channel in templates.CHANNELS:
        for lang, words in body.items():
            if not words:
                continue
            try:
                templates.check("campaign", channel, subject[lang] or subject["en"] or subject["ar"] or None, words)
            except InvalidInput as exc:
                for field, problem in wording_problem(exc).fields.items():
                    wrong.setdefault(f"{field}_{lang}", problem)
    if wrong:
        raise FormError(fields=wrong)
    return {"name": name, "audience": audience, "channel": channel, "subject": subject, "body": body, "send_at": send_at, **numbers}


@router.post("/campaigns")
async def create_campaign(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    form = await request.form()
    upload = form.get("file")
    uploaded = ""
    if upload is not None and not isinstance(upload, str):
        data = await upload.read(MAX_UPLOAD + 1)
        uploaded = data[:MAX_UPLOAD].decode("utf-8-sig", errors="replace") if len(data) <= MAX_UPLOAD else ""
        too_big = len(data) > MAX_UPLOAD
    else:
        too_big = False

    def work(session: Any, form: Any, ctx: Context) -> str:
        if too_big:
            raise FormError(fields={"external_ids": Problem(N_("The file is too large: at most %(max)s MB."), {"max": MAX_UPLOAD // 2**20})})
        fields = campaign_of(form, uploaded, timezone=programs.get(session, tenant_id=admin.tenant_id).timezone)
        try:
            made = campaigns.create(session, tenant_id=admin.tenant_id, now=ctx.now(), **fields)
        except InvalidInput as exc:
            raise refusal(exc, _CAMPAIGN_SENTENCES, fields=_CAMPAIGN_FIELDS) from None
        audience = {k: (len(v) if k == "external_ids" else v) for k, v in made.audience.items()}
        admin.record(session, request, action="campaign.created", target=f"campaign:{made.id}",
                     details={"name": made.name, "channel": made.channel, "audience": audience, "send_at": made.send_at.isoformat(),
                              "holdout_percent": made.holdout_percent, "lift_days": made.lift_days}, now=ctx.now())
        return f"{PATH}/campaigns/{made.id}?done=created"

    return await apply_change(request, admin, work, lambda problems: _campaigns_page(request, admin, problems=problems))


@dataclass(frozen=True, slots=True)
class LiftRow:
    """One metric of a campaign's lift in the units people read (revenue in the base currency, not minor units)."""

    name: str
    money: bool
    audience_mean: float
    holdout_mean: float
    difference: float
    low: float | None
    high: float | None
    relative: float | None
    p_value: float | None


def lift_rows(found: campaigns.Lift, currency: str) -> list[LiftRow]:
    scale = 10 ** precision(currency)
    rows = []
    for m in found.metrics:
        k = scale if m.name == "revenue" else 1
        rows.append(LiftRow(m.name, m.name == "revenue", m.audience_mean / k, m.holdout_mean / k, m.difference / k,
                            None if m.low is None else m.low / k, None if m.high is None else m.high / k, m.relative, m.p_value))
    return rows


def _campaign_page(request: Request, admin: Admin, campaign_id: int, *, problems: Problems | None = None, done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        campaign = campaigns.get_or_raise(session, tenant_id=admin.tenant_id, campaign_id=campaign_id)
        program = programs.get(session, tenant_id=admin.tenant_id)
        progress = campaigns.progress(session, campaign=campaign)
        reasons = campaigns.skipped_reasons(session, campaign=campaign)
        found = campaigns.lift(session, campaign=campaign, now=ctx.now())
        choices = {c.key: c for c in audiences.tier_choices(session, tenant_id=admin.tenant_id)
                   + audiences.segment_choices(session, tenant_id=admin.tenant_id)}
        session.expunge_all()
    horizon = campaign.started_at + timedelta(days=campaign.lift_days) if campaign.started_at else None
    return render(request, "admin/campaign.html", lang=admin.lang, me=admin, section="campaigns", campaign=campaign, progress=progress,
                  reasons=reasons, lift=found, rows=lift_rows(found, program.base_currency) if found else [], horizon=horizon,
                  currency=program.base_currency, choices=choices, words=WORDS, problems=problems, done=done,
                  status=422 if problems else 200)


@router.get("/campaigns/{campaign_id}")
def campaign_page(request: Request, campaign_id: IdPath, done: str | None = Query(None, max_length=32),
                  admin: Admin = Depends(current_admin)) -> Response:
    return _campaign_page(request, admin, campaign_id, done=done if done in ("created", "cancelled") else None)


@router.post("/campaigns/{campaign_id}/cancel")
async def cancel_campaign(request: Request, campaign_id: IdPath, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        try:
            campaigns.cancel(session, tenant_id=admin.tenant_id, campaign_id=campaign_id, now=ctx.now())
        except Conflict:
            raise FormError([N_("This campaign is already sent or cancelled.")]) from None
        admin.record(session, request, action="campaign.cancelled", target=f"campaign:{campaign_id}", now=ctx.now())
        return f"{PATH}/campaigns/{campaign_id}?done=cancelled"

    return await apply_change(request, admin, work, lambda problems: _campaign_page(request, admin, campaign_id, problems=problems))

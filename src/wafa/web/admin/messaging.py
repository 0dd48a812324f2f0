"""Messages to members in the console, as /v1/messaging offers them: the journeys with their settings, the
policy every send obeys, the channels and their providers, the latest messages; the wording of each kind of
message per channel and language (preview, save, reset, a test send). Broadcast campaigns have their own
pages, in `campaigns`."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.api.deps import Context
from wafa.errors import InvalidInput, NotFound, WafaError
from wafa.members.models import Member
from wafa.messages import channels, journeys, policy, service, templates
from wafa.messages.models import MemberMessage, MessageChannel, MessageTemplate
from wafa.programs import service as programs
from wafa.web.admin.auth import PATH, Admin, Refused, current_admin
from wafa.web.admin.forms import FormError, Problem, Problems, apply_change, checked, integer, text
from wafa.web.messages import N_
from wafa.web.pages import render

router = APIRouter(prefix=PATH, include_in_schema=False)

LATEST = 50  # messages the Messages page lists
KindPath = Path(pattern="^[a-z_]{1,40}$")
ChannelPath = Path(pattern="^(email|sms|whatsapp)$")
LanguagePath = Path(pattern="^(ar|en)$")

# What the pages call the domain's codes (the templates translate them).
KINDS = {
    "welcome": N_("Welcome"), "points_expiring": N_("Points about to expire"), "tier_upgraded": N_("Tier upgrade"),
    "tier_downgrade_warning": N_("Tier at risk"), "reward_issued": N_("Reward issued"), "renewal_due": N_("Membership renewal due"),
    "payment_failed": N_("Membership payment failed"), "referral_completed": N_("Referral completed"), "birthday": N_("Birthday"),
    "win_back": N_("Win-back"), "campaign": N_("Campaign"), "test": N_("Test message"),
}
# What starts each journey, said after "When" (the domain's own sentence, journeys.KINDS, shows for a kind not listed).
TRIGGERS = {
    "welcome": N_("a member joins"), "points_expiring": N_("points expire soon: up to three reminders, days before"),
    "tier_upgraded": N_("a member moves up a tier"),
    "tier_downgrade_warning": N_("a member's tier review is near and they would not keep the tier"),
    "reward_issued": N_("a member receives a reward or a coupon"), "renewal_due": N_("a paid membership's renewal is due"),
    "payment_failed": N_("a membership payment failed"), "referral_completed": N_("a friend the member referred completed their first purchase"),
    "birthday": N_("the member's birthday (local day)"), "win_back": N_("no purchase for some days, or a churn risk above a threshold"),
}
CHANNELS = {"email": N_("e-mail"), "sms": N_("SMS"), "whatsapp": N_("WhatsApp"), "push": N_("push notifications")}
STATUSES = {"queued": N_("queued"), "sent": N_("sent"), "skipped": N_("skipped"), "failed": N_("failed"), "cancelled": N_("cancelled"),
            "scheduled": N_("scheduled"), "sending": N_("sending")}
REASONS = {
    "member_inactive": N_("the member is not active"), "channel_off": N_("the channel is not set up or is off"),
    "no_address": N_("no address on the channel"), "no_consent": N_("no consent on the channel"),
    "suppressed": N_("the address is suppressed"), "quiet_hours": N_("waiting for the end of quiet hours"),
    "daily_cap": N_("the daily cap was reached"), "weekly_cap": N_("the weekly cap was reached"),
    "template_error": N_("the wording does not render"), "invalid_message": N_("the message could not be built"),
    "hard_bounce": N_("the address does not exist (hard bounce)"), "provider_refused": N_("the provider refused it"),
    "retries_exhausted": N_("no answer after every retry"), "retrying": N_("trying again later"),
    "campaign_cancelled": N_("the campaign was cancelled"),
}
SOURCES = {"api": N_("API"), "console": N_("console"), "portal": N_("member portal"), "import": N_("import"), "in_store": N_("in store"),
           "unsubscribe": N_("unsubscribe link")}
METRICS = {"purchases": N_("Purchases per member"), "revenue": N_("Revenue per member"), "redemptions": N_("Rewards received per member")}
WORDS = {"kinds": KINDS, "triggers": TRIGGERS, "channels": CHANNELS, "statuses": STATUSES, "reasons": REASONS, "sources": SOURCES, "metrics": METRICS}

# A working start for each provider a channel can use (placeholders where the provider gives the value).
_HTTP_EXAMPLE = {"provider": "http", "url": "https://gateway.example.com/v1/messages", "headers": {"Authorization": "Bearer your-token"},
                 "body_template": '{"to": {{ to|tojson }}, "text": {{ text|tojson }}}', "id_path": "id"}
_TWILIO = {"provider": "twilio", "account_sid": "AC" + "0123456789abcdef" * 2, "auth_token": "your32characterauthtoken00000000"}
EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "email": [{"provider": "smtp", "host": "smtp.example.com", "port": 587, "username": "loyalty@example.com", "password": "your-password",
               "sender": "Demo Coffee <loyalty@example.com>", "starttls": True}],
    "sms": [{**_TWILIO, "from": "+14155550100"}, {"provider": "unifonic", "app_sid": "your-app-sid", "sender_id": "DemoCoffee"}, _HTTP_EXAMPLE],
    "whatsapp": [{**_TWILIO, "from": "+14155238886"}, _HTTP_EXAMPLE],
}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def refusal(exc: WafaError, sentences: dict[str, str], *, fields: dict[str, str] | None = None) -> FormError:
    """A domain's refusal beside the form field it names (`fields` maps its name to the form's), in the
    catalog's sentence for that field; a field without one gets the general sentence."""
    field = (exc.field or "").split("[", 1)[0]
    name = (fields or {}).get(field, field)
    sentence = sentences.get(field)
    if sentence is None:
        return FormError([N_("This value is not valid.")])
    return FormError(fields={name: Problem(sentence)})


# --- the Messages page: journeys, policy, channels, the latest messages ----------------------------------


def latest_messages(session: Session, *, tenant_id: int, limit: int) -> list[tuple[MemberMessage, str | None, str | None]]:
    """The tenant's latest messages, newest first, each with its member's external id and name."""
    return [(m, external_id, name) for m, external_id, name in session.execute(
        select(MemberMessage, Member.external_id, Member.name)
        .outerjoin(Member, (Member.id == MemberMessage.member_id) & (Member.tenant_id == MemberMessage.tenant_id))
        .where(MemberMessage.tenant_id == tenant_id).order_by(MemberMessage.id.desc()).limit(limit)
    )]


@dataclass(frozen=True, slots=True)
class ChannelView:
    channel: str
    row: MessageChannel | None
    masked: dict[str, Any] | None  # the settings with secrets masked; None when not set up
    invalid: bool = False  # saved under looser rules: shown to be fixed


def _channel_views(session: Session, tenant_id: int) -> list[ChannelView]:
    rows = {r.channel: r for r in service.channels_of(session, tenant_id=tenant_id)}
    views = []
    for channel in templates.CHANNELS:
        row = rows.get(channel)
        masked, valid = service.redacted(row) if row is not None else (None, True)
        views.append(ChannelView(channel, row, masked, not valid))
    return views


def _messages_page(request: Request, admin: Admin, *, problems: Problems | None = None, failed: str | None = None,
                   done: str | None = None) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        states = journeys.states(session, tenant_id=admin.tenant_id)
        rules = policy.get(session, tenant_id=admin.tenant_id)
        views = _channel_views(session, admin.tenant_id)
        latest = latest_messages(session, tenant_id=admin.tenant_id, limit=LATEST)
        session.expunge_all()
    return render(request, "admin/messages.html", lang=admin.lang, me=admin, section="messages", journeys=states, rules=rules,
                  channel_views=views, latest=latest, examples={c: [_json(e) for e in found] for c, found in EXAMPLES.items()},
                  words=WORDS, json_of=_json, problems=problems, failed=failed, done=done == "saved", outcome=done,
                  can_set_up=admin.can("api_keys"), status=422 if problems else 200)


@router.get("/messages")
def messages_page(request: Request, done: str | None = Query(None, max_length=32), admin: Admin = Depends(current_admin)) -> Response:
    return _messages_page(request, admin, done=done if done in ("saved", "removed") else None)


_JOURNEY_SENTENCES = {
    "channels": N_("Choose at least one channel, each once."),
    "points_expiring:settings.days_before": N_("Enter one to three different numbers of days, from 1 to 365."),
    "tier_downgrade_warning:settings.days_before": N_("Enter a number of days from 1 to 180."),
    "settings.days": N_("Enter a number of days from 7 to 730."),
    "settings.churn_risk": N_("Enter a percentage from 1 to 99, or leave it empty."),
}


def journey_of(form: Any, kind: str) -> tuple[bool, list[str], dict[str, Any]]:
    """The journey form as (on, channels in order, settings); FormError beside the field to fix."""
    chosen = [text(form, f"channel_{n}") for n in (1, 2, 3)]
    chosen = [c for c in chosen if c]
    if not chosen or len(set(chosen)) != len(chosen) or any(c not in templates.CHANNELS for c in chosen):
        raise FormError(fields={"channels": Problem(_JOURNEY_SENTENCES["channels"])})
    settings: dict[str, Any] = {}
    try:
        if kind == "points_expiring":
            settings["days_before"] = [d for d in (integer(form, f"days_before_{n}") for n in (1, 2, 3)) if d is not None]
        elif kind == "tier_downgrade_warning":
            settings["days_before"] = integer(form, "days_before")
        elif kind == "win_back":
            settings["days"] = integer(form, "days")
            risk = integer(form, "churn_risk")
            if risk is not None and not 1 <= risk <= 99:
                raise FormError(fields={"churn_risk": Problem(_JOURNEY_SENTENCES["settings.churn_risk"])})
            settings["churn_risk"] = risk / 100 if risk is not None else None
    except FormError as exc:
        # The three reminders are one setting: a problem with any of them is said once, beside all three.
        raise FormError(fields={k if not k.startswith("days_before_") else "days_before": v for k, v in exc.fields.items()}) from None
    return checked(form, "enabled"), chosen, settings


@router.post("/messages/journeys/{kind}")
async def save_journey(request: Request, kind: str = KindPath, admin: Admin = Depends(current_admin)) -> Response:
    if kind not in journeys.KINDS:
        raise NotFound(f"no journey {kind!r}")

    def work(session: Any, form: Any, ctx: Context) -> str:
        on, chosen, settings = journey_of(form, kind)
        try:
            state = journeys.save(session, tenant_id=admin.tenant_id, kind=kind, enabled=on, channels=chosen, settings=settings, now=ctx.now())
        except InvalidInput as exc:
            sentences = {k.split(":", 1)[-1]: v for k, v in _JOURNEY_SENTENCES.items() if ":" not in k or k.startswith(f"{kind}:")}
            raise refusal(exc, sentences, fields={"settings.days_before": "days_before", "settings.days": "days",
                                                  "settings.churn_risk": "churn_risk"}) from None
        admin.record(session, request, action="messaging.journey_saved", target=f"journey:{kind}",
                     details={"enabled": on, "channels": chosen, "settings": state.settings}, now=ctx.now())
        return f"{PATH}/messages?done=saved#journey-{kind}"

    return await apply_change(request, admin, work, lambda problems: _messages_page(request, admin, problems=problems, failed=f"journey:{kind}"))


_POLICY_SENTENCES = {
    "quiet_start": N_("Enter a time of day, from 00:00 to 23:59."), "quiet_end": N_("Enter a time of day, from 00:00 to 23:59."),
    "daily_cap": N_("Enter a number from 0 (no cap) to 100."), "weekly_cap": N_("Enter a number from 0 (no cap) to 100."),
}


@router.post("/messages/policy")
async def save_policy(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    def work(session: Any, form: Any, ctx: Context) -> str:
        wrong: dict[str, Problem] = {}
        caps: dict[str, int] = {}
        for name in ("daily_cap", "weekly_cap"):
            try:
                value = integer(form, name)
            except FormError:
                value = None
            if value is None:
                wrong[name] = Problem(_POLICY_SENTENCES[name])
            else:
                caps[name] = value
        if not wrong and caps["daily_cap"] and caps["weekly_cap"] and caps["weekly_cap"] < caps["daily_cap"]:
            wrong["weekly_cap"] = Problem(N_("The weekly cap cannot be below the daily cap."))
        if wrong:
            raise FormError(fields=wrong)
        rules = policy.Policy(text(form, "quiet_start")[:5], text(form, "quiet_end")[:5], caps["daily_cap"], caps["weekly_cap"])
        try:
            policy.save(session, tenant_id=admin.tenant_id, policy=rules, now=ctx.now())
        except InvalidInput as exc:
            raise refusal(exc, _POLICY_SENTENCES) from None
        admin.record(session, request, action="messaging.policy_saved", target="messaging:policy",
                     details={"quiet_start": rules.quiet_start, "quiet_end": rules.quiet_end, "daily_cap": rules.daily_cap,
                              "weekly_cap": rules.weekly_cap}, now=ctx.now())
        return f"{PATH}/messages?done=saved#policy"

    return await apply_change(request, admin, work, lambda problems: _messages_page(request, admin, problems=problems, failed="policy"))


SET_UP_REFUSED = N_("Only owners and admins can set up channels: their settings hold the providers' passwords and tokens.")


def _need_set_up(admin: Admin) -> None:
    # A channel's settings hold the provider's secrets: the people who hold the API keys set them up,
    # whatever the section's permission lets others change.
    if not admin.can("api_keys"):
        raise Refused(SET_UP_REFUSED, permission="api_keys")


@router.post("/messages/channels/{channel}")
async def save_channel(request: Request, channel: str, admin: Admin = Depends(current_admin)) -> Response:
    _need_set_up(admin)  # before the channel's name is looked at: who may not set channels up hears so first
    if channel not in templates.CHANNELS:
        raise NotFound("no such channel")

    def work(session: Any, form: Any, ctx: Context) -> str:
        try:
            typed = json.loads(str(form.get("config", "") or ""))
        except ValueError:
            raise FormError(fields={"config": Problem(N_("This is not valid JSON."))}) from None
        if not isinstance(typed, dict):
            raise FormError(fields={"config": Problem(N_("Write the settings as one JSON object: {\"provider\": ...}."))})
        try:  # a masked secret sent back keeps the saved one (the service's rule, as for the API)
            row = service.save_channel(session, tenant_id=admin.tenant_id, channel=channel, config=typed, enabled=checked(form, "enabled"),
                                       now=ctx.now())
        except channels.ChannelConfigError as exc:
            raise FormError(fields={"config": Problem(N_("These settings do not work: %(reason)s"), {"reason": exc.detail})}) from None
        except InvalidInput:
            raise FormError(fields={"config": Problem(
                N_("Type the secrets in full: ******** keeps a saved secret only for the provider saved."))}) from None
        admin.record(session, request, action="messaging.channel_saved", target=f"channel:{channel}",
                     details={"enabled": row.enabled, "config": service.redacted(row)[0]}, now=ctx.now())
        return f"{PATH}/messages?done=saved#channel-{channel}"

    return await apply_change(request, admin, work,
                              lambda problems: _messages_page(request, admin, problems=problems, failed=f"channel:{channel}"))


@router.post("/messages/channels/{channel}/delete")
async def remove_channel(request: Request, channel: str, admin: Admin = Depends(current_admin)) -> Response:
    _need_set_up(admin)  # before the channel's name is looked at: who may not set channels up hears so first
    if channel not in templates.CHANNELS:
        raise NotFound("no such channel")

    def work(session: Any, form: Any, ctx: Context) -> str:
        service.delete_channel(session, tenant_id=admin.tenant_id, channel=channel)
        admin.record(session, request, action="messaging.channel_removed", target=f"channel:{channel}", now=ctx.now())
        return f"{PATH}/messages?done=removed#channel-{channel}"

    return await apply_change(request, admin, work,
                              lambda problems: _messages_page(request, admin, problems=problems, failed=f"channel:{channel}"))


# --- wordings ----------------------------------------------------------------------------------------------

# "campaign" is not listed: a campaign carries its own wording, and the sender never reads that template.
EDITABLE = tuple(k for k in templates.KINDS if k != "campaign")


@router.get("/messages/templates")
def templates_page(request: Request, admin: Admin = Depends(current_admin)) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        custom = {(kind, channel, language) for kind, channel, language in session.execute(
            select(MessageTemplate.kind, MessageTemplate.channel, MessageTemplate.language).where(MessageTemplate.tenant_id == admin.tenant_id)
        )}
    return render(request, "admin/message_templates.html", lang=admin.lang, me=admin, section="messages", kinds=EDITABLE,
                  channels=templates.CHANNELS, languages=templates.LANGUAGES, custom=custom, words=WORDS)


@dataclass(frozen=True, slots=True)
class Typed:
    """A wording as the form holds it (what was typed, or the saved one)."""

    subject: str | None
    body: str


def _template_page(
    request: Request, admin: Admin, kind: str, channel: str, language: str, *, problems: Problems | None = None, done: str | None = None,
    typed: Typed | None = None, preview: tuple[str | None, str] | None = None, outcome: channels.Delivery | None = None,
) -> Response:
    ctx = Context(request)
    with ctx.transaction() as session:
        words = templates.wording(session, tenant_id=admin.tenant_id, kind=kind, channel=channel, language=language)
        ready = any(r.channel == channel and r.enabled for r in service.channels_of(session, tenant_id=admin.tenant_id))
    return render(request, "admin/message_template.html", lang=admin.lang, me=admin, section="messages", kind=kind, channel=channel,
                  language=language, words=WORDS, wording=words, typed=typed or Typed(words.subject, words.body),
                  variables=templates.example_variables(kind), ready=ready, preview=preview, outcome=outcome, problems=problems,
                  done=done == "saved", reset=done == "reset", status=422 if problems else 200)


def _known_template(kind: str) -> None:
    if kind not in EDITABLE:
        raise NotFound(f"no message kind {kind!r}")


@router.get("/messages/templates/{kind}/{channel}/{language}")
def template_page(
    request: Request, kind: str = KindPath, channel: str = ChannelPath, language: str = LanguagePath,
    done: str | None = Query(None, max_length=32), admin: Admin = Depends(current_admin),
) -> Response:
    _known_template(kind)
    return _template_page(request, admin, kind, channel, language, done=done if done in ("saved", "reset") else None)


BAD_WORDING = N_("This wording does not work: %(reason)s")


def wording_problem(exc: WafaError) -> FormError:
    """templates.check's refusal beside the subject or the body."""
    if exc.detail.startswith("template: "):
        problem = Problem(BAD_WORDING, {"reason": exc.detail.removeprefix("template: ")})
    elif exc.field == "subject":
        problem = Problem(N_("An e-mail needs a subject, of at most %(max)s characters."), {"max": templates.SUBJECT_LIMIT})
    else:
        problem = Problem(N_("Write the message, in at most %(max)s characters."), {"max": templates.BODY_LIMIT})
    return FormError(fields={"subject" if exc.field == "subject" else "body": problem})


_ADDRESS = N_("Enter an address of the channel: an e-mail address, or a phone number such as +966501234567.")
_TEST_SENTENCES = {"channel": N_("Set up and turn on this channel first, on the Messages page."), "to": _ADDRESS, "address": _ADDRESS,
                   "phone": _ADDRESS}


@router.post("/messages/templates/{kind}/{channel}/{language}")
async def change_template(
    request: Request, kind: str = KindPath, channel: str = ChannelPath, language: str = LanguagePath, admin: Admin = Depends(current_admin),
) -> Response:
    """One form, four buttons: preview what is typed, save it, go back to the built-in wording, or send the
    saved wording to an address of the team's."""
    _known_template(kind)
    form = await request.form()
    action = text(form, "action")
    typed = Typed(text(form, "subject") if channel == "email" else None, str(form.get("body", "") or "").strip())
    shown: dict[str, Any] = {}

    def work(session: Any, form: Any, ctx: Context) -> str:
        where = f"{PATH}/messages/templates/{kind}/{channel}/{language}"
        try:
            if action == "preview":
                shown["preview"] = service.preview(session, tenant_id=admin.tenant_id, kind=kind, channel=channel, language=language,
                                                   subject=typed.subject, body=typed.body, member_id=None, now=ctx.now())
                return where
            if action == "save":
                templates.save(session, tenant_id=admin.tenant_id, kind=kind, channel=channel, language=language, subject=typed.subject,
                               body=typed.body, now=ctx.now())
                admin.record(session, request, action="messaging.template_saved", target=f"template:{kind}:{channel}:{language}",
                             details={"subject": typed.subject, "body": typed.body}, now=ctx.now())
                return f"{where}?done=saved"
        except InvalidInput as exc:
            raise wording_problem(exc) from None
        if action == "reset":
            if templates.reset(session, tenant_id=admin.tenant_id, kind=kind, channel=channel, language=language):
                admin.record(session, request, action="messaging.template_reset", target=f"template:{kind}:{channel}:{language}", now=ctx.now())
            return f"{where}?done=reset"
        if action == "test":
            shown["outcome"] = _test_send(session, ctx, request, admin, kind, channel, language, text(form, "to")[:254])
            return where
        raise FormError([N_("Choose one of the options.")])

    answer = await apply_change(request, admin, work, lambda problems: _template_page(request, admin, kind, channel, language, problems=problems))
    if shown:  # a preview shows what was typed; a test send, the saved wording it sent
        return _template_page(request, admin, kind, channel, language, typed=typed if "preview" in shown else None,
                              preview=shown.get("preview"), outcome=shown.get("outcome"))
    return answer


def _test_send(session: Any, ctx: Context, request: Request, admin: Admin, kind: str, channel: str, language: str, to: str) -> channels.Delivery:
    """Send the saved wording with the example values to `to`; the provider's answer (audited)."""
    if not to:
        raise FormError(fields={"to": Problem(_ADDRESS)})
    region = programs.get(session, tenant_id=admin.tenant_id).default_region
    try:
        with channels.client() as http:
            outcome = service.test_send(session, tenant_id=admin.tenant_id, kind=kind, channel=channel, language=language, to=to,
                                        region=region, http=http, message_id="mm_test_" + uuid.uuid4().hex)
    except InvalidInput as exc:
        raise refusal(exc, _TEST_SENTENCES, fields={"address": "to", "phone": "to"}) from None
    except channels.InvalidMessage as exc:  # the saved wording renders empty, or a subject of two lines
        raise FormError([Problem(N_("The saved wording cannot be sent: %(reason)s"), {"reason": str(exc)})]) from None
    admin.record(session, request, action="messaging.test_sent", target=f"template:{kind}:{channel}:{language}",
                 details={"to": to, "status": outcome.status, "detail": outcome.detail}, now=ctx.now())
    return outcome

"""Message templates: the built-in wording of each kind of message in Arabic and English, a tenant's
own wording (one per kind, channel and language), and rendering in Jinja2's sandbox.

A template sees only the variables listed in `VARIABLES` (an unknown one is an error when it is saved,
not a blank in a member's message), cannot reach Python objects (the sandbox), and renders plain text:
e-mails are sent as text (and an HTML copy with the right direction), SMS and WhatsApp are text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from wafa.db import insert_or_skip
from wafa.errors import InvalidInput
from wafa.messages.models import MessageTemplate

CHANNELS = ("email", "sms", "whatsapp")
LANGUAGES = ("ar", "en")

# Every kind's variables beside the common ones; the values of a preview are the examples shown.
COMMON = {
    "name": "Sara", "program": "Demo Coffee", "points_name": "points", "balance": 1240, "tier": "Silver",
    "tier_progress": "1,240 of 3,000 points, 1,760 to go by 2026-12-31", "card_url": "https://loyalty.example/m/demo/card",
}
VARIABLES: dict[str, dict[str, Any]] = {
    "welcome": {},
    "points_expiring": {"points": 300, "expires_on": "2026-12-31", "days": 7},
    "tier_upgraded": {"new_tier": "Gold", "previous_tier": "Silver"},
    "tier_downgrade_warning": {"review_on": "2027-01-01", "to_keep": "1,760 points", "next_tier_down": "Silver"},
    "reward_issued": {"reward": "Free coffee", "coupon_code": "K7Q2-M9XD", "valid_until": "2027-01-31"},
    "renewal_due": {"plan": "Coffee Club", "amount": "49.00 SAR", "due_on": "2026-12-10"},
    "payment_failed": {"plan": "Coffee Club", "amount": "49.00 SAR"},
    "referral_completed": {"friend": "Omar", "points": 200},
    "birthday": {},
    "win_back": {"days_since": 60},
    "campaign": {},
    "test": {},
}
KINDS = tuple(VARIABLES)
# The examples of an Arabic preview: the same variables, in Arabic where they are words.
EXAMPLES_AR: dict[str, Any] = {
    "name": "سارة", "program": "مقهى التجربة", "points_name": "نقاط", "tier": "فضي", "tier_progress": "1,240 من 3,000 نقطة",
    "new_tier": "ذهبي", "previous_tier": "فضي", "to_keep": "1,760 نقاط", "next_tier_down": "فضي", "reward": "قهوة مجانية",
    "plan": "نادي القهوة", "friend": "عمر",
}

_EN = {
    "welcome": ("Welcome to {{ program }}", "Hello {{ name }}, welcome to {{ program }}! You have {{ balance }} {{ points_name }}. "
                "Your card: {{ card_url }}"),
    "points_expiring": ("{{ points }} {{ points_name }} expire on {{ expires_on }}",
                        "Hello {{ name }}, {{ points }} of your {{ points_name }} expire on {{ expires_on }} ({{ days }} days). "
                        "Use them before then: {{ card_url }}"),
    "tier_upgraded": ("You are now {{ new_tier }}", "Congratulations {{ name }}! You moved up to {{ new_tier }} at {{ program }}."),
    "tier_downgrade_warning": ("Keep your {{ tier }} tier", "Hello {{ name }}, your {{ tier }} tier is reviewed on {{ review_on }}. "
                               "{{ to_keep }} more keep it. {{ tier_progress }}"),
    "reward_issued": ("Your reward: {{ reward }}", "Hello {{ name }}, your reward {{ reward }} is ready"
                      "{% if coupon_code %}: code {{ coupon_code }}{% endif %}"
                      "{% if valid_until %}, valid until {{ valid_until }}{% endif %}."),
    "renewal_due": ("Your {{ plan }} renews soon", "Hello {{ name }}, your {{ plan }} membership ({{ amount }}) is due on {{ due_on }}."),
    "payment_failed": ("Payment for {{ plan }} failed", "Hello {{ name }}, the payment of {{ amount }} for {{ plan }} failed. "
                       "Please update your payment to keep your benefits."),
    "referral_completed": ("Thanks for bringing {{ friend }}", "Hello {{ name }}, {{ friend }} joined {{ program }} thanks to you"
                           "{% if points %}: {{ points }} {{ points_name }} are yours{% endif %}."),
    "birthday": ("Happy birthday, {{ name }}!", "Happy birthday {{ name }}! {{ program }} wishes you a wonderful year."),
    "win_back": ("We miss you at {{ program }}", "Hello {{ name }}, it has been {{ days_since }} days. You have {{ balance }} "
                 "{{ points_name }} waiting: {{ card_url }}"),
    "campaign": ("{{ program }}", "{{ program }}"),
    "test": ("Test message from {{ program }}", "This is a test message from {{ program }} to {{ name }}."),
}
_AR = {
    "welcome": ("أهلاً بك في {{ program }}", "مرحباً {{ name }}، أهلاً بك في {{ program }}! رصيدك {{ balance }} {{ points_name }}. "
                "بطاقتك: {{ card_url }}"),
    "points_expiring": ("{{ points }} {{ points_name }} تنتهي في {{ expires_on }}",
                        "مرحباً {{ name }}، تنتهي {{ points }} من {{ points_name }} في {{ expires_on }} (بعد {{ days }} أيام). "
                        "استخدمها قبل ذلك: {{ card_url }}"),
    "tier_upgraded": ("أصبحت في فئة {{ new_tier }}", "مبروك يا {{ name }}! انتقلت إلى فئة {{ new_tier }} في {{ program }}."),
    "tier_downgrade_warning": ("حافظ على فئة {{ tier }}", "مرحباً {{ name }}، تُراجع فئتك {{ tier }} في {{ review_on }}. "
                               "يلزمك {{ to_keep }} للحفاظ عليها."),
    "reward_issued": ("مكافأتك: {{ reward }}", "مرحباً {{ name }}، مكافأتك {{ reward }} جاهزة"
                      "{% if coupon_code %}: الرمز {{ coupon_code }}{% endif %}"
                      "{% if valid_until %}، صالحة حتى {{ valid_until }}{% endif %}."),
    "renewal_due": ("يقترب تجديد {{ plan }}", "مرحباً {{ name }}، يستحق تجديد عضويتك في {{ plan }} ({{ amount }}) في {{ due_on }}."),
    "payment_failed": ("تعذّر دفع {{ plan }}", "مرحباً {{ name }}، تعذّر دفع {{ amount }} لعضوية {{ plan }}. "
                       "يرجى تحديث وسيلة الدفع للحفاظ على مزاياك."),
    "referral_completed": ("شكراً لدعوتك {{ friend }}", "مرحباً {{ name }}، انضم {{ friend }} إلى {{ program }} بفضلك"
                           "{% if points %}: لك {{ points }} {{ points_name }}{% endif %}."),
    "birthday": ("عيد ميلاد سعيد يا {{ name }}!", "كل عام وأنت بخير يا {{ name }}! يتمنى لك {{ program }} عاماً سعيداً."),
    "win_back": ("اشتقنا إليك في {{ program }}", "مرحباً {{ name }}، مرّ {{ days_since }} يوماً على آخر زيارة. لديك {{ balance }} "
                 "{{ points_name }} بانتظارك: {{ card_url }}"),
    "campaign": ("{{ program }}", "{{ program }}"),
    "test": ("رسالة تجريبية من {{ program }}", "هذه رسالة تجريبية من {{ program }} إلى {{ name }}."),
}
BUILT_IN = {"en": _EN, "ar": _AR}

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
_env.globals.clear()  # no range, lipsum, dict...: a template sees its variables and nothing else
SUBJECT_LIMIT = 300
BODY_LIMIT = 5000
RENDERED_LIMIT = 10_000  # a member's message, rendered
# A wording needs values, choices and a few filters; never loops, calls, macros or includes, nor filters or
# operators that multiply their input (center, indent, *), so no wording can make a worker spin or fill memory.
_REFUSED = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.Call, nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends,
            nodes.Assign, nodes.AssignBlock, nodes.FilterBlock, nodes.Mul, nodes.Pow, nodes.With, nodes.Scope)
FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim", "default", "d", "truncate", "string", "int", "round", "abs",
                     "length", "first", "last"})


@dataclass(frozen=True, slots=True)
class Wording:
    subject: str | None  # e-mail only
    body: str
    custom: bool  # the tenant's own, not the built-in one


@lru_cache(maxsize=512)
def compiled(text: str) -> Template:
    """A template compiled once per wording (compiling took most of a broadcast's rendering time)."""
    return _env.from_string(text)


def render(text: str, variables: dict[str, Any], *, field: str = "body") -> str:
    """Render one template string; a syntax error, an unknown variable or a sandbox refusal is InvalidInput."""
    try:
        out = compiled(text).render(**variables).strip()
    except TemplateError as exc:  # SecurityError and UndefinedError are TemplateErrors
        raise InvalidInput(f"template: {exc.message or exc.__class__.__name__}", field=field) from None
    except Exception as exc:  # noqa: BLE001  a member's values the examples did not have: {{ 100 // balance }} with a balance of 0
        raise InvalidInput(f"template: {type(exc).__name__} with this member's values", field=field) from None
    if len(out) > RENDERED_LIMIT:
        raise InvalidInput(f"the message comes out longer than {RENDERED_LIMIT:,} characters", field=field)
    return out


def _check_shape(text: str, allowed: set[str], *, field: str) -> None:
    """Refuse what the examples may not reach: an unknown variable in a branch they skip, a loop, a call,
    a filter outside FILTERS."""
    try:
        tree = _env.parse(text)
    except TemplateError as exc:
        raise InvalidInput(f"template: {exc.message or exc.__class__.__name__}", field=field) from None
    refused = next(iter(tree.find_all(_REFUSED)), None)
    if refused is not None:
        raise InvalidInput(f"template: {type(refused).__name__.lower()} is not allowed (values, if/else and simple filters only)", field=field)
    for found in tree.find_all(nodes.Filter):
        if found.name not in FILTERS:
            raise InvalidInput(f"template: the filter {found.name!r} is not allowed; use one of {', '.join(sorted(FILTERS))}", field=field)
    unknown = sorted(meta.find_undeclared_variables(tree) - allowed)
    if unknown:
        raise InvalidInput(f"template: no variable {unknown[0]!r}; this message has {', '.join(sorted(allowed))}", field=field)


def example_variables(kind: str, language: str = "en") -> dict[str, Any]:
    """A kind's variables with example values (in Arabic for an Arabic preview)."""
    values = {**COMMON, "unsubscribe_url": "https://loyalty.example/m/demo/unsubscribe/...", **VARIABLES[kind]}
    if language == "ar":
        values.update({k: v for k, v in EXAMPLES_AR.items() if k in values})
    return values


def check_kind(kind: str) -> None:
    if kind not in VARIABLES:
        raise InvalidInput(f"no message kind {kind!r}; one of {', '.join(KINDS)}", field="kind")


def check(kind: str, channel: str, subject: str | None, body: str) -> None:
    """Refuse a template that does not render with its kind's variables (a typo, an unknown variable)."""
    check_kind(kind)
    if channel not in CHANNELS:
        raise InvalidInput(f"no channel {channel!r}; one of {', '.join(CHANNELS)}", field="channel")
    if not body.strip():
        raise InvalidInput("the body is empty", field="body")
    if len(body) > BODY_LIMIT:
        raise InvalidInput(f"the body is longer than {BODY_LIMIT} characters", field="body")
    if channel == "email" and not (subject or "").strip():
        raise InvalidInput("an e-mail needs a subject", field="subject")
    if subject is not None and len(subject) > SUBJECT_LIMIT:
        raise InvalidInput(f"the subject is longer than {SUBJECT_LIMIT} characters", field="subject")
    variables = example_variables(kind)
    if subject:
        _check_shape(subject, set(variables), field="subject")
        render(subject, variables, field="subject")
    _check_shape(body, set(variables), field="body")
    render(body, variables, field="body")


def wording(session: Session, *, tenant_id: int, kind: str, channel: str, language: str) -> Wording:
    """The tenant's wording of a kind on a channel in a language, else the built-in one."""
    row = session.execute(select(MessageTemplate).where(
        MessageTemplate.tenant_id == tenant_id, MessageTemplate.kind == kind, MessageTemplate.channel == channel,
        MessageTemplate.language == language,
    )).scalar_one_or_none()
    if row is not None:
        return Wording(row.subject, row.body, True)
    subject, body = BUILT_IN[language if language in BUILT_IN else "ar"][kind]
    return Wording(subject if channel == "email" else None, body, False)


def save(
    session: Session, *, tenant_id: int, kind: str, channel: str, language: str, subject: str | None, body: str, now: datetime,
) -> MessageTemplate:
    """Set the tenant's wording (checked first); return it."""
    if language not in LANGUAGES:
        raise InvalidInput(f"no language {language!r}; one of ar, en", field="language")
    if kind == "campaign":
        raise InvalidInput("a campaign carries its own wording", field="kind")
    check(kind, channel, subject, body)
    key = {"tenant_id": tenant_id, "kind": kind, "channel": channel, "language": language}
    session.execute(insert_or_skip(session, MessageTemplate, conflict=["tenant_id", "kind", "channel", "language"]).values(
        **key, subject=subject, body=body, updated_at=now,
    ))
    row = session.execute(select(MessageTemplate).filter_by(**key).with_for_update()).scalar_one()
    row.subject, row.body, row.updated_at = (subject if channel == "email" else None), body, now
    session.flush()
    return row


def reset(session: Session, *, tenant_id: int, kind: str, channel: str, language: str) -> bool:
    """Go back to the built-in wording; return whether there was a custom one."""
    check_kind(kind)
    row = session.execute(select(MessageTemplate).where(
        MessageTemplate.tenant_id == tenant_id, MessageTemplate.kind == kind, MessageTemplate.channel == channel,
        MessageTemplate.language == language,
    )).scalar_one_or_none()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True

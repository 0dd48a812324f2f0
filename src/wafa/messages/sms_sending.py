"""SMS and WhatsApp over HTTP: Twilio's Messages API, Unifonic's REST API, and any gateway through its
body template; each answer classified (sent with the provider's id, retry later, failure, hard bounce)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from jinja2 import TemplateError

from wafa.errors import InvalidInput
from wafa.messages.channel_settings import GenericHttpConfig, TwilioConfig, UnifonicConfig
from wafa.messages.gateway_template import compiled
from wafa.messages.outgoing_message import Delivery, OutgoingMessage
from wafa.notify.webhooks import check_url

USER_AGENT = "Wafa-Messages/1"
BODY_KEPT = 64 * 1024
# Statuses a provider sends when trying again later can work.
RETRYABLE = frozenset({408, 425, 429})
TWILIO_INVALID_NUMBER = frozenset({21211, 21614})  # 'To' is not a valid phone number / not a mobile number
UNIFONIC_INVALID_NUMBER = frozenset({"ER-02", "ER-03", "ER-04"})  # invalid destination (malformed, too long, too short)
UNIFONIC_INVALID_STATUS = frozenset({410, 482})  # "Invalid recipient format", "Invalid dest num"


def _request(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response | Delivery:
    """The provider's answer, or the retry that a refused address, a timeout or a broken connection means."""
    try:
        check_url(url)  # the address may have changed since the settings were saved
    except InvalidInput as exc:
        return Delivery("retry", None, exc.detail)
    try:
        return http.request(method, url, follow_redirects=False, **kwargs)
    except httpx.TimeoutException as exc:
        return Delivery("retry", None, f"no answer in time ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Delivery("retry", None, f"{type(exc).__name__}: {exc}")


def _headers(message: OutgoingMessage, content_type: str | None = None) -> dict[str, str]:
    headers = {"idempotency-key": message.message_id, "user-agent": USER_AGENT, "accept": "application/json"}
    if content_type:
        headers["content-type"] = content_type
    return headers


def _answer(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _unsuccessful(response: httpx.Response, detail: str, *, hard_bounce: bool = False) -> Delivery:
    """A non-2xx answer: 408/425/429 and 5xx are for later, a redirect or another 4xx is final."""
    status = response.status_code
    if status in RETRYABLE or status >= 500:
        return Delivery("retry", None, detail)
    if 300 <= status < 400:
        return Delivery("failed", None, f"{detail} (a redirect, not followed: check the URL)")
    return Delivery("failed", None, detail, hard_bounce=hard_bounce)


def send_twilio(config: TwilioConfig, message: OutgoingMessage, to: str, http: httpx.Client) -> Delivery:
    prefix = "whatsapp:" if config.channel == "whatsapp" else ""
    form = {"To": prefix + to}
    if config.from_.startswith("MG"):
        form["MessagingServiceSid"] = config.from_
    else:
        form["From"] = (prefix if config.from_.startswith("+") else "") + config.from_
    form["Body"] = message.text
    url = f"{config.base_url}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
    response = _request(http, "POST", url, data=form, auth=(config.account_sid, config.auth_token), headers=_headers(message))
    if isinstance(response, Delivery):
        return response
    found = _answer(response)
    answer: dict[str, Any] = found if isinstance(found, dict) else {}
    if response.is_success:
        sid = answer.get("sid")
        return Delivery("sent", str(sid) if sid else None, f"HTTP {response.status_code}, {answer.get('status') or 'accepted'}")
    code = answer.get("code")
    detail = f"HTTP {response.status_code}, Twilio {code}: {answer.get('message')}" if code else f"HTTP {response.status_code}"
    return _unsuccessful(response, detail, hard_bounce=code in TWILIO_INVALID_NUMBER)


def send_unifonic(config: UnifonicConfig, message: OutgoingMessage, to: str, http: httpx.Client) -> Delivery:
    form = {
        "AppSid": config.app_sid, "SenderID": config.sender_id, "Recipient": to.removeprefix("+"), "Body": message.text,
        "responseType": "JSON", "CorrelationID": message.message_id,
    }
    response = _request(http, "POST", f"{config.base_url}/rest/SMS/messages", data=form, headers=_headers(message))
    if isinstance(response, Delivery):
        return response
    found = _answer(response)
    answer: dict[str, Any] = found if isinstance(found, dict) else {}
    error, text = answer.get("errorCode"), answer.get("message")
    detail = f"HTTP {response.status_code}" + (f", Unifonic {error}" if error else "") + (f": {text}" if text else "")
    if not response.is_success:
        hard = response.status_code in UNIFONIC_INVALID_STATUS or error in UNIFONIC_INVALID_NUMBER
        return _unsuccessful(response, detail, hard_bounce=hard)
    if str(answer.get("success")).lower() != "true":
        return Delivery("failed", None, detail if error or text else f"{detail}, no success in the answer",
                        hard_bounce=error in UNIFONIC_INVALID_NUMBER)
    data: dict[str, Any] = answer["data"] if isinstance(answer.get("data"), dict) else {}
    provider_id = str(data["MessageID"]) if data.get("MessageID") is not None else None
    if str(data.get("Status", "")).lower() in ("rejected", "failed"):
        return Delivery("failed", provider_id, f"HTTP {response.status_code}, Unifonic status {data['Status']}")
    return Delivery("sent", provider_id, f"HTTP {response.status_code}, {data.get('Status') or 'accepted'}")


def send_http(config: GenericHttpConfig, message: OutgoingMessage, to: str, http: httpx.Client) -> Delivery:
    values = {
        "to": to, "to_digits": to.removeprefix("+"), "text": message.text, "sender": config.sender or "", "message_id": message.message_id,
        "language": message.language, "channel": message.channel,
    }
    try:
        body = compiled(config.body_template).render(**values)
    except (TemplateError, TypeError, ValueError, LookupError) as exc:
        return Delivery("failed", None, f"the body template does not render: {exc}")
    if len(body.encode()) > BODY_KEPT:
        return Delivery("failed", None, "the rendered body is over 64 KiB")
    headers = {**config.headers, **_headers(message, None if config.method == "GET" else config.content_type)}
    if config.method == "GET":
        url = config.url + ("&" if urlsplit(config.url).query else "?") + body
        response = _request(http, "GET", url, headers=headers)
    else:
        response = _request(http, "POST", config.url, content=body.encode(), headers=headers)
    if isinstance(response, Delivery):
        return response
    snippet = " ".join(response.content[:200].decode(errors="replace").split())
    detail = f"HTTP {response.status_code}" + (f": {snippet}" if snippet else "")
    sent = response.status_code in config.success_status if config.success_status else response.is_success
    if not sent:
        return _unsuccessful(response, detail) if not response.is_success else Delivery("failed", None, detail)
    return Delivery("sent", _at_path(_answer(response), config.id_path) if config.id_path else None, detail)


def _at_path(answer: Any, path: str) -> str | None:
    for key in path.split("."):
        if isinstance(answer, dict):
            answer = answer.get(key)
        elif isinstance(answer, list) and key.isdigit() and int(key) < len(answer):
            answer = answer[int(key)]
        else:
            return None
    return str(answer) if isinstance(answer, str | int) and not isinstance(answer, bool) else None

"""Webhooks in the console: add an endpoint (its secret shown once), see it with its health, send a test
message that a real receiver gets and verifies, deliver it again, turn the endpoint off and on, make a
new secret, remove it; a read-only role sees but cannot change; Arabic pages show the same."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import Browser, csrf_of, make_admin, signed_in
from tests.integration.notify.receiver import receiving
from wafa.config import get_settings
from wafa.notify import webhooks

pytestmark = pytest.mark.usefixtures("allow_private_webhooks")


def _post(browser: TestClient, path: str, data: dict, page: str):  # type: ignore[no-untyped-def]
    return browser.post(path, data={**data, "csrf": csrf_of(browser.get(page).text)}, follow_redirects=False)


def _deliver(factory, clock, tenant_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    webhooks.number_and_fan_out(factory, now=clock.now(), tenant_id=tenant_id)
    with webhooks.client() as http:
        return webhooks.deliver_due(factory, clock=clock, client=http, tenant_id=tenant_id)


def test_an_endpoint_from_the_console_to_a_real_receiver(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))
    assert "No webhooks yet." in admin.get("/admin/webhooks", params={"lang": "en"}).text
    with receiving(200) as receiver:
        made = _post(admin, "/admin/webhooks", {"url": receiver.url, "description": "CRM", "types": ["points.earned", "tier.upgraded"]},
                     "/admin/webhooks")
        assert made.status_code == 200 and "The endpoint is added." in made.text
        secret = re.search(r'id="new-secret">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
        receiver.secrets.append(secret)
        endpoint_id = client.get("/v1/webhook-endpoints").json()["items"][0]["id"]
        page = f"/admin/webhooks/{endpoint_id}"
        assert secret not in admin.get(page).text and secret not in admin.get("/admin/webhooks").text
        assert _post(admin, f"{page}/test", {}, page).headers["location"].endswith("?done=tested")
        assert _deliver(factory, clock, tenant.id) == {"delivered": 1}
        assert receiver.received[0].verified and receiver.messages()[0]["type"] == "webhook.test"
        shown = admin.get(page).text
        assert "webhook.test" in shown and "delivered" in shown and "Send again" in shown
        message_id = re.search(r'name="message_id" value="([^"]+)"', shown).group(1)  # type: ignore[union-attr]
        assert _post(admin, f"{page}/replay", {"message_id": message_id}, page).status_code == 303
        assert _deliver(factory, clock, tenant.id) == {"delivered": 1}
        assert [m["id"] for m in receiver.messages()] == [message_id, message_id]
    listed = admin.get("/admin/webhooks").text
    assert receiver.url in listed and ">points.earned</code>" in listed and ">tier.upgraded</code>" in listed
    assert _post(admin, f"{page}/enabled", {"enabled": "false"}, page).headers["location"].endswith("?done=disabled")
    assert client.get(f"/v1/webhook-endpoints/{endpoint_id}").json()["enabled"] is False
    assert _post(admin, f"{page}/enabled", {"enabled": "true"}, page).status_code == 303
    rotated = _post(admin, f"{page}/rotate", {}, page)
    assert rotated.status_code == 200 and "The old secret keeps signing beside this one for 24 hours." in rotated.text
    assert re.search(r'id="new-secret">([^<]+)<', rotated.text).group(1) != secret  # type: ignore[union-attr]
    assert _post(admin, f"{page}/delete", {}, page).headers["location"].endswith("/admin/webhooks?done=deleted")
    assert client.get("/v1/webhook-endpoints").json()["items"] == []


def test_bad_addresses_are_refused_beside_the_field(browser: Browser, factory, clock, tenant, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))
    admin.get("/admin/webhooks", params={"lang": "en"})
    empty = _post(admin, "/admin/webhooks", {"url": ""}, "/admin/webhooks")
    assert empty.status_code == 422 and "Enter the address Wafa should send messages to." in empty.text
    monkeypatch.setenv("WAFA_WEBHOOK_ALLOW_PRIVATE", "0")
    get_settings.cache_clear()
    private = _post(admin, "/admin/webhooks", {"url": "https://127.0.0.1/hooks"}, "/admin/webhooks")
    assert private.status_code == 422 and "not a public address" in private.text
    forged = _post(admin, "/admin/webhooks", {"url": "https://93.184.216.34/h", "types": ["points.stolen"]}, "/admin/webhooks")
    assert forged.status_code == 422


def test_a_viewer_sees_the_webhooks_but_cannot_change_them(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    made = client.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/h"}).json()
    viewer = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now(), role="viewer"))
    page = viewer.get(f"/admin/webhooks/{made['id']}", params={"lang": "en"})
    assert page.status_code == 200 and "Send a test message" not in page.text
    refused = viewer.post(f"/admin/webhooks/{made['id']}/delete", data={"csrf": csrf_of(viewer.get("/admin/webhooks").text)},
                          follow_redirects=False)
    assert refused.status_code in (403, 422)
    assert client.get(f"/v1/webhook-endpoints/{made['id']}").status_code == 200


def test_the_pages_speak_arabic(browser: Browser, client: TestClient, factory, clock, tenant) -> None:  # type: ignore[no-untyped-def]
    made = client.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/h"}).json()
    admin = signed_in(browser(), tenant.slug, make_admin(factory, tenant.id, clock.now()))
    listed = admin.get("/admin/webhooks", params={"lang": "ar"}).text
    assert "الويب هوكس" in listed
    assert "آخر عمليات الإرسال" in admin.get(f"/admin/webhooks/{made['id']}", params={"lang": "ar"}).text

"""The console and the member portal in a real browser (Debian's Chromium driven by Playwright), against
a real `wafa serve` process on a demo database, with a real SMTP server in this process receiving the
members' sign-in codes.

What a person relies on: an admin signs in, reads charts and KPI cards that agree with the API, finds a
member and adjusts their points; a member signs in with the code e-mailed to them, shows a QR code the
till can scan, redeems a reward, and still sees the card with no network; pages read right to left in
Arabic (the default) and left to right in English; no page has a critical or serious accessibility fault.

Screenshots of the main pages in both languages land in test-artifacts/screenshots/ (git-ignored).
Without /usr/bin/chromium the module skips, unless WAFA_TEST_BROWSER_REQUIRED is set (CI), where it fails.
"""

from __future__ import annotations

import email
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = bool(os.environ.get("WAFA_TEST_BROWSER_REQUIRED"))


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"browser tests are required here (WAFA_TEST_BROWSER_REQUIRED is set) but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason} (install it with `apt-get install -y chromium`; "
                "set WAFA_TEST_BROWSER_REQUIRED=1 to make this a failure)", allow_module_level=True)


if not CHROMIUM.is_file():
    _unavailable(f"{CHROMIUM} is missing")
try:
    import zxingcpp
    from aiosmtpd.controller import Controller
    from PIL import Image
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        Page,
        expect,
        sync_playwright,
    )
except ImportError as exc:  # pragma: no cover - the dev extras are installed with the project
    _unavailable(f"a test dependency is missing ({exc.name})")

ROOT = Path(__file__).resolve().parents[2]
WAFA = str(Path(sys.executable).parent / "wafa")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SLUG = "demo"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "wafa-demo-password"
# Members of the demo, each signing in once at most (three codes per address per 15 minutes).
QR_MEMBER, REDEEM_MEMBER, LANDING_MEMBER, PAGES_MEMBER, ADJUSTED_MEMBER = (f"member{n}@example.com" for n in (7, 11, 12, 14, 3))
WAIT_MS = 15_000
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def number(text: str) -> int:
    """The first whole number in a text as a page shows it: Latin or Arabic-Indic digits, grouped by
    commas, Arabic separators or (narrow) spaces."""
    found = re.search(r"[-−]?[0-9٠-٩۰-۹][0-9٠-٩۰-۹,٬\u066b\u00a0\u202f ]*", text)
    assert found, f"no number in {text!r}"
    digits = re.sub(r"[,٬\u00a0\u202f ]", "", found.group(0)).replace("−", "-").translate(_DIGITS)
    return int(digits.split("\u066b")[0])


# --- a real SMTP server in this process -------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server received, in order; tests wait for the next message to an address."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self.arrived.notify_all()
        return "250 OK"

    def _to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if str(m["To"]).strip("<> ") == address]

    def count(self, address: str) -> int:
        with self.arrived:
            return len(self._to(address))

    def next_to(self, address: str, *, seen: int, timeout: float = 10.0) -> EmailMessage:
        """The first message to `address` after the `seen` it had already received."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self._to(address)) > seen, timeout=timeout):
                raise AssertionError(f"no e-mail reached {address} within {timeout} s; received: "
                                     f"{[(str(m['To']), str(m['Subject'])) for m in self.messages]}")
            return self._to(address)[seen]


def sign_in_code(message: EmailMessage) -> str:
    body = message.get_content()
    found = re.search(r"(?<![0-9٠-٩])([0-9٠-٩]{6})(?![0-9٠-٩])", body)
    assert found, f"no six-digit code in the e-mail: {body!r}"
    return found.group(1).translate(_DIGITS)


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


# --- a real server on a demo database ----------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    url: str
    api_key: str
    log: Path

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.api_key}"}, timeout=30)

    def member(self, address: str) -> dict[str, Any]:
        with self.api() as http:
            found = http.get("/v1/members", params={"email": address}).json()["items"]
        assert len(found) == 1, f"the demo has no single member {address}: {found}"
        return found[0]

    def available(self, member_id: int) -> int:
        with self.api() as http:
            return int(http.get(f"/v1/members/{member_id}/balance").json()["available"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("browser")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ, "WAFA_DATABASE_URL": f"sqlite:///{folder / 'wafa.db'}", "WAFA_LOG_LEVEL": "warning",
        "WAFA_SMTP_HOST": "127.0.0.1", "WAFA_SMTP_PORT": str(mailbox.port), "WAFA_PUBLIC_URL": url, "WAFA_COOKIE_SECURE": "auto",
    }
    for name in ("WAFA_SMTP_USERNAME", "WAFA_SMTP_PASSWORD", "WAFA_SMTP_STARTTLS"):
        env.pop(name, None)
    seeded = subprocess.run([WAFA, "demo", "--members", "40", "--months", "3", "--json"], env=env, capture_output=True, check=False,
                            text=True, timeout=180)
    assert seeded.returncode == 0, f"wafa demo failed:\n{seeded.stdout}\n{seeded.stderr}"
    api_key = json.loads(seeded.stdout)["api_key"]
    log = folder / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen([WAFA, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"wafa serve did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Server(url=url, api_key=api_key, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- one browser ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def new_context(browser: Browser, *, viewport: dict[str, int], **options: Any) -> BrowserContext:
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    return context


def watch_errors(page: Page) -> list[str]:
    """Script errors and CSP refusals of a page, to assert there are none."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    return errors


def admin_sign_in(page: Page, server: Server, *, lang: str = "en") -> None:
    page.goto(f"{server.url}/admin/login?lang={lang}")
    form = page.locator('form[action="/admin/login"]')
    form.locator('input[name="tenant"]').fill(SLUG)
    form.locator('input[name="email"]').fill(ADMIN_EMAIL)
    form.locator('input[name="password"]').fill(ADMIN_PASSWORD)
    form.locator('button[type="submit"]').click()
    page.wait_for_url(f"{server.url}/admin")


def member_sign_in(page: Page, server: Server, mailbox: Mailbox, address: str) -> None:
    """The portal's sign-in: the e-mail address, then the code the SMTP server received."""
    seen = mailbox.count(address)
    page.goto(f"{server.url}/m/{SLUG}/login")
    page.locator('main form input[name="email"]').fill(address)
    page.locator('main form button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"/m/{SLUG}/verify\?"))
    code = sign_in_code(mailbox.next_to(address, seen=seen))
    page.locator('main form input[name="code"]').fill(code)
    page.locator('main form button[type="submit"]').click()
    page.wait_for_url(re.compile(rf"{re.escape(server.url)}/m/{SLUG}/?$"))
    expect(page.locator("#card-qr svg")).to_be_visible()


@pytest.fixture(scope="module")
def admin_state(browser: Browser, server: Server) -> dict[str, Any]:
    """A signed-in console (cookies), for the tests that are not about signing in."""
    context = new_context(browser, viewport=DESKTOP)
    try:
        admin_sign_in(context.new_page(), server)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture(scope="module")
def profile_member_id(server: Server) -> int:
    """The member whose console profile the audits and screenshots show."""
    return int(server.member(ADJUSTED_MEMBER)["id"])


@pytest.fixture(scope="module")
def member_state(browser: Browser, server: Server, mailbox: Mailbox) -> dict[str, Any]:
    """A member signed in to the portal (cookies), for the tests that are not about signing in."""
    context = new_context(browser, viewport=PHONE)
    try:
        member_sign_in(context.new_page(), server, mailbox, PAGES_MEMBER)
        return context.storage_state()
    finally:
        context.close()


# --- the console ---------------------------------------------------------------------------------------


CHARTS_DRAWN = """() => {
  const canvases = [...document.querySelectorAll("canvas[data-chart]")];
  return canvases.length > 0 && !!window.Chart && canvases.every((canvas) => window.Chart.getChart(canvas));
}"""
CHART_DATA = """() => [...document.querySelectorAll("canvas[data-chart]")].map((canvas) => {
  const chart = window.Chart.getChart(canvas);
  return {id: canvas.id, type: chart.config.type, datasets: chart.data.datasets.map((d) => ({label: d.label, data: d.data}))};
})"""


def test_admin_signs_in_and_the_dashboard_draws_its_charts_and_agrees_with_the_api(browser: Browser, server: Server) -> None:
    context = new_context(browser, viewport=DESKTOP)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        admin_sign_in(page, server, lang="en")
        expect(page.locator("h1")).to_have_text("Dashboard")
        page.wait_for_function(CHARTS_DRAWN)
        charts = page.evaluate(CHART_DATA)
        assert {c["id"] for c in charts} >= {"chart-members", "chart-revenue", "chart-points", "chart-liability", "chart-tiers"}
        for chart in charts:
            values = [v for d in chart["datasets"] for v in d["data"]]
            assert values and all(isinstance(v, int | float) for v in values), f"{chart['id']} holds non-numbers: {chart}"
            assert any(v != 0 for v in values), f"{chart['id']} draws only zeros: {chart}"

        # The period the dashboard shows (the last 30 days by default), asked of the API.
        first = date.fromisoformat(page.locator('input[name="from"]').input_value())
        last = date.fromisoformat(page.locator('input[name="to"]').input_value())
        assert (last - first).days == 29
        with server.api() as http:
            answer = http.get("/v1/analytics/kpis", params={"from": first.isoformat(), "to": last.isoformat()})
        assert answer.status_code == 200, answer.text
        expected = answer.json()["period"]["active_members"]
        assert expected > 0, "the demo should have active members in the last 30 days"
        card = page.locator('[data-kpi="active_members"]')
        expect(card.locator("h2")).to_have_text("Active members")
        assert number(card.locator(".value").inner_text()) == expected
        assert not errors, errors
    finally:
        context.close()


def test_admin_finds_a_member_by_email_and_adjusts_their_points(browser: Browser, server: Server, admin_state: dict) -> None:
    member = server.member(ADJUSTED_MEMBER)
    context = new_context(browser, viewport=DESKTOP, storage_state=admin_state)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        page.goto(f"{server.url}/admin/members?lang=en")
        search = page.get_by_role("search")
        search.locator('input[name="q"]').fill(ADJUSTED_MEMBER)
        search.get_by_role("button", name="Search").click()
        # One member matches the e-mail: the search goes straight to the profile.
        page.wait_for_url(f"{server.url}/admin/members/{member['id']}")
        expect(page.locator("main")).to_contain_text(ADJUSTED_MEMBER)
        before = number(page.locator("#balance-available").inner_text())
        assert before == server.available(member["id"])

        form = page.locator("#adjust-form")
        form.locator('input[name="points"]').fill("250")
        form.locator('input[name="reason"]').fill("Goodwill: late delivery (browser test)")
        form.locator('button[type="submit"]').click()
        page.wait_for_url(re.compile(rf"/admin/members/{member['id']}\?done=adjusted"))
        expect(page.locator("p.flash")).to_be_visible()
        assert number(page.locator("#balance-available").inner_text()) == before + 250
        assert server.available(member["id"]) == before + 250
        history = page.locator("table.history tbody tr").first
        expect(history).to_contain_text("Goodwill: late delivery (browser test)")
        expect(history).to_contain_text("+250")
        assert not errors, errors
    finally:
        context.close()


# --- the member portal ---------------------------------------------------------------------------------


def test_member_signs_in_with_the_emailed_code_and_the_card_qr_identifies_them(
    browser: Browser, server: Server, mailbox: Mailbox, tmp_path: Path,
) -> None:
    member = server.member(QR_MEMBER)
    context = new_context(browser, viewport=PHONE)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        member_sign_in(page, server, mailbox, QR_MEMBER)
        expect(page.locator("#member-name")).to_have_text(member["name"])
        assert number(page.locator("#balance").inner_text()) == server.available(member["id"])

        shot = tmp_path / "card-qr.png"
        page.locator("#card-qr").screenshot(path=str(shot))
        decoded = zxingcpp.read_barcodes(Image.open(shot))
        assert len(decoded) == 1, f"expected one QR code on the card, decoded {decoded}"
        token = decoded[0].text
        assert token == member["card_token"]
        with server.api() as http:
            scanned = http.get(f"/v1/cards/{token}")
        assert scanned.status_code == 200, scanned.text
        assert scanned.json()["id"] == member["id"]
        assert not errors, errors
    finally:
        context.close()


# Explicit waits done in the page, bounded so a broken worker fails the test instead of hanging it.
SW_READY = """(ms) => Promise.race([navigator.serviceWorker.ready.then(() => true),
  new Promise((resolve) => setTimeout(() => resolve(false), ms))])"""
CARD_CACHED = """async (ms) => {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await caches.match(location.href)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}"""


def test_sign_in_lands_on_the_card_page_the_service_worker_controls(
    browser: Browser, server: Server, mailbox: Mailbox,
) -> None:
    """The card a member sees right after signing in is the page that must show offline later: it has to
    be inside the service worker's scope (/m/<slug>/), like the Card tab and the manifest's start_url."""
    context = new_context(browser, viewport=PHONE)
    page = context.new_page()
    try:
        member_sign_in(page, server, mailbox, LANDING_MEMBER)
        scope = f"{server.url}/m/{SLUG}/"
        assert page.url.startswith(scope), (
            f"after sign-in the member lands on {urlsplit(page.url).path}, outside the service worker's scope "
            f"{urlsplit(scope).path}: that page is never controlled (navigator.serviceWorker.ready never resolves there) "
            "and does not show offline"
        )
        assert page.evaluate(SW_READY, WAIT_MS), "the service worker never became ready on the card page"
    finally:
        context.close()


def test_member_redeems_the_first_unlocked_reward_and_the_card_balance_drops_by_its_cost(
    browser: Browser, server: Server, mailbox: Mailbox,
) -> None:
    member = server.member(REDEEM_MEMBER)
    if server.available(member["id"]) < 1500:
        with server.api() as http:
            topped = http.post(f"/v1/members/{member['id']}/adjustments", json={"points": 1500, "reason": "browser test: enough to redeem"},
                               headers={"Idempotency-Key": f"browser-redeem-{member['id']}"})
        assert topped.status_code == 201, topped.text
    with server.api() as http:
        catalog = {r["key"]: r for r in http.get("/v1/rewards", params={"member_id": member["id"], "limit": 200}).json()["items"]}

    context = new_context(browser, viewport=PHONE)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        member_sign_in(page, server, mailbox, REDEEM_MEMBER)
        before = number(page.locator("#balance").inner_text())
        assert before == server.available(member["id"])

        page.goto(f"{server.url}/m/{SLUG}/rewards")
        unlocked = page.locator("li.reward:not(.locked)")
        expect(unlocked.first).to_be_visible()
        # The first reward that is not locked and costs points (a plan's free reward may cost none).
        keys = unlocked.evaluate_all("items => items.map((li) => li.dataset.reward)")
        key = next(k for k in keys if catalog[k]["points"] > 0)
        reward = page.locator(f'li.reward[data-reward="{key}"]')
        cost = number(reward.locator(".cost").inner_text())
        assert cost == catalog[key]["points"]

        reward.locator("summary").click()
        note = reward.locator('input[name="note"]')
        if note.count():
            note.fill("1 King Fahd Road, Riyadh")
        reward.locator('form button[type="submit"]').click()
        page.wait_for_url(re.compile(rf"/m/{SLUG}/coupons\?new=\d+"))
        expect(page.locator("p.flash")).to_be_visible()
        new_id = re.search(r"new=(\d+)", page.url).group(1)  # type: ignore[union-attr]
        expect(page.locator(f"#redemption-{new_id}")).to_be_visible()

        page.goto(f"{server.url}/m/{SLUG}/")
        assert number(page.locator("#balance").inner_text()) == before - cost
        assert server.available(member["id"]) == before - cost
        assert not errors, errors
    finally:
        context.close()


def test_the_card_still_shows_offline(browser: Browser, server: Server, member_state: dict) -> None:
    context = new_context(browser, viewport=PHONE, storage_state=member_state)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/m/{SLUG}/")
        assert page.evaluate(SW_READY, WAIT_MS), "the service worker never became ready on the card page"
        # The worker controls the pages loaded after it activated: reload once.
        page.reload()
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        # The worker keeps a copy of the card as it passes (cache.put is not awaited by the page load).
        assert page.evaluate(CARD_CACHED, WAIT_MS), "the service worker did not keep a copy of the card"
        qr = page.locator("#card-qr").inner_html()
        expect(page.locator(".offline-note")).to_be_hidden()

        context.set_offline(True)
        page.reload()
        expect(page.locator("#card-qr svg")).to_be_visible()
        assert page.locator("#card-qr").inner_html() == qr
        expect(page.locator(".offline-note")).to_be_visible()
    finally:
        context.set_offline(False)
        context.close()


# --- languages -----------------------------------------------------------------------------------------


DIRECTION = """() => ({dir: document.documentElement.getAttribute("dir"), lang: document.documentElement.getAttribute("lang"),
  computed: getComputedStyle(document.body).direction})"""


@pytest.mark.parametrize("path", ["/admin/login", f"/m/{SLUG}/login"])
def test_pages_are_arabic_right_to_left_by_default_and_english_left_to_right_on_request(
    browser: Browser, server: Server, path: str,
) -> None:
    context = new_context(browser, viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    try:
        page.goto(server.url + path)
        assert page.evaluate(DIRECTION) == {"dir": "rtl", "lang": "ar", "computed": "rtl"}
        page.goto(f"{server.url}{path}?lang=en")
        assert page.evaluate(DIRECTION) == {"dir": "ltr", "lang": "en", "computed": "ltr"}
        # The choice is remembered.
        page.goto(server.url + path)
        assert page.evaluate(DIRECTION) == {"dir": "ltr", "lang": "en", "computed": "ltr"}
        page.get_by_role("link", name="العربية").click()
        page.wait_for_url(re.compile(r"lang=ar"))
        assert page.evaluate(DIRECTION) == {"dir": "rtl", "lang": "ar", "computed": "rtl"}
    finally:
        context.close()


# --- accessibility -------------------------------------------------------------------------------------

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + (n.any[0] ? " (" + n.any[0].message + ")" : ""))}));
}"""
AXE_PAGES = [
    ("admin-login", "/admin/login", None),
    ("dashboard", "/admin", "admin"),
    ("member-profile", "/admin/members/{member_id}", "admin"),
    ("portal-login", f"/m/{SLUG}/login", None),
    ("card", f"/m/{SLUG}/", "member"),
    ("rewards", f"/m/{SLUG}/rewards", "member"),
]


# Violations of these impacts fail a page. "serious" is included because the pages had few, all nameable.
FAILING_IMPACTS = ("critical", "serious")


@pytest.fixture(scope="module")
def audit_context(browser: Browser, admin_state: dict, member_state: dict) -> Iterator[Callable[[str | None, bool], BrowserContext]]:
    """Browser contexts for the audits, one per visitor (None, "admin", "member") and device, opened as
    needed. axe is injected as a script tag, which the pages' CSP (script-src 'self') refuses: CSP is
    bypassed in these contexts only."""
    opened: dict[tuple[str | None, bool], BrowserContext] = {}
    states = {"admin": admin_state, "member": member_state}

    def context_for(who: str | None, phone: bool) -> BrowserContext:
        if (who, phone) not in opened:
            opened[(who, phone)] = new_context(browser, viewport=PHONE if phone else DESKTOP, storage_state=states.get(who or ""),
                                               bypass_csp=True)
        return opened[(who, phone)]

    yield context_for
    for context in opened.values():
        context.close()


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize(("name", "path", "who"), AXE_PAGES, ids=[p[0] for p in AXE_PAGES])
def test_pages_have_no_serious_accessibility_violations(
    server: Server, audit_context: Callable[[str | None, bool], BrowserContext], profile_member_id: int, name: str, path: str, who: str | None, lang: str,
) -> None:
    """axe-core on each main page in both languages. Note: axe-core (4.14) takes Arabic words for icon-font
    ligatures and skips them in its color-contrast rule, so contrast is really checked by the English run
    (the colors are the same in both languages); the Arabic run still checks names, labels, landmarks, lang."""
    page = audit_context(who, path.startswith("/m/")).new_page()
    try:
        target = path.format(member_id=profile_member_id)
        page.goto(f"{server.url}{target}?lang={lang}")
        assert urlsplit(page.url).path == urlsplit(server.url + target).path, f"{name}: redirected to {page.url}"
        if name == "dashboard":
            page.wait_for_function(CHARTS_DRAWN)
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate(AXE_RUN)
        report = "\n".join(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['count']} elements) — {'; '.join(v['nodes'])}"
                           for v in violations)
        blocking = [v for v in violations if v["impact"] in FAILING_IMPACTS]
        assert not blocking, f"{name} ({lang}) has accessibility violations:\n{report}"
    finally:
        page.close()


# --- screenshots -----------------------------------------------------------------------------------------

SHOT_PAGES = [
    ("dashboard", "/admin", "admin"),
    ("member-profile", "/admin/members/{member_id}", "admin"),
    ("card", f"/m/{SLUG}/", "member"),
    ("rewards", f"/m/{SLUG}/rewards", "member"),
    ("history", f"/m/{SLUG}/history", "member"),
]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_screenshots_of_the_main_pages(
    browser: Browser, server: Server, admin_state: dict, member_state: dict, profile_member_id: int, lang: str,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    member_id = profile_member_id
    direction = "rtl" if lang == "ar" else "ltr"
    for who, viewport, state in (("admin", DESKTOP, admin_state), ("member", PHONE, member_state)):
        context = new_context(browser, viewport=viewport, storage_state=state)
        page = context.new_page()
        errors = watch_errors(page)
        try:
            for name, path, owner in SHOT_PAGES:
                if owner != who:
                    continue
                target = path.format(member_id=member_id)
                page.goto(f"{server.url}{target}?lang={lang}")
                assert urlsplit(page.url).path == urlsplit(server.url + target).path, f"{name}: redirected to {page.url}"
                assert page.evaluate(DIRECTION) == {"dir": direction, "lang": lang, "computed": direction}, name
                if name == "dashboard":
                    page.wait_for_function(CHARTS_DRAWN)
                page.screenshot(path=str(SHOTS / f"{name}-{lang}.png"), full_page=True)
            assert not errors, errors
        finally:
            context.close()

"""What the browser tests share: a real SMTP server, a real `wafa serve` process on a copy of one demo
database, Debian's Chromium driven by Playwright, and the steps a person takes to sign in.

The demo is seeded once per test run (`wafa demo` takes about half a minute; tests/conftest.py's
demo_sqlite, shared with the CLI tests); each test module serves its own copy of that SQLite file, so
what one module changes never shows in another's pages.
Without /usr/bin/chromium the browser modules skip, unless WAFA_TEST_BROWSER_REQUIRED is set (CI), where
they fail.
"""

from __future__ import annotations

import email
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_MEMBERS, copy_sqlite  # noqa: F401  (DEMO_MEMBERS: the browser tests count on it)

CHROMIUM = Path("/usr/bin/chromium")
REQUIRED = bool(os.environ.get("WAFA_TEST_BROWSER_REQUIRED"))
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
WAIT_MS = 15_000
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"browser tests are required here (WAFA_TEST_BROWSER_REQUIRED is set) but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason} (install it with `apt-get install -y chromium`; "
                "set WAFA_TEST_BROWSER_REQUIRED=1 to make this a failure)", allow_module_level=True)


def require_browser() -> None:
    """Called at the top of each browser test module: skip (or fail in CI) without Chromium."""
    if not CHROMIUM.is_file():
        unavailable(f"{CHROMIUM} is missing")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the test extras are installed with the project
        unavailable(f"a test dependency is missing ({exc.name})")


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


def start_mailbox() -> tuple[Mailbox, Any]:
    from aiosmtpd.controller import Controller

    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    return box, controller


# --- a real server on a copy of the demo database -----------------------------------------------------


@dataclass(frozen=True)
class Demo:
    """The demo database seeded once per test run (never served itself), and the admin API key it printed."""

    database: Path
    api_key: str


@dataclass(frozen=True)
class Server:
    url: str
    api_key: str
    log: Path
    database: Path

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


def server_env(database: Path, mailbox: Mailbox, url: str = "") -> dict[str, str]:
    env = {
        **os.environ, "WAFA_DATABASE_URL": f"sqlite:///{database}", "WAFA_LOG_LEVEL": "warning",
        "WAFA_SMTP_HOST": "127.0.0.1", "WAFA_SMTP_PORT": str(mailbox.port), "WAFA_PUBLIC_URL": url, "WAFA_COOKIE_SECURE": "auto",
    }
    for name in ("WAFA_SMTP_USERNAME", "WAFA_SMTP_PASSWORD", "WAFA_SMTP_STARTTLS"):
        env.pop(name, None)
    return env


def copy_database(demo: Demo, folder: Path) -> Path:
    """The demo's SQLite file (and its write-ahead log, if any) copied into `folder`."""
    return copy_sqlite(demo.database, folder / "wafa.db")


def serve(database: Path, mailbox: Mailbox, api_key: str) -> Iterator[Server]:
    """`wafa serve` on `database` until the generator is closed."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(database, mailbox, url)
    log = database.parent / "serve.log"
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
        yield Server(url=url, api_key=api_key, log=log, database=database)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the browser ---------------------------------------------------------------------------------------


def new_context(browser: Any, *, viewport: dict[str, int], **options: Any) -> Any:
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    return context


def watch_errors(page: Any) -> list[str]:
    """Script errors and CSP refusals of a page, to assert there are none."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    return errors


def admin_sign_in(page: Any, server: Server, *, lang: str = "en", email_address: str = ADMIN_EMAIL,
                  password: str = ADMIN_PASSWORD) -> None:
    page.goto(f"{server.url}/admin/login?lang={lang}")
    form = page.locator('form[action="/admin/login"]')
    form.locator('input[name="tenant"]').fill(SLUG)
    form.locator('input[name="email"]').fill(email_address)
    form.locator('input[name="password"]').fill(password)
    form.locator('button[type="submit"]').click()
    page.wait_for_url(f"{server.url}/admin")


def member_sign_in(page: Any, server: Server, mailbox: Mailbox, address: str) -> None:
    """The portal's sign-in: the e-mail address, then the code the SMTP server received."""
    from playwright.sync_api import expect

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


CHARTS_DRAWN = """() => {
  const canvases = [...document.querySelectorAll("canvas[data-chart]")];
  return canvases.length > 0 && !!window.Chart && canvases.every((canvas) => window.Chart.getChart(canvas));
}"""
CHART_DATA = """() => [...document.querySelectorAll("canvas[data-chart]")].map((canvas) => {
  const chart = window.Chart.getChart(canvas);
  return {id: canvas.id, type: chart.config.type, datasets: chart.data.datasets.map((d) => ({label: d.label, data: d.data}))};
})"""
DIRECTION = """() => ({dir: document.documentElement.getAttribute("dir"), lang: document.documentElement.getAttribute("lang"),
  computed: getComputedStyle(document.body).direction})"""
# The widest thing on the page, to assert nothing makes a phone scroll sideways.
PAGE_WIDTH = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + (n.any[0] ? " (" + n.any[0].message + ")" : ""))}));
}"""
# Violations of these impacts fail a page.
FAILING_IMPACTS = ("critical", "serious")


def axe_blocking(page: Any) -> tuple[list[dict], str]:
    """axe-core's critical and serious violations on the page (axe injected: the context must bypass CSP),
    and a report of all of them."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(AXE_RUN)
    report = "\n".join(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['count']} elements) — {'; '.join(v['nodes'])}"
                       for v in violations)
    return [v for v in violations if v["impact"] in FAILING_IMPACTS], report

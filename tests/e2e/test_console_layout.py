"""Every console page in a real browser, found from the app's own routes (so a new page is covered the day it
is added), with the path's ids taken from links of the demo's pages: none scrolls sideways on a phone (390 px),
none has a critical or serious accessibility fault in Arabic or English at desktop or phone size, checkboxes
sit beside their labels; screenshots of each land in test-artifacts/screenshots/.

Also: an import with bad rows reports its status and each bad row in Arabic; error pages speak the page's
language; the API reference (/v1/docs) draws from Wafa's own files alone, under the console's CSP.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.browser import (
    CHARTS_DRAWN,
    DESKTOP,
    PAGE_WIDTH,
    PHONE,
    SHOTS,
    WAIT_MS,
    Server,
    axe_blocking,
    new_context,
    require_browser,
    watch_errors,
)

require_browser()
from playwright.sync_api import Browser, Page, expect  # noqa: E402

SIZES = {"desktop": DESKTOP, "phone": PHONE}
ARABIC = re.compile(r"[\u0600-\u06ff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# A file of four purchases, three of them bad for different reasons (the line numbers count the header).
BAD_CSV = (
    "customer_id,date,amount\n"
    "C10001,2026-01-05,120.00\n"
    ",2026-01-06,50.00\n"
    "C10002,yesterday,75.00\n"
    "C10003,2026-01-07,12.3456\n"
)


def console_routes() -> list[str]:
    """The paths of the console's pages (GET routes under /admin), read from the app's router."""
    from fastapi.routing import APIRoute
    from sqlalchemy.orm import sessionmaker

    from wafa.api.app import create_app

    def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield prefix + route.path, route.methods
            elif hasattr(route, "original_router"):  # FastAPI keeps an included router as it was, with its prefix apart
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)

    app = create_app(factory=sessionmaker())
    paths = {path for path, methods in walk(app.router.routes) if "GET" in methods and (path == "/admin" or path.startswith("/admin/"))}
    return sorted(paths)


def _pattern(route: str) -> re.Pattern[str]:
    """A regex matching the links to a route, each path parameter captured."""
    parts = re.split(r"(\{[^}]+\})", route)
    return re.compile("^" + "".join(("([0-9]+)" if p.endswith(":int}") else "([^/?#]+)") if p.startswith("{") else re.escape(p)
                                    for p in parts) + "$")


# Where a page leads: its links, and the fragments htmx asks for.
LINKS = """() => [...document.querySelectorAll('a[href], [hx-get]')]
  .map((e) => new URL(e.getAttribute('href') || e.getAttribute('hx-get'), location.href).pathname)"""
# Path parameters no page links to (they arrive by e-mail): a value that is not a real one shows the page that says so.
UNLINKED = {"token": "not-a-real-token"}
# Pages with ids only a coalition's pages link to (a closed period, a statement, a partner's person's
# pages): the demo's first program, which this crawl signs in to, is not a coalition. They render in both
# languages in tests/api/web/test_coalition_console.py; crawling the demo's coalition (souq) as its
# operator and as a partner's person would put them under these layout checks too.
COALITION_ONLY = (
    "/admin/coalition/settlements/{run_id}", "/admin/coalition/statements/{statement_id}", "/admin/partner/statements/{statement_id}",
    "/admin/statements/{statement_id}.csv", "/admin/statements/{statement_id}.pdf",
)


def _upload(page: Page, server: Server, lang: str) -> int:
    """Import BAD_CSV through the console's form; the job's id."""
    page.goto(f"{server.url}/admin/imports?lang={lang}")
    page.locator('form[action="/admin/imports"] input[type="file"]').set_input_files(
        files=[{"name": "bad-rows.csv", "mimeType": "text/csv", "buffer": BAD_CSV.encode()}])
    page.locator('form[action="/admin/imports"] button[type="submit"]').click()
    page.wait_for_url(re.compile(r"/admin/imports/\d+$"))
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "done", timeout=30_000)
    return int(page.url.rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def imported(browser: Browser, server: Server, admin_state: dict) -> int:
    """An import with bad rows, made in Arabic (the demo has none; its page is a console page too)."""
    context = new_context(browser, viewport=DESKTOP, storage_state=admin_state)
    try:
        return _upload(context.new_page(), server, "ar")
    finally:
        context.close()


@pytest.fixture(scope="module")
def campaign(server: Server) -> int:
    """A coupon campaign (the demo has none; its page is a console page too)."""
    with server.api() as http:
        made = http.post("/v1/coupon-campaigns", json={"name": "Layout check", "discount": {"type": "percent", "percent": "10"}, "count": 3})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


@pytest.fixture(scope="module")
def console_pages(browser: Browser, server: Server, admin_state: dict, imported: int, campaign: int) -> list[tuple[str, str, bool]]:
    """(route, path, signed in) of every console page: the routes without parameters, then each route with
    parameters filled from a link some page already visited carries (its first such link). A page that sends a
    signed-in admin elsewhere (signing in, a forgotten password) is seen signed out."""
    routes = [route for route in console_routes() if route not in COALITION_ONLY]
    contexts = {True: new_context(browser, viewport=DESKTOP, storage_state=admin_state), False: new_context(browser, viewport=DESKTOP)}
    pages = {who: context.new_page() for who, context in contexts.items()}
    found: list[tuple[str, str, bool]] = []
    links: list[str] = []

    def visit(route: str, path: str) -> None:
        for signed_in in (True, False):
            answer = contexts[signed_in].request.get(server.url + path, max_redirects=0)
            # Downloads (CSV exports) and htmx fragments are not pages; a redirect means "not for you".
            if 300 <= answer.status < 400:
                continue
            if "text/html" not in answer.headers.get("content-type", "") or "<html" not in answer.text()[:1000].lower():
                return
            pages[signed_in].goto(server.url + path)
            links.extend(pages[signed_in].evaluate(LINKS))
            found.append((route, path, signed_in))
            return
        raise AssertionError(f"{path} redirects whether signed in or not")

    try:
        waiting = []
        for route in routes:
            if "{" not in route:
                visit(route, route)
            elif all(name.split(":")[0] in UNLINKED for name in re.findall(r"\{([^}]+)\}", route)):
                visit(route, re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda m: UNLINKED[m.group(1)], route))
            else:
                waiting.append(route)
        # A route whose ids come from a page that itself has ids needs another round.
        for _ in range(3):
            for route in list(waiting):
                pattern = _pattern(route)
                # An id rather than a word (/admin/rewards/new also matches /admin/rewards/{reward_id}).
                matching = sorted((link for link in links if pattern.match(link)),
                                  key=lambda link: not all(g.isdigit() for g in pattern.match(link).groups()))  # type: ignore[union-attr]
                path = matching[0] if matching else None
                if path is not None:
                    waiting.remove(route)
                    visit(route, path)
        assert not waiting, f"no page of the demo links to {waiting}: these console pages would go untested"
    finally:
        for context in contexts.values():
            context.close()
    assert len(found) >= 15, found
    return found


def _name(route: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", re.sub(r":[^}]*", "", route.removeprefix("/admin"))).strip("-") or "dashboard"


def _open(page: Page, server: Server, path: str, lang: str) -> None:
    page.goto(f"{server.url}{path}?lang={lang}")
    assert urlsplit(page.url).path == path, f"{path} redirected to {page.url}"
    if page.locator("canvas[data-chart]").count():
        page.wait_for_function(CHARTS_DRAWN)


CHECKBOXES_APART = """() => [...document.querySelectorAll('label')].flatMap((label) => {
  const box = label.querySelector('input[type=checkbox], input[type=radio]');
  if (!box || !box.getClientRects().length) return [];
  const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT,
    {acceptNode: (n) => n.textContent.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP});
  const text = walker.nextNode();
  if (!text) return [];
  const range = document.createRange();
  range.selectNodeContents(text);
  const words = range.getClientRects()[0], b = box.getBoundingClientRect();
  const overlap = Math.min(words.bottom, b.bottom) - Math.max(words.top, b.top);
  return overlap > 0 ? [] : [label.textContent.trim().replace(/\\s+/g, ' ').slice(0, 60)];
})"""


# Full-page screenshots of every page (for people to look at) cost a third of the crawl: taken outside CI,
# or in it with WAFA_TEST_SCREENSHOTS=1.
SCREENSHOTS = not os.environ.get("CI") or bool(os.environ.get("WAFA_TEST_SCREENSHOTS"))
# axe-core runs in both languages on a desktop and in English on a phone: what a phone changes (the menu,
# stacked forms) is the same markup in Arabic, and axe's contrast rule skips Arabic words anyway.
AXE = {("ar", "desktop"), ("en", "desktop"), ("en", "phone")}


@dataclass
class Survey:
    """What one pass over every console page, in one language at one size, found."""

    too_wide: list[str] = field(default_factory=list)
    checkboxes_apart: list[str] = field(default_factory=list)
    axe: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def survey(browser: Browser, server: Server, admin_state: dict, console_pages: list[tuple[str, str, bool]]) -> Any:
    """Each console page visited once per (language, size): its width, its checkboxes, axe-core's verdict, and a
    screenshot in test-artifacts/screenshots/console/. CSP is bypassed in these contexts so that axe can be injected."""
    done: dict[tuple[str, str], Survey] = {}
    folder = SHOTS / "console"
    folder.mkdir(parents=True, exist_ok=True)

    def survey_of(lang: str, size: str) -> Survey:
        if (lang, size) in done:
            return done[(lang, size)]
        found = done[(lang, size)] = Survey()
        contexts = {who: new_context(browser, viewport=SIZES[size], storage_state=admin_state if who else None, bypass_csp=True)
                    for who in (True, False)}
        try:
            for route, path, signed_in in console_pages:
                page = contexts[signed_in].new_page()
                try:
                    _open(page, server, path, lang)
                    width = page.evaluate(PAGE_WIDTH)
                    if width > SIZES[size]["width"]:
                        found.too_wide.append(f"{path}: {width} px")
                    found.checkboxes_apart.extend(f"{path}: {label}" for label in page.evaluate(CHECKBOXES_APART))
                    if SCREENSHOTS:
                        page.screenshot(path=str(folder / f"{_name(route)}-{lang}-{size}.png"), full_page=True)
                    if (lang, size) in AXE:
                        blocking, report = axe_blocking(page)
                        if blocking:
                            found.axe.append(f"{path}:\n{report}")
                finally:
                    page.close()
        finally:
            for context in contexts.values():
                context.close()
        return found

    return survey_of


# --- defect 8: a phone -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_no_console_page_scrolls_sideways_on_a_phone(survey: Any, lang: str) -> None:
    """At 390 px the page is no wider than the screen: tables scroll inside their own box, the sidebar is a
    compact menu, forms stack."""
    too_wide = survey(lang, "phone").too_wide
    assert not too_wide, f"console pages wider than a {PHONE['width']} px phone ({lang}): {too_wide}"


def test_the_phone_menu_opens_and_reaches_every_section(browser: Browser, server: Server, admin_state: dict) -> None:
    context = new_context(browser, viewport=PHONE, storage_state=admin_state)
    try:
        page = context.new_page()
        _open(page, server, "/admin", "en")
        nav = page.get_by_role("navigation", name="Console")
        members = nav.get_by_role("link", name="Members")
        expect(members).to_be_hidden()
        nav.get_by_text("Menu").click()
        expect(members).to_be_visible()
        members.click()
        page.wait_for_url(re.compile(r"/admin/members$"))
        # On a desktop the menu is a sidebar, always open.
        page.set_viewport_size(DESKTOP)
        _open(page, server, "/admin", "en")
        expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Members")).to_be_visible()
    finally:
        context.close()


# --- screenshots and accessibility -------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "size"), sorted(AXE))
def test_every_console_page_has_no_serious_accessibility_fault(survey: Any, lang: str, size: str) -> None:
    """axe-core on every page (and a screenshot of each). Note: axe-core takes Arabic words for icon-font
    ligatures and skips them in its color-contrast rule, so contrast is really checked by the English run."""
    faults = survey(lang, size).axe
    assert not faults, f"accessibility violations ({lang}, {size}):\n" + "\n".join(faults)


# --- defect 15: checkboxes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_checkboxes_sit_beside_their_labels(survey: Any, lang: str, size: str) -> None:
    apart = survey(lang, size).checkboxes_apart
    assert not apart, f"checkboxes not on the line of their label ({lang}, {size}): {apart}"


# --- defect 9: imports and error pages in Arabic -------------------------------------------------------------


def _outside_bdi(locator: Any) -> str:
    """The text of an element without what it quotes from the file (in <bdi>: the file's own words)."""
    return locator.evaluate("(e) => { const c = e.cloneNode(true); c.querySelectorAll('bdi, code').forEach((b) => b.remove()); "
                            "return c.textContent; }")


def test_an_import_with_bad_rows_reports_in_arabic(browser: Browser, server: Server, admin_state: dict, imported: int) -> None:
    context = new_context(browser, viewport=DESKTOP, storage_state=admin_state)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        page.goto(f"{server.url}/admin/imports/{imported}?lang=ar")
        status = page.locator("[data-status]")
        expect(status).to_have_attribute("data-status", "done")
        assert ARABIC.search(status.inner_text()) and not LATIN_WORD.search(status.inner_text()), status.inner_text()
        reasons = page.locator("#import-progress tbody tr td:nth-child(2)")
        expect(reasons).to_have_count(3)
        for text in reasons.all():
            words = _outside_bdi(text)
            assert ARABIC.search(words) and not LATIN_WORD.search(words), f"a bad row's reason is not in Arabic: {text.inner_text()!r}"
        # The list of imports says the status in Arabic too.
        page.goto(f"{server.url}/admin/imports?lang=ar")
        listed = page.locator(f'a[href="/admin/imports/{imported}"]').locator("xpath=ancestor::tr").locator("td").nth(2)
        assert ARABIC.search(listed.inner_text()) and not LATIN_WORD.search(listed.inner_text()), listed.inner_text()
        # And in English, English.
        page.goto(f"{server.url}/admin/imports/{imported}?lang=en")
        expect(page.locator("[data-status]")).to_have_text("Done")
        expect(reasons.nth(0)).to_contain_text("empty")
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize(("path", "signed_in"), [
    ("/admin/members/999999", True), ("/admin/imports/999999", True), ("/admin/no-such-page", True), ("/admin/members/abc", True),
    ("/m/demo/no-such-page", False), ("/m/no-such-shop/", False),
])
def test_error_pages_are_in_the_pages_language(browser: Browser, server: Server, admin_state: dict, path: str, signed_in: bool) -> None:
    context = new_context(browser, viewport=PHONE, storage_state=admin_state if signed_in else None)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        answer = page.goto(f"{server.url}{path}?lang=ar")
        assert answer is not None and answer.status >= 400, (path, answer and answer.status)
        text = page.locator("main").inner_text()
        assert ARABIC.search(text) and not LATIN_WORD.search(text), f"{path}: the error page is not all Arabic: {text!r}"
        assert page.evaluate(PAGE_WIDTH) <= PHONE["width"]
        # The way back works (a javascript: link is refused by the CSP).
        back = page.locator("main a").first
        assert not (back.get_attribute("href") or "").startswith("javascript:")
        back.click()
        page.wait_for_load_state()
        # Chromium reports the page's own error status as a failed load; any other error counts.
        assert not [e for e in errors if "Failed to load resource" not in e], errors
    finally:
        context.close()


# --- defect 13: the API reference offline ----------------------------------------------------------------------


def test_the_api_reference_draws_from_wafas_own_files_offline(browser: Browser, server: Server) -> None:
    context = new_context(browser, viewport=DESKTOP)
    outside: list[str] = []
    origin = server.url

    def only_wafa(route: Any) -> None:
        if route.request.url.startswith(origin + "/") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_wafa)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        answer = page.goto(f"{server.url}/v1/docs")
        assert answer is not None and answer.status == 200
        assert "script-src 'self'" in (answer.headers.get("content-security-policy") or ""), answer.headers
        # Building the OpenAPI document takes the server a few seconds the first time.
        expect(page.locator(".opblock").first).to_be_visible(timeout=WAIT_MS)
        expect(page.locator(".opblock-summary-path", has_text="/v1/members").first).to_be_visible()
        assert not outside, f"the API reference asked for files outside Wafa: {outside}"
        assert not errors, errors
    finally:
        context.close()

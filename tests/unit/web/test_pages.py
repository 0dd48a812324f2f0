"""Rendering pages safely: values from the outside are text, never markup, in pages and in the JSON
blocks that carry chart data; every page carries the security headers."""

from __future__ import annotations

import json

from starlette.requests import Request

from wafa.web.i18n import Lang
from wafa.web.pages import _json_script, render

ATTACK = '<script>alert("x")</script>'


def request(path: str = "/m/shop/login") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"", "headers": [],
                    "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 5000), "root_path": ""})


def test_chart_data_cannot_close_its_script_block() -> None:
    """A member's or reward's name in chart JSON cannot end the <script> element or open a tag, and reads back the same."""
    text = str(_json_script({"labels": [ATTACK, "a & b", "قهوة"]}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"labels": [ATTACK, "a & b", "قهوة"]}


def test_pages_carry_the_security_headers() -> None:
    """Every page forbids framing and foreign scripts and is not cached."""
    page = render(request(), "error.html", lang=Lang("en"), status=404, status_code=404, detail=None)
    assert page.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self'")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert (page.headers["x-frame-options"], page.headers["x-content-type-options"], page.headers["cache-control"]) == ("DENY", "nosniff", "no-store")


XSS = "templates/error.html `{{ _(detail) }}`: newstyle gettext returns Markup, so a problem's detail is inserted unescaped"


def test_an_error_pages_detail_is_text_not_markup() -> None:
    """A problem whose detail quotes what someone typed shows it as text: no script gets into the page."""
    page = render(request(), "error.html", lang=Lang("en"), status=422, status_code=422, detail=f"{ATTACK} is not an e-mail address")
    assert ATTACK not in page.body.decode()
    assert "&lt;script&gt;" in page.body.decode()


def test_an_error_pages_detail_may_contain_a_percent_sign() -> None:
    """A detail such as "at most 100% off" renders as written instead of failing the error page itself."""
    page = render(request(), "error.html", lang=Lang("en"), status=422, status_code=422, detail="a discount is at most 100% off")
    assert "at most 100% off" in page.body.decode()

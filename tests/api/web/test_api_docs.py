"""The API reference (/v1/docs) is Wafa's own page: Swagger UI from the npm package Wafa serves itself,
started by a script file, under the console's CSP (no inline script, nothing from another site)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from wafa.web.pages import CSP


def test_docs_page_loads_only_wafas_own_files_under_the_csp(client: TestClient) -> None:
    page = client.get("/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    # Every script is a file: the CSP (script-src 'self') refuses inline ones.
    assert all(attrs.strip().startswith("src=") for attrs in re.findall(r"<script([^>]*)>", page.text)), page.text
    assert not re.search(r"<script[^>]*>\s*[^<\s]", page.text)


def test_docs_assets_are_served_with_their_types(client: TestClient) -> None:
    for path, kind in (("/static/vendor/swagger-ui-bundle.js", "text/javascript"), ("/static/vendor/swagger-ui.css", "text/css"),
                       ("/static/api-docs.js", "text/javascript")):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith(kind), (path, answer.headers["content-type"])
    assert client.get("/v1/openapi.json").json()["paths"]


def test_docs_page_is_not_in_the_openapi_document(client: TestClient) -> None:
    assert "/v1/docs" not in client.get("/v1/openapi.json").json()["paths"]

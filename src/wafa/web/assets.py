"""Static files: Wafa's own (web/static) and the front-end libraries installed from npm at install time,
served by Wafa itself, so that pages work offline and no CDN sees a visitor."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from wafa.config import get_settings

STATIC = Path(__file__).parent / "static"
# The file each library is served from, inside node_modules.
VENDOR = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    # The API reference (/v1/docs).
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
}
MEDIA = {".js": "text/javascript", ".css": "text/css"}

router = APIRouter(include_in_schema=False)


def node_modules() -> Path:
    configured = get_settings().assets_dir
    if configured:
        return Path(configured)
    # An editable install (the quick start) keeps node_modules at the project root, beside src/.
    return Path(__file__).resolve().parents[3] / "node_modules"


def missing() -> list[str]:
    """Libraries that were not installed (`npm install` did not run): the server says so at start."""
    root = node_modules()
    return [name for name, path in VENDOR.items() if not (root / path).is_file()]


CACHE = {"Cache-Control": "public, max-age=86400"}


@router.get("/static/vendor/{name}")
def vendor(name: str) -> FileResponse:
    path = VENDOR.get(name)
    if path is None or not (node_modules() / path).is_file():
        raise HTTPException(404, f"no front-end library {name!r} (run npm install)")
    return FileResponse(node_modules() / path, media_type=MEDIA[Path(name).suffix], headers=CACHE)


# The API reference: Swagger UI from Wafa's own files, started by a script file (the CSP allows no inline
# script, which FastAPI's default page has), so it works offline and no CDN sees who reads it.
DOCS = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Wafa API reference</title>
  <link rel="icon" href="/static/icon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/vendor/swagger-ui.css">
</head>
<body>
  <main id="swagger-ui" data-openapi="/v1/openapi.json"></main>
  <script src="/static/vendor/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""


@router.get("/v1/docs")
def api_docs() -> HTMLResponse:
    from wafa.web.pages import protect

    response = HTMLResponse(DOCS)
    protect(response)
    return response


@router.get("/static/{name}")
def own(name: str) -> FileResponse:
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or not path.is_file():
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(path, headers=CACHE)

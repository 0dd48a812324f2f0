"""Static files: Wafa's own (web/static) and the front-end libraries installed from npm at install time,
served by Wafa itself, so that pages work offline and no CDN sees a visitor."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from wafa.config import get_settings

STATIC = Path(__file__).parent / "static"
# The file each library is served from, inside node_modules.
VENDOR = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}

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
    return FileResponse(node_modules() / path, media_type="text/javascript", headers=CACHE)


@router.get("/static/{name}")
def own(name: str) -> FileResponse:
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or not path.is_file():
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(path, headers=CACHE)

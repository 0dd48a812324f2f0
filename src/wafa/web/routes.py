"""Mounts the console, the portal and their static files on the app."""

from __future__ import annotations

from fastapi import FastAPI

from wafa.web import assets
from wafa.web.admin import audit_trail, auth, dashboard, members
from wafa.web.pages import install_error_pages


def install(app: FastAPI) -> None:
    for module in (assets, auth, dashboard, members, audit_trail):
        app.include_router(module.router)
    install_error_pages(app)

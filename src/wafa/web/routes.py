"""Mounts the console, the portal and their static files on the app."""

from __future__ import annotations

from fastapi import FastAPI

from wafa.web import assets
from wafa.web.admin import audit_trail, auth, catalog, dashboard, engagement, imports, members, program, rules
from wafa.web.pages import install_error_pages
from wafa.web.portal import auth as portal_auth
from wafa.web.portal import pages as portal_pages


def install(app: FastAPI) -> None:
    for module in (assets, auth, dashboard, members, rules, catalog, program, imports, engagement, audit_trail, portal_auth, portal_pages):
        app.include_router(module.router)
    from wafa.web.admin import passwords, people  # people and their passwords (issue 14)

    for module in (passwords, people):
        app.include_router(module.router)
    from wafa.web.admin import coupons, surveys  # coupon campaigns and surveys after creation (issue 14)

    for module in (coupons, surveys):
        app.include_router(module.router)
    from wafa.web.admin import goals  # program goals (issue 14)

    app.include_router(goals.router)
    install_error_pages(app)

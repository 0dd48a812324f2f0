"""Mounts the console, the portal and their static files on the app."""

from __future__ import annotations

from fastapi import FastAPI

from wafa.web import assets
from wafa.web.admin import anomalies, audit_trail, auth, catalog, dashboard, engagement, imports, members, offers, program, reviews, rules
from wafa.web.pages import install_error_pages
from wafa.web.portal import auth as portal_auth
from wafa.web.portal import pages as portal_pages
from wafa.web.portal import unsubscribe as portal_unsubscribe


def install(app: FastAPI) -> None:
    from wafa.web.admin import (
        campaigns,
        coalition,
        coupons,
        experiments,
        goals,
        messaging,
        partner_pages,
        passwords,
        people,
        stores,
        surveys,
        webhooks,
    )

    for module in (
        assets, auth, dashboard, members, rules, catalog, program, imports, engagement, audit_trail, portal_auth, portal_pages,
        passwords, people, coupons, surveys, goals, webhooks, messaging, campaigns, portal_unsubscribe, coalition, partner_pages, anomalies,
        reviews, offers, stores, experiments,
    ):
        app.include_router(module.router)
    install_error_pages(app)

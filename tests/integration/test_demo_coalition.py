"""The demo's coalition (tenant `souq`, seeded by `wafa demo` beside the single-brand demo): four partners
with their stores, offers and console people, members enrolled through each, a ledger that verifies,
one closed month whose statements sum to zero, and points earned at one partner spent at another."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select

from tests.conftest import factory_for
from wafa import demo, demo_coalition
from wafa.coalition import service as coalition
from wafa.coalition import settlement
from wafa.db import unit_of_work
from wafa.ledger import money, verify
from wafa.ledger.models import Entry
from wafa.members.models import Member
from wafa.rewards import catalog
from wafa.tenants import admin_users
from wafa.tenants import service as tenants
from wafa.tenants.roles import PARTNER


def test_the_demo_coalition_has_four_partners_with_stores_offers_and_people(demo_url: str) -> None:
    factory = factory_for(demo_url)
    with unit_of_work(factory) as session:
        tenant = tenants.get_by_slug_or_raise(session, slug=demo_coalition.SLUG)
        assert coalition.get_settings(session, tenant_id=tenant.id) is not None
        partners = coalition.list_(session, tenant_id=tenant.id)
        assert sorted(p.key for p in partners) == ["bayt", "darb", "qahwa", "shifa"]
        assert all(p.status == "active" and p.currency == "SAR" and p.period == "monthly" for p in partners)
        by_key = {p.key: p for p in partners}
        assert (by_key["shifa"].own_points_name, by_key["shifa"].own_points_rate) == ("Shifa stars", 10)
        stores = Counter(s.partner_id for s in coalition.stores_of(session, tenant_id=tenant.id))
        assert stores[by_key["qahwa"].id] >= 3 and all(stores[p.id] >= 1 for p in partners)  # a café chain
        offers = {r.partner_id for r in catalog.list_(session, tenant_id=tenant.id, statuses=("active",), after_id=None, limit=100)}
        assert {p.id for p in partners} <= offers
        # Each partner's person signs in to the console with the password `wafa demo` prints.
        for partner in partners:
            (person,) = admin_users.list_(session, tenant_id=tenant.id, partner_id=partner.id)
            assert person.role == PARTNER
            signed_in = admin_users.authenticate(session, tenant_id=tenant.id, email=person.email, password=demo.DEMO_ADMIN_PASSWORD,
                                                 now=datetime.now(UTC))
            assert signed_in.partner_id == partner.id
        # Members joined through every partner.
        joined = session.execute(
            select(Member.partner_id, func.count()).where(Member.tenant_id == tenant.id).group_by(Member.partner_id)
        ).all()
        assert {partner_id for partner_id, _ in joined} == {p.id for p in partners}


def test_the_demo_coalition_ledger_verifies_and_its_closed_month_sums_to_zero(demo_url: str) -> None:
    with factory_for(demo_url)() as session:
        tenant = tenants.get_by_slug_or_raise(session, slug=demo_coalition.SLUG)
        report = verify.verify(session, tenant_id=tenant.id)
        assert report.ok, report.problems
        assert report.entries > 300 and report.lots > 0
        (run,) = settlement.list_runs(session, tenant_id=tenant.id)  # one closed month; the rest stays open
        statements = settlement.statements_of_run(session, tenant_id=tenant.id, run_id=run.id)
        assert sum(s.net for s in statements) == 0
        partner_ids = {p.id for p in coalition.list_(session, tenant_id=tenant.id)}
        assert {s.partner_id for s in statements} == partner_ids | {None}  # every partner's, and the operator's
        assert all(s.points_issued > 0 for s in statements if s.partner_id is not None)
        assert sum(s.points_redeemed for s in statements) > 0
        assert run.starts_at >= tenant.created_at  # a month the history covers whole


def test_the_demo_coalition_earns_at_one_partner_and_spends_at_another(demo_url: str) -> None:
    with factory_for(demo_url)() as session:
        tenant = tenants.get_by_slug_or_raise(session, slug=demo_coalition.SLUG)
        flows = money.flows(session, tenant_id=tenant.id, start=None, end=datetime.now(UTC))
        across = {(earned, spent): points for earned, spent, points in flows if earned and spent and earned != spent}
        assert len(across) >= 6 and sum(across.values()) > 1000, flows
        kinds = Counter(session.execute(
            select(Entry.kind).where(Entry.tenant_id == tenant.id, Entry.partner_id.is_not(None))
        ).scalars())
        # Purchases, spending, returns, exchanges of the pharmacy's own points, and its partners' cashback.
        assert all(kinds[kind] > 0 for kind in ("earn", "redeem", "reverse", "convert", "cashback")), kinds
        wallet_spends = session.execute(
            select(func.count()).select_from(Entry).where(
                Entry.tenant_id == tenant.id, Entry.kind == "redeem", Entry.partner_id.is_not(None), Entry.points == 0,
            )
        ).scalar_one()
        assert wallet_spends > 0

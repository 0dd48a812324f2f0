"""0026: tier, segment and plan keys stored in another case (or by a tier's English name) in rewards and
rules' conditions become the program's own keys; a key the program does not have stays as it is."""

from __future__ import annotations

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.conftest import TenantCtx, factory_for
from wafa.db import unit_of_work
from wafa.migrate import alembic_config, upgrade
from wafa.rewards.models import Reward
from wafa.rules.models import RuleVersion


def test_migration_0026_canonical_targeting_keys_known_fixed_unknown_kept(db_url: str, client: TestClient, tenant: TenantCtx) -> None:
    for key, name_en, rank, threshold in (("silver", "Silver", 1, "1000"), ("gold", "Gold Club", 2, "5000")):
        tier = {"key": key, "name_en": name_en, "name_ar": "فئة", "rank": rank, "threshold": threshold}
        assert client.post("/v1/tiers", json=tier).status_code == 201
    assert client.post("/v1/membership-plans", json={"key": "plus", "name_en": "Plus", "name_ar": "بلس", "interval": "month",
                                                     "price": "29.00"}).status_code == 201
    assert client.post("/v1/segments", json={"key": "vip", "name_en": "VIP", "name_ar": "كبار", "conditions": [
        {"type": "rfm_segment", "any_of": ["champions"]}]}).status_code == 201
    reward = client.post("/v1/rewards", json={"key": "lounge", "name_en": "Lounge", "name_ar": "صالة", "points": 10,
                                              "gives": {"type": "gift", "sku": "X"}}).json()
    rule = client.post("/v1/rules", json={"name_en": "Gold bonus", "name_ar": "مكافأة", "trigger": "purchase", "status": "draft",
                                          "conditions": [{"type": "tier", "any_of": ["gold"]}],
                                          "actions": [{"type": "fixed_points", "points": 5}]}).json()
    factory = factory_for(db_url)
    with unit_of_work(factory) as session:  # as older versions (or a hand-made import) left them
        session.execute(update(Reward).where(Reward.id == reward["id"]).values(
            tiers=["Gold", "gold club", "ذهبي", "gold"], segments=["Champions", "VIP", "Potential loyalists", "Somebody"],
            plans=["PLUS", "gone"]))
        session.execute(update(RuleVersion).where(RuleVersion.rule_id == rule["id"]).values(definition={
            **session.execute(select(RuleVersion.definition).where(RuleVersion.rule_id == rule["id"])).scalar_one(),
            "conditions": [{"type": "all", "conditions": [{"type": "tier", "any_of": ["GOLD", "Silver", "ذهبي"]}]},
                           {"type": "not", "condition": {"type": "segment", "any_of": ["Champions", "vip", "nobody"]}},
                           {"type": "channel", "any_of": ["Online"]}]}))

    engine = factory.kw["bind"]
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0025")  # 0026 only fills data: going down and up again runs it
    upgrade(engine, "head")

    with unit_of_work(factory) as session:
        row = session.get_one(Reward, reward["id"], populate_existing=True)
        assert row.tiers == ["gold", "ذهبي"]
        assert row.segments == ["champions", "vip", "potential_loyalists", "Somebody"]
        assert row.plans == ["plus", "gone"]
        conditions = session.execute(select(RuleVersion.definition).where(RuleVersion.rule_id == rule["id"])).scalar_one()["conditions"]
    assert conditions == [{"type": "all", "conditions": [{"type": "tier", "any_of": ["gold", "silver", "ذهبي"]}]},
                          {"type": "not", "condition": {"type": "segment", "any_of": ["champions", "vip", "nobody"]}},
                          {"type": "channel", "any_of": ["Online"]}]

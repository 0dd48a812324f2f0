"""canonical targeting keys: rewards' and rules' tiers, segments and plans as the program's own keys

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

# The segments every program has, as they were when this revision was written (analytics/rfm.py and
# analytics/audiences.py): a migration must not change with later code.
_RFM = {"champions": "Champions", "loyal": "Loyal", "potential_loyalists": "Potential loyalists", "new": "New",
        "at_risk": "At risk", "cant_lose_them": "Can't lose them", "hibernating": "Hibernating", "lost": "Lost"}
_ABC = ("abc_a", "abc_b", "abc_c")

_rewards = sa.table('rewards', sa.column('id', sa.BigInteger), sa.column('tenant_id', sa.BigInteger), sa.column('tiers', sa.JSON),
                    sa.column('segments', sa.JSON), sa.column('plans', sa.JSON))
_versions = sa.table('rule_versions', sa.column('id', sa.BigInteger), sa.column('tenant_id', sa.BigInteger),
                     sa.column('definition', sa.JSON))


def _known(bind) -> dict[int, dict[str, dict[str, str]]]:
    """Per tenant, per kind of key: every way of writing a key in lower case -> the program's own key (a tier
    also by its English name, an RFM segment by its name, as the domain reads them; a key wins over a name)."""
    known: dict[int, dict[str, dict[str, str]]] = {}

    def of(tenant_id: int) -> dict[str, dict[str, str]]:
        return known.setdefault(tenant_id, {
            "tiers": {}, "plans": {},
            "segments": {name.lower(): key for key, name in _RFM.items()} | {key: key for key in (*_RFM, *_ABC)},
        })

    tiers = bind.execute(sa.text("SELECT tenant_id, key, name_en FROM tiers")).all()
    for tenant_id, key, name_en in tiers:
        if name_en:
            of(tenant_id)["tiers"].setdefault(name_en.strip().lower(), key)
    for tenant_id, key, _ in tiers:
        of(tenant_id)["tiers"][key.lower()] = key
    for tenant_id, key in bind.execute(sa.text("SELECT tenant_id, key FROM custom_segments")).all():
        of(tenant_id)["segments"][key.lower()] = key
    for tenant_id, key in bind.execute(sa.text("SELECT tenant_id, key FROM membership_plans")).all():
        of(tenant_id)["plans"][key.lower()] = key
    return known


def _canonical(keys, known: dict[str, str]):
    """The keys as the program's own where one matches in any case, unknown ones as they are, without repeats."""
    if not isinstance(keys, list):
        return keys
    out: list = []
    for key in keys:
        found = known.get(key.strip().lower(), key) if isinstance(key, str) else key
        if found not in out:
            out.append(found)
    return out


def _conditions(node, known: dict[str, dict[str, str]]):
    """A rule condition (and the conditions of its all/any/not groups) with its tier and segment keys canonical."""
    if isinstance(node, list):
        return [_conditions(item, known) for item in node]
    if not isinstance(node, dict):
        return node
    out = dict(node)
    if out.get('type') in ('tier', 'segment') and 'any_of' in out:
        out['any_of'] = _canonical(out['any_of'], known['tiers' if out['type'] == 'tier' else 'segments'])
    for name in ('conditions', 'condition'):
        if name in out:
            out[name] = _conditions(out[name], known)
    return out


def upgrade() -> None:
    # Rewards and rules saved before keys were checked may name a tier, segment or plan in another case
    # ("Gold"): the console's pickers could not tick it, and a save dropped the targeting. Each becomes the
    # program's own key; a key no program has is left as it is (the console shows it, with a warning).
    bind = op.get_bind()
    known = _known(bind)
    empty: dict[str, dict[str, str]] = {"tiers": {}, "plans": {}, "segments": {}}
    for row in bind.execute(sa.select(_rewards)).all():
        keys = known.get(row.tenant_id, empty)
        fixed = {name: _canonical(getattr(row, name), keys[name]) for name in ('tiers', 'segments', 'plans')}
        if any(fixed[name] != getattr(row, name) for name in fixed):
            bind.execute(sa.update(_rewards).where(_rewards.c.id == row.id).values(**fixed))
    for row in bind.execute(sa.select(_versions)).all():
        definition = row.definition
        if not isinstance(definition, dict) or 'conditions' not in definition:
            continue
        fixed = {**definition, 'conditions': _conditions(definition['conditions'], known.get(row.tenant_id, empty))}
        if fixed != definition:
            bind.execute(sa.update(_versions).where(_versions.c.id == row.id).values(definition=fixed))


def downgrade() -> None:
    # Nothing to undo: the canonical keys mean what the old spellings meant.
    pass

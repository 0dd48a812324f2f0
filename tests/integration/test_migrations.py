"""The migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.conftest import factory_for
from wafa.all_models import Account  # noqa: F401
from wafa.db import Base


def test_migrated_schema_matches_models(db_url: str) -> None:
    engine = factory_for(db_url).kw["bind"]
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []

"""Alembic environment: runs migrations on the connection Wafa hands it (or WAFA_DATABASE_URL)."""

from alembic import context

from wafa.all_models import Account  # noqa: F401  (registers every table)
from wafa.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None, "wafa.migrate sets sqlalchemy.url when it hands no connection"
    engine = make_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()

"""Engine, sessions and column types shared by every domain's models."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import JSON, BigInteger, CursorResult, DateTime, Engine, Integer, Result, Table, create_engine, event, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String, TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL wants 64 bits.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        # Every model here is mapped to a Table (DeclarativeBase types it as any FromClause).
        __table__: ClassVar[Table]


def chain_hash_py(prev: str | None, payload: str) -> str:
    """The hash chain step: sha256 over the previous hash and this posting's payload, hex."""
    return hashlib.sha256(((prev or "") + payload).encode()).hexdigest()


class chain_hash(FunctionElement[str]):
    """SQL form of chain_hash_py, so a balance update computes the new chain head itself."""

    type = String()
    inherit_cache = True


@compiles(chain_hash, "postgresql")
def _chain_hash_pg(element, compiler, **kw):
    prev, payload = list(element.clauses)
    prev_sql, payload_sql = compiler.process(prev, **kw), compiler.process(payload, **kw)
    return f"encode(sha256(convert_to(coalesce({prev_sql}, '') || {payload_sql}, 'UTF8')), 'hex')"


@compiles(chain_hash, "sqlite")
def _chain_hash_sqlite(element, compiler, **kw):
    return f"wafa_chain_hash({compiler.process(element.clauses, **kw)})"


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    dbapi_conn.create_function("wafa_chain_hash", 2, chain_hash_py, deterministic=True)
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside the single writer; busy_timeout queues writers instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL with Wafa's connection settings: `pool_size`
    connections kept open, up to `max_overflow` (as many again by default) more while busy."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_on_connect)

        # pysqlite's own transaction handling defers BEGIN; take the write lock up front
        # so a read-then-write transaction cannot deadlock against another writer.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn, _record):
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size if max_overflow is None else max_overflow, pool_pre_ping=False)


@lru_cache
def _factory(url: str, pool_size: int) -> sessionmaker[Session]:
    return sessionmaker(make_engine(url, pool_size=pool_size), expire_on_commit=False)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """The session factory of this process for a database URL (default: from settings)."""
    from wafa.config import get_settings

    settings = get_settings()
    return _factory(url or settings.database_url, settings.db_pool_size)


@contextmanager
def autocommit_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose statements each commit on their own: for work that is one statement."""
    with factory.kw["bind"].connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        with Session(bind=connection) as session:
            yield session
            session.commit()  # nothing to send; fires the after-commit hooks (metrics)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise



def on_commit(session: Session, action: Callable[[], object]) -> None:
    """Run `action` once the session's transaction commits (say, dropping a cache its writes made stale); what it returns is ignored."""
    session.info.setdefault("on_commit", []).append(action)


@event.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    for action in session.info.pop("on_commit", ()):
        action()
    # Rows opened by the transaction are committed now: later transactions of the session may cache them.
    session.info.pop("opened_owners", None)
    session.info.pop("opened_wallets", None)


@event.listens_for(Session, "after_rollback")
def _drop_on_commit(session: Session) -> None:
    session.info.pop("on_commit", None)
    session.info.pop("opened_owners", None)
    session.info.pop("opened_wallets", None)


def insert_or_skip(session: Session, model, *, conflict: list[str], where=None):
    """INSERT ... ON CONFLICT DO NOTHING on the model's table, in the session's database dialect (values
    come with the statement or, for many rows at once, with `session.execute(statement, rows)`)."""
    # On the table, not the mapped class: Core DML skips the ORM's per-statement bookkeeping.
    table = getattr(model, "__table__", model)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=conflict, index_where=where)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing(index_elements=conflict, index_where=where)


def add_to_row(session: Session, model, *, key: list[str], adding: list[str]):
    """INSERT ... ON CONFLICT (key) DO UPDATE SET column = column + new value, for each of `adding`: a
    running total kept in one round trip whether or not its row exists (values come with the statement
    or, for many rows, with `session.execute(statement, rows)`)."""
    table = getattr(model, "__table__", model)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    statement = dialect_insert(table)
    return statement.on_conflict_do_update(
        index_elements=key, set_={name: table.c[name] + statement.excluded[name] for name in adding}
    )


def insert_unless_exists(session: Session, model, values: dict, *, conflict: list[str], where=None, returning=()):
    """INSERT ... ON CONFLICT DO NOTHING on either database; returns the result (no row on conflict)."""
    table = getattr(model, "__table__", model)
    stmt = insert_or_skip(session, model, conflict=conflict, where=where).values(**values)
    if returning:
        stmt = stmt.returning(*(table.c[column.key] for column in returning))
    return session.execute(stmt)


def bulk_insert(
    session: Session, model, rows: list[dict], *, conflict: list[str] | None = None, where: str | None = None,
    returning: tuple[str, ...] = (),
) -> list[tuple]:
    """Insert many rows at once, skipping conflicts on `conflict` (with the partial index's `where`), and
    return `returning` of the rows inserted. PostgreSQL: COPY into a temporary table, then one INSERT ...
    SELECT ... ON CONFLICT DO NOTHING (a multi-row VALUES statement of 10,000 rows spends most of its time
    being parsed). SQLite: executemany."""
    if not rows:
        return []
    table = getattr(model, "__table__", model)
    columns = list(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        statement = insert_or_skip(session, model, conflict=conflict, where=text(where) if where else None) if conflict else table.insert()
        if returning:
            statement = statement.returning(*(table.c[name] for name in returning))
            return [tuple(row) for row in session.execute(statement, rows).all()]
        session.execute(statement, rows)
        return []
    from psycopg.types.json import Json

    names = ", ".join(columns)
    raw = session.connection().connection.driver_connection
    assert raw is not None  # the session's connection is live: it was just handed out
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}

    def cell(name: str, value: object) -> object:
        return Json(value) if name in json_columns and value is not None else value

    with raw.cursor() as cursor:
        if conflict is None and not returning:
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([cell(name, row[name]) for name in columns])
            return []
        # S608: the table, column and conflict names and `where` come from the calling code, never from input; values go through COPY.
        staging = f"bulk_{table.name}"
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DROP AS SELECT {names} FROM {table.name} WITH NO DATA")  # noqa: S608
        cursor.execute(f"TRUNCATE {staging}")
        with cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([cell(name, row[name]) for name in columns])
        on_conflict = ""
        if conflict:
            on_conflict = f" ON CONFLICT ({', '.join(conflict)})" + (f" WHERE {where}" if where else "") + " DO NOTHING"
        cursor.execute(
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {staging}{on_conflict}"  # noqa: S608
            + (f" RETURNING {', '.join(returning)}" if returning else "")
        )
        return [tuple(row) for row in cursor.fetchall()] if returning else []


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched: `Session.execute` returns a CursorResult for those, though typed as a Result."""
    return cast("CursorResult[Any]", result).rowcount


def in_chunks(values: list, size: int = 5000) -> Iterator[list]:
    """`values` in slices for `IN (...)` lists: one bound parameter each, so stay under the drivers' limits."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def bucket_of(column, edges: list[datetime]):
    """SQL: the index of the span [edges[i], edges[i+1]) that `column` falls in (NULL outside them all),
    for charts over time in one scan. Group by it from a subquery: PostgreSQL will not match a GROUP BY
    term holding bound parameters with the selected one."""
    from sqlalchemy import case

    whens = [(column < edge, index) for index, edge in enumerate(edges[1:])]
    return case(*whens, else_=None) if whens else None

"""The process cache of tenant configuration (program, rules, tiers, plans, achievements, event types,
API keys). It holds committed values only, and a transaction that changes one drops it in every process
as it commits: on PostgreSQL by a NOTIFY each process listens for, on SQLite by a version per tenant and
name (`config_versions`) that each lookup compares with the one it cached.

    rules = cache.get(session, tenant_id=7, name="rules", load=lambda: read_rules(session))
    cache.changed(session, tenant_id=7, name="rules")  # in the transaction that changes them
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import weakref
from collections.abc import Callable, Hashable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, bindparam, event, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction

from wafa.db import on_commit
from wafa.tenants.models import ConfigVersion

log = logging.getLogger(__name__)

T = TypeVar("T")
CHANNEL = "wafa_config"
# Past this many values a store starts again (API keys are many; config is a few per tenant).
MAX_ENTRIES = 100_000
# How often the listener looks up from waiting for notifications to see whether it should stop.
POLL_SECONDS = 0.1
# The first and the longest wait before the listener connects again.
RETRY_SECONDS = (0.2, 5.0)
# The listener's connection: named in pg_stat_activity; a dead peer is noticed within ~25 s.
LISTENER_OPTIONS: dict[str, Any] = {
    "application_name": "wafa-cache-listener", "connect_timeout": 5,
    "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
}
_CHANGED = "config_changed"  # session.info: {(tenant_id, name)} this transaction changed
_VERSIONS = "config_versions"  # session.info (SQLite): {tenant_id: {name: version}} this transaction read
_READ_VERSIONS = select(ConfigVersion.__table__.c.name, ConfigVersion.__table__.c.version).where(
    ConfigVersion.__table__.c.tenant_id == bindparam("tenant_id")
)


def payload(tenant_id: int, name: str) -> str:
    """The notification text for a change to `name` of a tenant."""
    return f"{tenant_id}:{name}"


def parse_payload(text: str) -> tuple[int, str] | None:
    """(tenant_id, name) of a notification, or None if it is not one of ours."""
    tenant, _, name = text.partition(":")
    if not name or not tenant.isdigit():
        return None
    return int(tenant), name


@dataclass(frozen=True, slots=True)
class Entry:
    """A cached value, the tenant it belongs to and (SQLite) the version it was read at."""

    tenant_id: int
    value: Any
    version: int = 0


class Store:
    """One database's cached values in this process; no database access. A reader takes `generation()`
    before loading and `put` keeps the value only if nothing was invalidated meanwhile, so a value read
    before a change committed never outlives the invalidation. Not `live`: nothing is read or kept."""

    def __init__(self, *, live: bool) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, Hashable], Entry] = {}
        self._keys: dict[tuple[int, str], set[Hashable]] = {}  # (tenant_id, name) -> its entries' keys
        self._generation = 0
        self._live = live

    @property
    def live(self) -> bool:
        return self._live

    def __len__(self) -> int:
        return len(self._entries)

    def read(self, name: str, key: Hashable) -> Entry | None:
        """The entry under (name, key), if the store is live and holds one."""
        with self._lock:
            return self._entries.get((name, key)) if self._live else None

    def generation(self) -> int | None:
        """The count of invalidations so far, to hand back to `put`; None when not live."""
        with self._lock:
            return self._generation if self._live else None

    def put(self, generation: int, name: str, key: Hashable, entry: Entry) -> bool:
        """Keep `entry` unless something was invalidated since `generation`; whether it was kept."""
        with self._lock:
            if not self._live or generation != self._generation:
                return False
            if len(self._entries) >= MAX_ENTRIES:
                self._clear()
            self._entries[(name, key)] = entry
            self._keys.setdefault((entry.tenant_id, name), set()).add(key)
            return True

    def invalidate(self, tenant_id: int, name: str) -> None:
        """Drop every entry of `name` of the tenant."""
        with self._lock:
            self._generation += 1
            for key in self._keys.pop((tenant_id, name), ()):
                self._entries.pop((name, key), None)

    def reset(self, *, live: bool) -> None:
        """Drop everything; keep values from now on only if `live`."""
        with self._lock:
            self._clear()
            self._live = live

    def _clear(self) -> None:
        self._entries.clear()
        self._keys.clear()
        self._generation += 1


@dataclass(frozen=True, slots=True)
class ListenerState:
    """How a database's cache hears of changes: `live` when its values may be served, `connections`
    made so far and the listening backend's pid (PostgreSQL; SQLite is always live, with no listener)."""

    live: bool
    connections: int
    backend_pid: int | None


class _Listener:
    """A daemon thread holding one autocommit connection that LISTENs on CHANNEL and drops what each
    notification names. Until it listens, and whenever its connection is lost, the store is not live:
    a notification may have been missed, so nothing cached is trusted until it listens again."""

    def __init__(self, store: Store, connect_args: tuple[Sequence[str], MutableMapping[str, Any]]) -> None:
        self.store = store
        self._args, self._params = connect_args
        self.stopped = threading.Event()
        self.connections = 0
        self.backend_pid: int | None = None
        self.thread = threading.Thread(target=self._run, name="wafa-cache-listener", daemon=True)
        self.thread.start()

    def stop(self, *, wait: bool) -> None:
        """Stop listening; the connection closes within POLL_SECONDS (`wait`: before this returns)."""
        self.stopped.set()
        if wait and self.thread is not threading.current_thread():
            self.thread.join(timeout=10 * POLL_SECONDS)

    def _run(self) -> None:
        import psycopg

        failures = 0
        while not self.stopped.is_set():
            try:
                with psycopg.connect(*self._args, **{**self._params, **LISTENER_OPTIONS}, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    self.store.reset(live=True)  # what changed while nobody listened is read again
                    self.connections += 1
                    failures = 0
                    while not self.stopped.is_set():
                        for note in conn.notifies(timeout=POLL_SECONDS):
                            self._apply(note.payload)
            except psycopg.Error as exc:
                if self.store.live:
                    log.warning("the config cache lost its listener (%s); reading from the database until it is back", exc)
                else:
                    log.info("the config cache's listener cannot connect: %s", exc)
            finally:
                self.store.reset(live=False)
                self.backend_pid = None
            self.stopped.wait(min(RETRY_SECONDS[0] * 2**failures, RETRY_SECONDS[1]))
            failures += 1

    def _apply(self, text: str) -> None:
        change = parse_payload(text)
        if change is None:
            self.store.reset(live=True)  # not understood: forget everything rather than guess
        else:
            self.store.invalidate(*change)


class _Database:
    """A database's store in this process and, on PostgreSQL, its listener (started on first use)."""

    def __init__(self, engine: Engine) -> None:
        self.pid = os.getpid()
        self.pushed = engine.dialect.name == "postgresql"
        self.store = Store(live=not self.pushed)
        self.listener: _Listener | None = None
        self._connect_args = engine.dialect.create_connect_args(engine.url) if self.pushed else None
        self._lock = threading.Lock()

    def listen(self) -> None:
        listener = self.listener
        if listener is not None and listener.thread.is_alive():
            return
        with self._lock:
            if self.listener is None or not self.listener.thread.is_alive():
                assert self._connect_args is not None  # a pushed database has them
                self.store = Store(live=False)
                self.listener = _Listener(self.store, self._connect_args)

    def stop(self, wait: bool = True) -> None:
        with self._lock:
            listener, self.listener = self.listener, None
            # A new store: the old listener may still mark its own one live or not as it winds down.
            self.store = Store(live=not self.pushed)
        if listener is not None:
            listener.stop(wait=wait)

    def version(self, session: Session, tenant_id: int, name: str) -> int | None:
        """The version of (tenant_id, name) the session's transaction sees (always 0 on PostgreSQL); None
        outside a transaction on SQLite, where a value and its version might not belong together."""
        if self.pushed:
            return 0
        raw = session.connection().connection.driver_connection
        if not getattr(raw, "in_transaction", False):
            return None
        seen = session.info.setdefault(_VERSIONS, {})
        versions = seen.get(tenant_id)
        if versions is None:
            versions = seen[tenant_id] = dict(session.execute(_READ_VERSIONS, {"tenant_id": tenant_id}).all())
        return versions.get(name, 0)


_databases: weakref.WeakKeyDictionary[Engine, _Database] = weakref.WeakKeyDictionary()
_registry = threading.Lock()


def _database(engine: Engine, *, listen: bool = True) -> _Database:
    found = _databases.get(engine)
    if found is None or found.pid != os.getpid():  # new, or inherited across a fork (without its thread)
        with _registry:
            found = _databases.get(engine)
            if found is None or found.pid != os.getpid():
                found = _databases[engine] = _Database(engine)
                if not event.contains(engine, "engine_disposed", _disposed):
                    event.listen(engine, "engine_disposed", _disposed)
                weakref.finalize(engine, found.stop, False)  # garbage collected: no waiting
    if listen and found.pushed:
        found.listen()
    return found


def _disposed(engine: Engine) -> None:
    """Engine.dispose(): stop listening (the database may be about to be dropped); the next use listens again."""
    found = _databases.get(engine)
    if found is not None:
        found.stop()


def _changed_in(session: Session) -> set[tuple[int, str]]:
    return session.info.get(_CHANGED, set())


def get(session: Session, *, tenant_id: int, name: str, load: Callable[[], T], key: Hashable = None) -> T:
    """The cached `name` of the tenant (one of several under it by `key`), else what `load` returns,
    kept until a change to (tenant_id, name) commits. A transaction that changed it always loads."""
    if (tenant_id, name) in _changed_in(session):
        return load()
    database = _database(session.get_bind().engine)
    store = database.store
    version = database.version(session, tenant_id, name)
    if version is None:
        return load()
    slot = (tenant_id, key)
    hit = store.read(name, slot)
    if hit is not None and hit.version == version:
        return hit.value
    generation = store.generation()
    value = load()
    if generation is not None:
        store.put(generation, name, slot, Entry(tenant_id, value, version))
    return value


def get_by_key(session: Session, *, name: str, key: Hashable, load: Callable[[], tuple[int, T]]) -> T:
    """Like `get` for a value found by a key that names no tenant (an API key's hash): `load` returns the
    tenant the value belongs to with it, or raises; a change to (that tenant, name) drops it."""
    changed = _changed_in(session)
    database = _database(session.get_bind().engine)
    store = database.store
    hit = store.read(name, key)
    if (
        hit is not None and (hit.tenant_id, name) not in changed
        and hit.version == database.version(session, hit.tenant_id, name)
    ):
        return hit.value
    generation = store.generation()
    tenant_id, value = load()
    version = database.version(session, tenant_id, name)  # the same transaction: it belongs with the value
    if generation is not None and version is not None and (tenant_id, name) not in changed:
        store.put(generation, name, key, Entry(tenant_id, value, version))
    return value


def peek(*, name: str, key: Hashable) -> Any | None:
    """A value `get_by_key` cached, without a session or a query: only from a database that tells this
    process of changes (PostgreSQL); None otherwise, and on SQLite, whose version needs a read."""
    with _registry:
        databases = list(_databases.values())
    for database in databases:
        if database.pushed and database.pid == os.getpid():
            hit = database.store.read(name, key)
            if hit is not None:
                return hit.value
    return None


def changed(session: Session, *, tenant_id: int, name: str) -> None:
    """Record in the session's transaction that it changed `name` of the tenant: when it commits, every
    process drops what it cached (a rollback drops nothing); until then this session reads it afresh."""
    database = _database(session.get_bind().engine, listen=False)  # a process that only writes need not listen
    session.info.setdefault(_CHANGED, set()).add((tenant_id, name))
    if database.pushed:
        # Delivered to the listeners only if the transaction commits.
        session.execute(select(func.pg_notify(CHANNEL, payload(tenant_id, name))))
    else:
        session.info.get(_VERSIONS, {}).pop(tenant_id, None)
        # A random version, not a count: it never comes back, even if the table is made anew.
        version = secrets.randbits(62) + 1
        session.execute(
            sqlite_insert(ConfigVersion.__table__)
            .values(tenant_id=tenant_id, name=name, version=version)
            .on_conflict_do_update(index_elements=["tenant_id", "name"], set_={"version": version})
        )
    on_commit(session, lambda: database.store.invalidate(tenant_id, name))


def listener_state(engine: Engine) -> ListenerState:
    """How `engine`'s cache hears of changes now (starting its listener if it has none): for health checks and tests."""
    database = _database(engine)
    listener = database.listener
    if listener is None:
        return ListenerState(database.store.live, 0, None)
    return ListenerState(database.store.live, listener.connections, listener.backend_pid)


@event.listens_for(Session, "after_transaction_end")
def _forget_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
        session.info.pop(_VERSIONS, None)

"""Engines and sessions for SQLite (default, a file) and PostgreSQL (``postgresql+psycopg://``).

Two roles:
- ``writer`` (the indexer): SQLite transactions start with ``BEGIN IMMEDIATE``, so a writer waits on the busy
  timeout instead of failing on a lock upgrade; PostgreSQL runs READ COMMITTED (one writer per chain anyway).
- ``reader`` (the API): every transaction is a consistent snapshot. SQLite in WAL mode gives that from the first
  read of an explicit ``BEGIN``; PostgreSQL runs REPEATABLE READ, read-only. Read the ``chains`` row and the data
  inside one session/transaction (:func:`snapshot_session`) and the envelope matches the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, create_engine

Role = Literal["writer", "reader"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: The writer's page cache (KiB; 8 MB: 64 MB took the 1M-event backfill to 292 MB of RSS, over its 256 MB bound; 16 MB
#: to 261 MB once the writer kept up with a faster fetch side, 251 MB with 8 MB. Since migration 0006 `events` and
#: `changes` are appended in key order, so the cache mostly serves the state tables' random pages)
#: and WAL size (pages) before an automatic checkpoint (SQLite's defaults: 2 MB,
#: 1,000 pages). Larger values speed up backfill batches; readers keep the defaults.
SQLITE_WRITER_CACHE_KIB = 8_192
SQLITE_WRITER_CHECKPOINT_PAGES = 10000


#: PostgreSQL error codes worth another try: serialization failure, deadlock, the server shutting down or
#: starting, too many connections (class 08, connection exceptions, is matched by prefix).
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03", "53300"})


def is_transient(exc: BaseException) -> bool:
    """Would the same transaction likely succeed if tried again? Connection loss, serialization failures and
    deadlocks, a server restarting, SQLite's "database is locked". Anything else is a real error."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith("08") or sqlstate in TRANSIENT_SQLSTATES
    if not isinstance(exc, OperationalError):
        return False
    if type(exc.orig).__module__.startswith("psycopg"):
        return True  # no SQLSTATE: the client lost or could not open the connection
    message = str(exc.orig).lower()
    return "database is locked" in message or "database is busy" in message


def normalize_url(url: str) -> str:
    """Accept the usual spellings (``postgres://``, ``postgresql://``) and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(normalize_url(engine_or_url))
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for in-memory or non-SQLite URLs)."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def create_db_engine(url: str, *, role: Role = "reader", echo: bool = False) -> Engine:
    """An engine for ``url`` set up for ``role`` (see the module docstring)."""
    url = normalize_url(url)
    if is_sqlite(url):
        return _sqlite_engine(url, role=role, echo=echo)
    options: dict[str, Any] = {"pool_pre_ping": True, "echo": echo}
    if role == "reader":
        options["isolation_level"] = "REPEATABLE READ"
        options["execution_options"] = {"postgresql_readonly": True}
    return create_engine(url, **options)


def _sqlite_engine(url: str, *, role: Role, echo: bool) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    begin = "BEGIN IMMEDIATE" if role == "writer" else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (it would not BEGIN before a SELECT, so reads
        # would not be snapshots) and issue BEGIN ourselves below. SQLAlchemy's documented pysqlite recipe.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if path is not None:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if role == "writer":
            # A backfill batch inserts thousands of rows into indexes keyed by random hashes: with SQLite's
            # default 2 MB page cache most index pages are read back from the OS for every batch. A larger cache
            # and fewer, larger WAL checkpoints cut that; neither changes what a commit guarantees.
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_WRITER_CACHE_KIB}")
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WRITER_CHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


@contextmanager
def snapshot_session(engine: Engine) -> Iterator[Session]:
    """A session whose reads all see one consistent snapshot (use a ``reader`` engine). Never commits."""
    with Session(engine) as session:
        try:
            yield session
        finally:
            session.rollback()

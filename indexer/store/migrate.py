"""Schema migrations, runnable from an installed package (no alembic.ini needed).

Several processes may start at once on a fresh database: :func:`upgrade` serialises them (PostgreSQL: an advisory
lock held by the migration's own transaction; SQLite: an exclusive ``flock`` next to the database file, around
a transaction that is ``BEGIN IMMEDIATE`` anyway), so whichever gets there first migrates and the others find the
schema at head.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

from indexer.store.db import sqlite_path
from indexer.store.lock import advisory_key

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of ``engine``'s database to ``revision`` (idempotent)."""
    config = alembic_config()
    with _migration_lock(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            schema = connection.execute(text("SELECT current_schema()")).scalar() or ""
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(f"migrate:{schema}")}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """SQLite: hold ``<database>.migrate.lock`` (blocking) while migrating; no-op elsewhere."""
    path = sqlite_path(str(engine.url)) if engine.dialect.name == "sqlite" else None
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with Path(f"{path}.migrate.lock").open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()

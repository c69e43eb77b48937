"""Alembic environment: runs on the connection :func:`indexer.store.migrate.upgrade` passes in, or on the URL
from ``alembic.ini`` / ``DM3_DATABASE_URL`` / ``DATABASE_URL`` when run from the ``alembic`` command."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from indexer.store import models, relay_models  # noqa: F401  (register the tables on SQLModel.metadata)
from indexer.store.db import create_db_engine

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    return (
        os.environ.get("DM3_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
        or "sqlite:///./data/dm3.db"
    )


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(_url(), role="writer")
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()

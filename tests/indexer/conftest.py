"""Fixtures for the indexer suite: anvil nodes as subprocesses, deployed contracts, SQLite/PostgreSQL URLs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from indexer_support import Anvil, Devnet, contract_types
from sqlalchemy import text

from indexer.store.db import create_db_engine

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def compiled(project: Any) -> dict[str, dict[str, Any]]:
    return contract_types(project)


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    node = Anvil(chain_id=31_010)
    yield node
    node.stop()


@pytest.fixture
def devnet(anvil: Anvil, compiled: dict[str, dict[str, Any]]) -> Devnet:
    net = Devnet(anvil, compiled)
    net.fund()
    return net


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/dm3.db"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema per test (dropped afterwards); skips only when no server answers."""
    base = os.environ.get("DM3_TEST_DATABASE_URL", PG_DEFAULT)
    admin = create_db_engine(base, role="writer")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure means: no server to test against
        admin.dispose()
        pytest.skip(f"PostgreSQL at {base} unreachable ({type(exc).__name__}); set DM3_TEST_DATABASE_URL")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()

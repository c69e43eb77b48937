"""Migration 0005 (relay rows in `changes`) on a 0004 database with rows, on SQLite and PostgreSQL: the rows keep
their ids, the next id follows them, relay rows with no block fit, the event key still holds; and back down."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from harness.fixtures import downgrade
from indexer.relayer import feed
from indexer.store import models
from indexer.store.db import create_db_engine
from indexer.store.migrate import current_revision, upgrade

CHANGES = models.Change.__table__  # type: ignore[attr-defined]


def _event(log_index: int) -> dict[str, Any]:
    return {
        "action": "apply",
        "chain_id": 1,
        "block_number": 5,
        "block_hash": "0x" + "11" * 32,
        "tx_hash": "0x" + "22" * 32,
        "log_index": log_index,
        "occurrence": 0,
        "event": "Deposited",
        "kind": "deposit",
        "args": {"bond": "1"},
    }


_RELAY = {
    "action": "relay",
    "chain_id": 1,
    "occurrence": 0,
    "event": "queued",
    "kind": "relay",
    "signer": "0x" + "a1" * 20,
    "args": {"id": "r1"},
}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0005__up_with_rows_and_down(backend: str, tmp_path: Any, request: Any) -> None:
    url = f"sqlite:///{tmp_path}/old.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = create_db_engine(url, role="writer")
    upgrade(engine, "0004")
    before = sa.table(
        "changes", *(sa.column(c.name, c.type) for c in CHANGES.c if c.name not in ("id", "signer"))
    )
    with engine.begin() as conn:
        conn.execute(before.insert(), [_event(0), _event(1)])
    upgrade(engine, "0005")
    assert current_revision(engine) == "0005"
    with engine.begin() as conn:
        feed.append(conn, [{**_RELAY, "ref_id": None}])
    with engine.connect() as conn:
        rows = conn.execute(select(CHANGES.c.id, CHANGES.c.action, CHANGES.c.block_hash).order_by("id")).all()
    assert [tuple(r) for r in rows] == [
        (1, "apply", "0x" + "11" * 32),
        (2, "apply", "0x" + "11" * 32),
        (3, "relay", None),
    ]
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the event key still holds
        conn.execute(CHANGES.insert(), [_event(1)])
    with engine.begin() as conn:  # and relay rows, all NULL in it, never collide
        feed.append(conn, [{**_RELAY, "ref_id": None}])
    names = {ix["name"] for ix in inspect(engine).get_indexes("changes")}
    assert {"ix_changes_chain_block", "ix_changes_ref"} <= names
    if backend == "sqlite":
        with engine.connect() as conn:
            ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'changes'")).scalar()
        assert "AUTOINCREMENT" in str(ddl)

    downgrade(engine, "0004")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM changes ORDER BY id")).scalars().all() == [1, 2]
    with pytest.raises(IntegrityError), engine.begin() as conn:  # NOT NULL again
        conn.execute(
            text(
                "INSERT INTO changes (action, chain_id, event, kind, args, occurrence) "
                "VALUES ('relay', 1, 'queued', 'relay', '{}', 0)"
            )
        )
    upgrade(engine)
    engine.dispose()

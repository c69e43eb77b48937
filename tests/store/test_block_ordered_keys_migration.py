"""Migration 0006 (the unique keys of `events` and `changes` led by the block number) on a 0005 database with rows,
on SQLite and PostgreSQL: rows keep their ids, the next id follows them, each key still refuses a second row of the
same log, relay rows still never collide, the rollback's lookups use the new indexes; and back down."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from harness.fixtures import downgrade
from indexer.relayer import feed
from indexer.store import models
from indexer.store.db import create_db_engine
from indexer.store.migrate import current_revision, upgrade

EVENTS = models.Event.__table__  # type: ignore[attr-defined]
CHANGES = models.Change.__table__  # type: ignore[attr-defined]
BLOCK_HASH = "0x" + "11" * 32


def _event(log_index: int, *, tx: str = "22") -> dict[str, Any]:
    return {
        "chain_id": 1,
        "block_number": 5,
        "block_hash": BLOCK_HASH,
        "tx_hash": "0x" + tx * 32,
        "log_index": log_index,
        "contract": "deposits",
        "address": "0x" + "33" * 20,
        "event": "Deposited",
        "args": {"bond": "1"},
    }


def _change(log_index: int, *, action: str = "apply", ref_id: int | None = None) -> dict[str, Any]:
    return {
        "action": action,
        "ref_id": ref_id,
        "chain_id": 1,
        "block_number": 5,
        "block_hash": BLOCK_HASH,
        "tx_hash": "0x" + "22" * 32,
        "log_index": log_index,
        "occurrence": 0,
        "event": "Deposited",
        "kind": "deposit",
        "args": {"bond": "1"},
    }


_RELAY = {
    "action": "relay",
    "ref_id": None,
    "chain_id": 1,
    "occurrence": 0,
    "event": "queued",
    "kind": "relay",
    "signer": "0x" + "a1" * 20,
    "args": {"id": "r1"},
}


def _keys(engine: Engine, table: str) -> dict[str, list[str]]:
    """Unique constraints and indexes of ``table`` by name -> columns."""
    inspector = inspect(engine)
    out = {u["name"]: list(u["column_names"]) for u in inspector.get_unique_constraints(table)}
    out |= {ix["name"]: list(ix["column_names"]) for ix in inspector.get_indexes(table) if ix["name"]}
    return out


def _ids(engine: Engine, table: str) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text(f"SELECT id FROM {table} ORDER BY id")).scalars())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0006__up_with_rows_and_down(backend: str, tmp_path: Any, request: Any) -> None:
    url = f"sqlite:///{tmp_path}/old.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = create_db_engine(url, role="writer")
    upgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(EVENTS.insert(), [_event(0), _event(1)])
        conn.execute(CHANGES.insert(), [_change(0), _change(1)])
        conn.execute(CHANGES.insert(), [_change(1, action="rollback", ref_id=2)])
        feed.append(conn, [_RELAY])

    upgrade(engine)
    assert current_revision(engine) == "0006"
    assert _ids(engine, "events") == [1, 2]
    assert _ids(engine, "changes") == [1, 2, 3, 4]
    events, changes = _keys(engine, "events"), _keys(engine, "changes")
    assert events == {"uq_events_chain_block_log": ["chain_id", "block_number", "log_index"]}
    assert changes == {
        "uq_changes_event": ["chain_id", "block_number", "block_hash", "log_index", "action", "occurrence"],
        "ix_changes_ref": ["ref_id"],
    }
    with engine.begin() as conn:  # the next ids follow the rows kept
        conn.execute(EVENTS.insert(), [_event(2)])
        conn.execute(CHANGES.insert(), [_change(2)])
        feed.append(conn, [_RELAY])  # relay rows, all NULL in the key, never collide
    assert _ids(engine, "events") == [1, 2, 3]
    assert _ids(engine, "changes") == [1, 2, 3, 4, 5, 6]
    for table, row in ((EVENTS, _event(1, tx="44")), (CHANGES, _change(1, action="rollback", ref_id=2))):
        with pytest.raises(IntegrityError), engine.begin() as conn:  # the same log twice: refused
            conn.execute(table.insert(), [row])
    if backend == "sqlite":
        with engine.connect() as conn:
            for name in ("events", "changes"):
                ddl = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}
                ).scalar()
                assert "AUTOINCREMENT" in str(ddl)
            # The rollback's lookups: a rollback row by its apply row (the partial index), rows after a fork.
            plans = {
                "ref": "SELECT 1 FROM changes WHERE ref_id = 2",
                "changes": "SELECT id FROM changes WHERE chain_id = 1 AND block_number > 4",
                "events": "DELETE FROM events WHERE chain_id = 1 AND block_number > 4",
            }
            used = {
                what: " ".join(str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
                for what, sql in plans.items()
            }
        assert "ix_changes_ref" in used["ref"]
        assert "sqlite_autoindex_changes" in used["changes"]
        assert "sqlite_autoindex_events" in used["events"]

    downgrade(engine, "0005")
    assert _keys(engine, "events") == {
        "uq_events_chain_tx_log": ["chain_id", "tx_hash", "log_index"],
        "ix_events_chain_block": ["chain_id", "block_number"],
    }
    assert _keys(engine, "changes") == {
        "uq_changes_event": ["chain_id", "block_hash", "log_index", "action", "occurrence"],
        "ix_changes_chain_block": ["chain_id", "block_number"],
        "ix_changes_ref": ["ref_id"],
    }
    assert _ids(engine, "events") == [1, 2, 3]
    upgrade(engine)
    assert current_revision(engine) == "0006"
    engine.dispose()

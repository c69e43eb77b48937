"""The bulk write path (executemany of tuples on SQLite; COPY and unnest on PostgreSQL) leaves every table exactly
as the row-by-row SQLAlchemy path does: same rows, same ids, same undo log and change feed, through a backfill, a
reorg and its repair."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from sqlalchemy import JSON, DateTime, select, text, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.types import NullType

from harness.devnet import Devnet, cs
from harness.indexer import address_node, fresh_engine, run_scenario, sync_ok
from indexer.store import bulk, models
from indexer.store.db import create_db_engine
from indexer.store.writer import ChainWriter

#: Columns that hold who wrote and when (wall-clock times, the lock holder's host and pid), not indexed data.
_UNCOMPARED = {"holder"}


def _every_table(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table as the database stores it (JSON columns parsed: their text may differ in
    spacing; a Uint256 stays the stored text on SQLite, whose zero padding makes SQL comparisons work)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in models.SQLModel.metadata.sorted_tables:
            cols = [
                c if isinstance(c.type, JSON) else type_coerce(c, NullType())
                for c in table.c
                if not isinstance(c.type, DateTime) and c.name not in _UNCOMPARED
            ]
            rows = conn.execute(select(*cols)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def _index(engines: dict[str, Engine], spec: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", 1)  # COPY and staging tables for every batch, however small
    for path, engine in engines.items():
        monkeypatch.setattr(ChainWriter, "bulk_path", path)
        sync_ok(engine, [spec])


@pytest.fixture
def pg_urls() -> Iterator[list[str]]:
    """Two fresh PostgreSQL schemas (like the pg_url fixture, which gives one)."""
    base = os.environ.get("DM3_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_db_engine(base, role="writer")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {base} unreachable ({type(exc).__name__}); set DM3_TEST_DATABASE_URL")
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield [f"{base}{sep}options=-csearch_path%3D{schema}" for schema in schemas]
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bulk_path__every_table_equals_row_path(
    devnet: Devnet, backend: str, tmp_path: Any, request: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = (
        [f"sqlite:///{tmp_path}/rows.db", f"sqlite:///{tmp_path}/bulk.db"]
        if backend == "sqlite"
        else request.getfixturevalue("pg_urls")
    )
    engines = {"rows": fresh_engine(urls[0]), "bulk": fresh_engine(urls[1])}
    a = devnet.accounts[1]
    # A text key and value that are not UTF-8 or hold NUL (stored as U+FFFD, raw bytes kept in key_hex), and a
    # uint256 beyond 64 bits.
    selector = keccak(text="setText(bytes32,string,string)")[:4]
    node = bytes.fromhex(address_node(a)[2:])
    data = selector + abi_encode(["bytes32", "bytes", "bytes"], [node, b"k\xff", b"a\x00b"])
    tx = devnet.anvil.rpc(
        "eth_sendTransaction", [{"from": a, "to": devnet.registry.address, "data": "0x" + data.hex()}]
    )
    assert devnet.anvil.receipt(tx)["status"] == "0x1"
    assert devnet.send(devnet.deposits, a, "set_min_deposit", 2**200)
    run_scenario(devnet, seed=11, steps=60)
    # A state row with a Uint256 in its key overwritten inside the undo window (its undo entry holds the row
    # before), then three blocks for the reorg to replace.
    for raw in (b"\x01" * 20, b"\x02" * 20):
        assert devnet.send(devnet.registry, a, "setAddrForCoin", node, 2**70, raw)
    for amount in (1, 2, 3):
        assert devnet.send(devnet.deposits, a, "deposit", cs(devnet.accounts[2]), amount)
    head = devnet.anvil.block_number()
    # Many small batches; the older half of the blocks without undo entries, the newer half with.
    spec = devnet.spec(initial_block_range=5, max_block_range=9, concurrency=2, reorg_window=head // 2)
    _index(engines, spec, monkeypatch)

    # A reorg replaces the last blocks: rollback rows in the feed, state restored from the undo log.
    devnet.anvil.rpc(
        "anvil_reorg", [3, [[devnet.tx_request(devnet.deposits, a, "deposit", cs(devnet.accounts[2]), 7), 0]]]
    )
    _index(engines, spec, monkeypatch)

    rows, bulk = (_every_table(e) for e in engines.values())
    assert len(rows["events"]) > 60 and rows["changes"] and rows["undo_log"] and rows["bond_history"]
    assert any(r[1] == "rollback" for r in rows["changes"])  # (id, action, ...)
    assert any("\ufffd" in str(r) for r in rows["text_records"])
    assert any(r[3] == "addr_records" and r[5] and r[5]["coin_type"] == 2**70 for r in rows["undo_log"])
    for name in rows:
        assert bulk[name] == rows[name], name
    for engine in engines.values():
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bulk_insert__rows_already_there__skipped_like_on_conflict_do_nothing(
    backend: str, tmp_path: Any, request: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The COPY of an append-only table runs in a savepoint: a row already stored (the checkpoint invariant
    rules it out, but the row path tolerates it) rolls the COPY back and the rows go through ON CONFLICT DO
    NOTHING, in the same transaction, which stays usable."""
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", 1)
    engine = fresh_engine(
        f"sqlite:///{tmp_path}/dm3.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    )
    writer = bulk.BulkWriter(engine.dialect, {"events": models.Event.__table__})  # type: ignore[attr-defined]

    def event(log_index: int) -> dict[str, Any]:
        return {
            "chain_id": 1,
            "block_number": 5,
            "block_hash": "0x" + "aa" * 32,
            "tx_hash": "0x" + "bb" * 32,
            "log_index": log_index,
            "contract": "registry",
            "address": "0x" + "cc" * 20,
            "event": "Transfer",
            "args": {"node": "0x" + "dd" * 32, "owner": "0x" + "ee" * 20},
        }

    key = ("chain_id", "block_number", "log_index")  # uq_events_chain_block_log
    with engine.begin() as conn:
        writer.insert(conn, "events", [event(0), event(1)], conflict="nothing", key=key)
    with engine.begin() as conn:
        writer.insert(conn, "events", [event(1), event(2)], conflict="nothing", key=key)
        stored = conn.execute(select(models.Event.log_index).order_by(models.Event.id)).scalars().all()  # type: ignore[attr-defined]
    assert stored == [0, 1, 2]
    engine.dispose()

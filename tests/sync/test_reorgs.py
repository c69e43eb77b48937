"""Reorgs made with anvil_reorg: after repair the database equals a fresh index of the same chain."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from harness.devnet import Devnet, cs
from harness.indexer import (
    assert_matches_views,
    bond_amount,
    chain_row,
    dump,
    fresh_engine,
    index_once,
    run_scenario,
    sync_ok,
)
from indexer.store import models
from indexer.sync.errors import ReorgTooDeep
from indexer.sync.runner import index_chains

WINDOW = 12


def _max_event_id(engine: Any) -> int:
    with engine.connect() as conn:
        events = models.Event.__table__  # type: ignore[attr-defined]
        return int(conn.execute(select(func.max(events.c.id))).scalar_one())


def _assert_equals_fresh_index(devnet: Devnet, engine: Any, tmp_path: Any, spec: Any) -> None:
    fresh = fresh_engine(f"sqlite:///{tmp_path}/fresh.db")
    sync_ok(fresh, [spec])
    assert dump(engine, devnet.anvil.chain_id) == dump(fresh, devnet.anvil.chain_id)


@pytest.mark.parametrize("depth", [1, 5, WINDOW])
def test_reorg__removes_a_deposit__db_equals_fresh_index(
    devnet: Devnet, sqlite_url: str, tmp_path: Any, depth: int
) -> None:
    touched = run_scenario(devnet, seed=10 + depth, steps=30)
    sender, recipient = devnet.accounts[7], devnet.accounts[8]
    for _ in range(depth - 1):
        run_scenario(devnet, seed=depth, steps=1, touched=touched)  # more events inside the reorged blocks
    assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 5 * 10**18)  # the newest block
    touched.pairs.add((sender, recipient))
    spec = devnet.spec(reorg_window=WINDOW, initial_block_range=4, concurrency=3)
    engine = fresh_engine(sqlite_url)
    sync_ok(engine, [spec])
    assert bond_amount(engine, sender, recipient) == 5 * 10**18

    devnet.anvil.rpc("anvil_reorg", [depth, []])  # the last `depth` blocks are replaced by empty ones
    sync_ok(engine, [spec])

    assert bond_amount(engine, sender, recipient) is None
    assert chain_row(engine, devnet.anvil.chain_id)["reorg_count"] == 1
    assert_matches_views(devnet, engine, touched)
    _assert_equals_fresh_index(devnet, engine, tmp_path, spec)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_reorg__replaces_a_deposit_with_another_event(
    devnet: Devnet, tmp_path: Any, backend: str, request: Any
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    touched = run_scenario(devnet, seed=21, steps=20)
    sender, recipient, other = devnet.accounts[7], devnet.accounts[8], devnet.accounts[9]
    assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 3 * 10**18)
    devnet.anvil.mine(2)
    touched.pairs |= {(sender, recipient), (sender, other)}
    touched.recipients.add(recipient)
    spec = devnet.spec(reorg_window=WINDOW)
    engine = fresh_engine(url)
    sync_ok(engine, [spec])
    assert bond_amount(engine, sender, recipient) == 3 * 10**18

    # Same depth, different history: the deposit goes to `other`, and the recipient sets a price instead.
    replacement = [
        [devnet.tx_request(devnet.deposits, sender, "deposit", cs(other), 7), 0],
        [devnet.tx_request(devnet.deposits, recipient, "set_min_deposit", 42), 1],
    ]
    last_id = _max_event_id(engine)
    devnet.anvil.rpc("anvil_reorg", [3, replacement])
    sync_ok(engine, [spec])
    # The change cursor never goes back: re-applied blocks get ids above every id handed out before.
    with engine.connect() as conn:
        events = models.Event.__table__  # type: ignore[attr-defined]
        reapplied = conn.execute(
            select(events.c.id).where(events.c.block_number > spec.start_block + 0)
        ).scalars()
        new_ids = [i for i in reapplied if i > last_id]
    assert len(new_ids) == 2

    assert bond_amount(engine, sender, recipient) is None
    assert bond_amount(engine, sender, other) == 7
    assert_matches_views(devnet, engine, touched)
    _assert_equals_fresh_index(devnet, engine, tmp_path, spec)


def test_reorg__deeper_than_window__stops_the_chain(devnet: Devnet, sqlite_url: str) -> None:
    run_scenario(devnet, seed=31, steps=WINDOW + 10)
    spec = devnet.spec(reorg_window=WINDOW)
    engine = fresh_engine(sqlite_url)
    sync_ok(engine, [spec])
    before = dump(engine, devnet.anvil.chain_id)

    devnet.anvil.rpc("anvil_reorg", [WINDOW + 1, []])
    outcome = index_once(engine, [spec])

    assert isinstance(outcome["op"], ReorgTooDeep)
    row = chain_row(engine, devnet.anvil.chain_id)
    assert row["status"] == "stopped"
    assert f"reorg deeper than the {WINDOW}-block window" in row["error"]
    assert dump(engine, devnet.anvil.chain_id) == before  # nothing half-repaired


def test_reorg__while_following_the_head__repaired_live(
    devnet: Devnet, sqlite_url: str, tmp_path: Any
) -> None:
    touched = run_scenario(devnet, seed=41, steps=15)
    sender, recipient = devnet.accounts[7], devnet.accounts[8]
    spec = devnet.spec(reorg_window=WINDOW, poll_interval=0.05)
    engine = fresh_engine(sqlite_url)
    chain_id = devnet.anvil.chain_id

    def latest_hash() -> str:
        return str(devnet.anvil.rpc("eth_getBlockByNumber", ["latest", False])["hash"])

    async def wait_for(predicate: Any, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(predicate):
            assert time.monotonic() < deadline, "indexer did not catch up"
            await asyncio.sleep(0.05)

    async def scenario() -> dict[str, Any]:
        stop = asyncio.Event()
        task = asyncio.create_task(index_chains([spec], engine=engine, follow=True, stop=stop))
        await wait_for(lambda: chain_row(engine, chain_id).get("indexed_block_hash") == latest_hash())
        await asyncio.to_thread(devnet.send, devnet.deposits, sender, "deposit", cs(recipient), 10**18)
        await wait_for(lambda: bond_amount(engine, sender, recipient) == 10**18)
        await asyncio.to_thread(devnet.anvil.rpc, "anvil_reorg", [2, []])
        await wait_for(lambda: chain_row(engine, chain_id).get("indexed_block_hash") == latest_hash())
        stop.set()
        return await task

    outcome = asyncio.run(scenario())
    assert outcome == {"op": None}
    assert bond_amount(engine, sender, recipient) is None
    assert chain_row(engine, chain_id)["reorg_count"] == 1
    touched.pairs.add((sender, recipient))
    assert_matches_views(devnet, engine, touched)
    _assert_equals_fresh_index(devnet, engine, tmp_path, spec)

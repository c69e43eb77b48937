"""Head following: a newHeads websocket wakes the indexer at once; blocks whose bloom rules out our contracts cost
no eth_getLogs; the poll interval follows the chain's block time."""

from __future__ import annotations

import time
from typing import Any

from harness.devnet import Devnet, cs
from harness.fault_proxy import FaultProxy
from harness.indexer import BackgroundIndexer, bond_amount, fresh_engine
from indexer.sync.heads import BlockPace, derive_ws_url


def _wait(predicate: Any, timeout: float) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, f"not within {timeout} s"
        time.sleep(0.01)
    return time.monotonic() - started


def test_derive_ws_url__loopback_only() -> None:
    assert derive_ws_url("http://127.0.0.1:8545") == "ws://127.0.0.1:8545"
    assert derive_ws_url("https://localhost:8545/rpc") == "wss://localhost:8545/rpc"
    assert derive_ws_url("https://opt-mainnet.example.org/v2/key") is None


def test_block_pace__half_the_block_time_clamped() -> None:
    pace = BlockPace(minimum=0.1, maximum=2.0)
    assert pace.interval == 2.0  # nothing observed yet
    for i in range(41):  # 250 ms blocks: four blocks share each one-second timestamp
        pace.observe(100 + i, 1_000 + i // 4)
    assert pace.block_time is not None and abs(pace.block_time - 0.25) < 0.01
    assert pace.interval == 0.125
    slow = BlockPace(minimum=0.1, maximum=2.0)
    slow.observe(1, 0)
    slow.observe(2, 12)
    assert slow.interval == 2.0


def test_websocket__new_block_indexed_without_waiting_for_the_poll(devnet: Devnet, sqlite_url: str) -> None:
    spec = devnet.spec(poll_interval=30.0, ws_poll_interval=30.0)  # polling alone would take up to 30 s
    engine = fresh_engine(sqlite_url)
    sender, recipient = devnet.accounts[7], devnet.accounts[8]
    with BackgroundIndexer(engine, [spec]) as indexer:
        indexer.wait_for_head(devnet.anvil)
        time.sleep(0.5)  # the follow loop is waiting now
        for amount in (10**18, 2 * 10**18):
            assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 10**18)
            took = _wait(lambda a=amount: bond_amount(engine, sender, recipient) == a, timeout=2.0)
            assert took < 2.0


def test_websocket__unavailable__falls_back_to_polling(devnet: Devnet, sqlite_url: str) -> None:
    proxy = FaultProxy(devnet.anvil.url)  # HTTP only: the derived ws:// URL answers 405, so the indexer polls
    try:
        spec = devnet.spec(rpc_url=proxy.url, poll_interval=0.1)
        engine = fresh_engine(sqlite_url)
        sender, recipient = devnet.accounts[7], devnet.accounts[8]
        with BackgroundIndexer(engine, [spec]) as indexer:
            indexer.wait_for_head(devnet.anvil)
            assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 10**18)
            _wait(lambda: bond_amount(engine, sender, recipient) == 10**18, timeout=5.0)
    finally:
        proxy.stop()


def test_bloom__blocks_without_our_logs_cost_no_get_logs(devnet: Devnet, sqlite_url: str) -> None:
    proxy = FaultProxy(devnet.anvil.url)
    try:
        spec = devnet.spec(rpc_url=proxy.url, ws_url="", poll_interval=0.05)
        engine = fresh_engine(sqlite_url)
        a, b = devnet.accounts[7], devnet.accounts[8]
        with BackgroundIndexer(engine, [spec]) as indexer:
            indexer.wait_for_head(devnet.anvil)
            before = proxy.methods["eth_getLogs"]
            devnet.anvil.mine(5)  # empty blocks
            for _ in range(3):  # blocks with logs, but of the token, which we do not index
                assert devnet.send(devnet.token, a, "transfer", cs(b), 1)
            indexer.wait_for_head(devnet.anvil)
            assert proxy.methods["eth_getLogs"] == before
            assert proxy.methods["eth_getBlockByNumber"] > 0

            assert devnet.send(devnet.deposits, a, "deposit", cs(b), 10**18)  # ours: fetched
            _wait(lambda: bond_amount(engine, a, b) == 10**18, timeout=5.0)
            assert proxy.methods["eth_getLogs"] > before
    finally:
        proxy.stop()


def _batches(chain: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("dm3_indexer_apply_seconds_count", {"chain": chain}) or 0.0


def test_websocket__quiet_blocks_applied_together__ours_at_once(devnet: Devnet, sqlite_url: str) -> None:
    """Blocks whose bloom rules out our logs wait (up to quiet_apply_interval) to be applied in one batch; a block
    with our logs is applied as soon as it is announced, with the quiet blocks before it."""
    spec = devnet.spec(name="quiet", poll_interval=30.0, ws_poll_interval=30.0, quiet_apply_interval=1.5)
    engine = fresh_engine(sqlite_url)
    sender, recipient = devnet.accounts[7], devnet.accounts[8]
    with BackgroundIndexer(engine, [spec]) as indexer:
        indexer.wait_for_head(devnet.anvil)
        time.sleep(1.6)  # the last round is more than quiet_apply_interval ago
        before = _batches("quiet")
        for _ in range(10):  # ten empty blocks, 50 ms apart: 0.5 s, inside one quiet interval
            devnet.anvil.mine(1)
            time.sleep(0.05)
        assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 10**18)
        took = _wait(lambda: bond_amount(engine, sender, recipient) == 10**18, timeout=1.0)
        assert took < 1.0
        indexer.wait_for_head(devnet.anvil, timeout=1.0)
        # The first empty block is applied at once (the last round was long ago), the next nine wait and go with
        # the deposit's block: two or three batches (a notification may arrive while a round runs), never eleven.
        assert _batches("quiet") - before <= 3

        devnet.anvil.mine(1)  # a quiet block on its own is applied within the interval, not at the next poll
        _wait(lambda: indexer.indexed(devnet.anvil.chain_id)[0] == devnet.anvil.block_number(), timeout=2.5)

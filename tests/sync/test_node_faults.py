"""Reorgs and missing data as a node behind a load balancer shows them, through the fault-injecting proxy: the
indexer never accepts stale or incomplete blocks, and ends equal to a fresh index and the contracts' views."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from harness.devnet import Devnet, cs
from harness.fault_proxy import FaultProxy
from harness.indexer import (
    BackgroundIndexer,
    Touched,
    assert_matches_views,
    bond_amount,
    chain_row,
    dump,
    fresh_engine,
    run_scenario,
    sync_ok,
)
from indexer.api.main import create_app
from indexer.settings.api import ApiSettings

WINDOW = 12


@pytest.fixture
def proxy(devnet: Devnet) -> Iterator[FaultProxy]:
    p = FaultProxy(devnet.anvil.url)
    yield p
    p.stop()


def _head(devnet: Devnet) -> tuple[int, str]:
    latest = devnet.anvil.rpc("eth_getBlockByNumber", ["latest", False])
    return int(latest["number"], 16), latest["hash"]


def _assert_equals_chain(
    devnet: Devnet, engine: Any, tmp_path: Any, touched: Touched, *, shorter: bool = False, **spec: Any
) -> None:
    """The database equals the contracts' views and a fresh, fault-free index of the same chain.

    After a reorg to a ``shorter`` branch the reorg window reaches lower than it did: a fresh index remembers
    blocks the repaired one had already forgotten, so there the remembered blocks only have to be a subset."""
    assert_matches_views(devnet, engine, touched)
    fresh = fresh_engine(f"sqlite:///{tmp_path}/fresh.db")
    sync_ok(fresh, [devnet.spec(**spec)])
    got, expected = dump(engine, devnet.anvil.chain_id), dump(fresh, devnet.anvil.chain_id)
    if shorter:
        assert set(got.pop("blocks")) <= set(expected.pop("blocks"))
    assert got == expected


def _story(devnet: Devnet, seed: int) -> tuple[Touched, str, str, str]:
    touched = run_scenario(devnet, seed=seed, steps=15)
    sender, recipient, other = devnet.accounts[7], devnet.accounts[8], devnet.accounts[9]
    touched.pairs |= {(sender, recipient), (sender, other)}
    return touched, sender, recipient, other


# --- a reorg while `sync` finishes -----------------------------------------------------------------------------


def test_sync__reorg_after_the_last_chunks_were_fetched__ends_on_the_new_branch(
    devnet: Devnet, proxy: FaultProxy, sqlite_url: str, tmp_path: Any
) -> None:
    touched, sender, recipient, other = _story(devnet, seed=61)
    assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 4 * 10**18)
    devnet.anvil.mine(2)
    head, _ = _head(devnet)
    replaced = set(range(head - 2, head + 1))  # the deposit's block and the two after it
    # Once every replaced header and the deposit's logs were served, the chain reorgs: the indexer holds the
    # old branch's data for the last chunks (fetched ahead, three at a time) and applies it.
    proxy.reorg_when(
        lambda p: replaced <= p.served_headers.keys() and head - 2 in p.served_log_blocks,
        [3, [[devnet.tx_request(devnet.deposits, sender, "deposit", cs(other), 7), 0]]],
    )
    spec = {"reorg_window": WINDOW, "initial_block_range": 2, "max_block_range": 2, "concurrency": 3}
    engine = fresh_engine(sqlite_url)

    sync_ok(engine, [devnet.spec(rpc_url=proxy.url, **spec)])

    assert proxy.reorged
    assert (chain_row(engine, devnet.anvil.chain_id)["indexed_block"],) == (head,)
    assert chain_row(engine, devnet.anvil.chain_id)["indexed_block_hash"] == _head(devnet)[1]
    assert chain_row(engine, devnet.anvil.chain_id)["status"] == "live"
    assert bond_amount(engine, sender, recipient) is None
    assert bond_amount(engine, sender, other) == 7
    _assert_equals_chain(devnet, engine, tmp_path, touched, **spec)


def test_sync__no_such_block_errors_during_a_reorg__retried_and_repaired(
    devnet: Devnet, proxy: FaultProxy, sqlite_url: str, tmp_path: Any
) -> None:
    touched, sender, recipient, other = _story(devnet, seed=62)
    assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 10**18)
    devnet.anvil.mine(2)
    spec = {"reorg_window": WINDOW, "initial_block_range": 4}
    engine = fresh_engine(sqlite_url)
    sync_ok(engine, [devnet.spec(rpc_url=proxy.url, **spec)])
    assert bond_amount(engine, sender, recipient) == 10**18

    devnet.anvil.rpc(
        "anvil_reorg", [3, [[devnet.tx_request(devnet.deposits, sender, "deposit", cs(other), 9), 1]]]
    )
    # A node mid-reorg: "block out of range", "header not found", "unknown block", "block height is N but
    # requested was M", each twice, for the next requests about numbered blocks.
    proxy.fail_blocks(8)
    sync_ok(engine, [devnet.spec(rpc_url=proxy.url, **spec)])

    assert proxy.counts["unavailable"] == 8
    assert chain_row(engine, devnet.anvil.chain_id)["reorg_count"] == 1
    assert bond_amount(engine, sender, recipient) is None
    assert bond_amount(engine, sender, other) == 9
    _assert_equals_chain(devnet, engine, tmp_path, touched, **spec)


# --- logs kept back --------------------------------------------------------------------------------------------


def test_follow__logs_kept_back__the_block_is_not_accepted_until_they_come(
    devnet: Devnet, proxy: FaultProxy, sqlite_url: str, tmp_path: Any
) -> None:
    touched, sender, recipient, _ = _story(devnet, seed=63)
    spec = {"reorg_window": WINDOW, "poll_interval": 0.05}
    engine = fresh_engine(sqlite_url)
    chain_id = devnet.anvil.chain_id
    statuses: set[str] = set()
    errors: set[str] = set()
    with BackgroundIndexer(engine, [devnet.spec(rpc_url=proxy.url, **spec)]) as ix:
        ix.wait_for_head(devnet.anvil)
        # Longer than a chunk's own retries (~9 s): eth_getLogs answers [] and the receipts come back empty.
        proxy.hide_logs(12)
        assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 10**18)
        block, _ = _head(devnet)
        while proxy.hiding:
            row = chain_row(engine, chain_id)
            assert row["indexed_block"] < block, (
                "accepted a block whose bloom names our contracts without logs"
            )
            statuses.add(row["status"])
            errors.add(row["error"] or "")
            time.sleep(0.1)
        ix.wait_for_head(devnet.anvil, timeout=30)
        # The status turns back to live in the poll after the write that caught up: wait for it, bounded.
        deadline = time.monotonic() + 10
        while chain_row(engine, chain_id)["status"] != "live" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert chain_row(engine, chain_id)["status"] == "live"

    assert "stalled" in statuses, statuses
    assert any(f"not advancing past block {block - 1}" in e and "bloom" in e for e in errors), errors
    assert proxy.counts["hidden_logs"] > 0 and proxy.counts["hidden_receipts"] > 0
    assert bond_amount(engine, sender, recipient) == 10**18
    _assert_equals_chain(devnet, engine, tmp_path, touched, **spec)


def test_sync__logs_missing_from_eth_getlogs__taken_from_the_block_receipts(
    devnet: Devnet, proxy: FaultProxy, sqlite_url: str, tmp_path: Any
) -> None:
    touched, sender, recipient, _ = _story(devnet, seed=64)
    spec = {"reorg_window": WINDOW}
    engine = fresh_engine(sqlite_url)
    sync_ok(engine, [devnet.spec(rpc_url=proxy.url, **spec)])
    assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 3 * 10**18)
    assert devnet.send(devnet.deposits, recipient, "set_min_deposit", 5)
    touched.recipients.add(recipient)

    proxy.hide_logs(600, receipts=False)
    started = time.monotonic()
    sync_ok(engine, [devnet.spec(rpc_url=proxy.url, **spec)])

    assert bond_amount(engine, sender, recipient) == 3 * 10**18
    assert time.monotonic() - started < 5  # resolved at once, not after a chunk's retries
    assert proxy.counts["hidden_logs"] > 0 and proxy.methods["eth_getBlockReceipts"] >= 2
    _assert_equals_chain(devnet, engine, tmp_path, touched, **spec)


# --- a reorg to a shorter branch -------------------------------------------------------------------------------


def _eligibility(client: TestClient, devnet: Devnet, sender: str, recipient: str) -> dict[str, Any]:
    """The first chain's answer once its envelope is the node's head (the API's in-memory eligibility state reads
    the change feed every 20 ms, so it may trail the indexer's last commit by that long)."""
    head_hash, deadline = _head(devnet)[1], time.monotonic() + 10
    while True:
        response = client.get("/v1/eligibility", params={"sender": sender, "recipient": recipient})
        assert response.status_code == 200, response.text
        chain = dict(response.json()["chains"][0])
        if chain["envelope"]["block_hash"] == head_hash or time.monotonic() > deadline:
            return chain
        time.sleep(0.01)


def test_follow__reorg_to_a_shorter_branch__repaired_at_once_and_the_api_drops_the_orphaned_state(
    devnet: Devnet, sqlite_url: str, tmp_path: Any
) -> None:
    touched, sender, recipient, other = _story(devnet, seed=65)
    assert devnet.send(devnet.deposits, recipient, "set_min_deposit", 10**18)
    touched.recipients.add(recipient)
    snapshot = devnet.anvil.rpc("evm_snapshot")
    assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 2 * 10**18)
    devnet.anvil.mine(4)
    spec = {"reorg_window": WINDOW, "poll_interval": 0.05}
    engine = fresh_engine(sqlite_url)
    app = create_app(ApiSettings(database_url=sqlite_url))
    with TestClient(app) as api, BackgroundIndexer(engine, [devnet.spec(**spec)]) as ix:
        ix.wait_for_head(devnet.anvil)
        assert _eligibility(api, devnet, sender, recipient)["reason"] == "deposit"

        devnet.anvil.rpc("evm_revert", [snapshot])  # five blocks gone; the new branch has one
        assert devnet.send(devnet.deposits, sender, "deposit", cs(other), 7)
        ix.wait_for_head(devnet.anvil, timeout=5)

        answer = _eligibility(api, devnet, sender, recipient)
        assert (answer["reason"], answer["bond"]) == ("no_deposit", "0")
        assert answer["envelope"]["block_hash"] == _head(devnet)[1]
    app.state.engine.dispose()

    assert chain_row(engine, devnet.anvil.chain_id)["reorg_count"] == 1
    assert bond_amount(engine, sender, recipient) is None
    assert bond_amount(engine, sender, other) == 7
    _assert_equals_chain(devnet, engine, tmp_path, touched, shorter=True, **spec)


def test_sync__reorg_to_a_shorter_branch__rolled_back(devnet: Devnet, sqlite_url: str, tmp_path: Any) -> None:
    touched, sender, recipient, other = _story(devnet, seed=66)
    snapshot = devnet.anvil.rpc("evm_snapshot")
    assert devnet.send(devnet.deposits, sender, "deposit", cs(recipient), 2 * 10**18)
    devnet.anvil.mine(3)
    spec = {"reorg_window": WINDOW}
    engine = fresh_engine(sqlite_url)
    sync_ok(engine, [devnet.spec(**spec)])

    devnet.anvil.rpc("evm_revert", [snapshot])
    assert devnet.send(devnet.deposits, sender, "deposit", cs(other), 11)
    devnet.anvil.mine(1)  # two blocks where there were four
    sync_ok(engine, [devnet.spec(**spec)])

    assert (chain_row(engine, devnet.anvil.chain_id)["indexed_block"],) == (_head(devnet)[0],)
    assert bond_amount(engine, sender, recipient) is None
    assert bond_amount(engine, sender, other) == 11
    _assert_equals_chain(devnet, engine, tmp_path, touched, shorter=True, **spec)

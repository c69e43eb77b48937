"""Fixtures for the relayer suite: anvil, the dm3 contracts and the RelayBatcher, an indexed database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from web3 import Web3

from harness.devnet import contract_types
from harness.relayer import Anvil, Contract, Devnet, RelayEnv
from indexer.store.db import create_db_engine  # noqa: F401  (keeps the import order of the suites alike)


@pytest.fixture(scope="session")
def compiled(project: Any) -> dict[str, dict[str, Any]]:
    return contract_types(
        project, ("ProfileRegistry", "InboxDeposits", "Dm3Token", "RelayBatcher", "MockERC1271Wallet")
    )


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    node = Anvil(chain_id=31_337)
    yield node
    node.stop()


def _env(anvil: Anvil, compiled: dict[str, dict[str, Any]], db_url: str, **limits: Any) -> RelayEnv:
    devnet = Devnet(anvil, compiled)
    devnet.fund()
    ct = compiled["RelayBatcher"]
    tx = anvil.rpc(
        "eth_sendTransaction", [{"from": devnet.deployer, "data": ct["bytecode"], "gas": hex(3_000_000)}]
    )
    receipt = anvil.receipt(tx)
    address = receipt["contractAddress"]
    batcher = Contract(
        "RelayBatcher",
        address.lower(),
        int(receipt["blockNumber"], 16),
        devnet.w3.eth.contract(address=Web3.to_checksum_address(address), abi=ct["abi"]),
    )
    return RelayEnv(devnet, db_url, batcher, **limits)


@pytest.fixture
def make_env(anvil: Anvil, compiled: dict[str, dict[str, Any]], tmp_path: Any) -> Iterator[Any]:
    made: list[RelayEnv] = []

    def make(db_url: str | None = None, **limits: Any) -> RelayEnv:
        env = _env(anvil, compiled, db_url or f"sqlite:///{tmp_path}/relay.db", **limits)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


@pytest.fixture
def env(make_env: Any) -> RelayEnv:
    return make_env()

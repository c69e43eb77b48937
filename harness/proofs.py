"""Test support for the storage-proof tests: record writes large enough to need more gas than `Devnet.send` gives
(a 4,096-byte text is ~129 storage writes), and the nodes the writes go to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.devnet import PARENT, Contract, Devnet
from indexer.ens import namehash

#: Enough for the longest record (String[4096]: 129 fresh slots at 22,100 gas each, plus the event).
BIG_GAS = 12_000_000


def address_node(account: str) -> bytes:
    """The node of `account`'s address name, which `account` may write without registering."""
    return namehash(f"{account[2:].lower()}.addr.{PARENT}")


def send_big(devnet: Devnet, contract: Contract, sender: str, fn: str, *args: Any) -> None:
    """Send one transaction with `BIG_GAS` and require it to succeed."""
    request = devnet.tx_request(contract, sender, fn, *args) | {"gas": hex(BIG_GAS)}
    receipt = devnet.anvil.receipt(devnet.anvil.rpc("eth_sendTransaction", [request]))
    assert receipt["status"] == "0x1", f"{fn} reverted"


def storage_at(devnet: Devnet, address: str, slot: int, block: str = "latest") -> int:
    return int(devnet.anvil.rpc("eth_getStorageAt", [address, hex(slot), block]), 16)


@contextmanager
def reverted(devnet: Devnet) -> Iterator[None]:
    """Run the block's writes on an anvil snapshot and roll them back afterwards (one hypothesis example's
    writes never constrain the next one's)."""
    snapshot = devnet.anvil.rpc("evm_snapshot")
    try:
        yield
    finally:
        devnet.anvil.rpc("evm_revert", [snapshot])

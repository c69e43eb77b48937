"""Test support for the storage-proof tests: record writes large enough to need more gas than `Devnet.send` gives
(a 4,096-byte text is ~129 storage writes), anvil snapshots around one example's writes, and the read API on a
real server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from harness.devnet import PARENT, Contract, Devnet, free_port
from indexer.api.main import create_app
from indexer.ens import namehash
from indexer.settings.api import ApiSettings

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


@contextmanager
def serve(settings: ApiSettings) -> Iterator[str]:
    """The read API for `settings` on a real uvicorn server in a thread; yields its URL, stops it afterwards."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

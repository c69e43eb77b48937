"""Merkle-Patricia proofs for the contract tests: honest ones from a node's `eth_getProof`, tampered ones re-hashed.

`get_proof` asks a node (anvil) for an account's proof and its storage proofs at a block and returns the block's
state root with them. `rehash` replaces one node of a proof and fixes every hash reference above it, so a tampered
node is reached by the verifier (instead of stopping at the first hash mismatch) and its own check is the one that
fires. RLP through `rlp`, tries through `trie` (py-trie); nothing here decides validity, the contract does.


Also the support of the off-chain proof tests: record writes large enough to need more gas than `Devnet.send`
gives (a 4,096-byte text is ~129 storage writes), anvil snapshots around one example's writes, and the read API
on a real server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import rlp
import uvicorn
from eth_utils import keccak, to_checksum_address

from harness.devnet import PARENT, Contract, Devnet, free_port
from indexer.api.main import create_app
from indexer.ens import namehash
from indexer.settings.api import ApiSettings

#: Enough for the longest record (String[4096]: 129 fresh slots at 22,100 gas each, plus the event).
BIG_GAS = 12_000_000


@dataclass(frozen=True)
class AccountProof:
    block_number: int
    state_root: bytes
    nonce: int
    balance: int
    storage_root: bytes
    code_hash: bytes
    account_proof: list[bytes]
    storage: list[tuple[int, int, list[bytes]]]  # (slot, value, proof)


def _hexbytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def get_proof(make_request: Any, address: str, slots: list[int], block_number: int) -> AccountProof:
    """`eth_getProof(address, slots, block_number)` and the block's state root, through `make_request(method,
    params) -> result`."""
    block = make_request("eth_getBlockByNumber", [hex(block_number), False])
    answer = make_request(
        "eth_getProof",
        [
            to_checksum_address(address),
            ["0x" + s.to_bytes(32, "big").hex() for s in slots],
            hex(block_number),
        ],
    )
    return AccountProof(
        block_number=block_number,
        state_root=_hexbytes(block["stateRoot"]),
        nonce=int(answer["nonce"], 16),
        balance=int(answer["balance"], 16),
        storage_root=_hexbytes(answer["storageHash"]),
        code_hash=_hexbytes(answer["codeHash"]),
        account_proof=[_hexbytes(node) for node in answer["accountProof"]],
        storage=[
            (int(entry["key"], 16), int(entry["value"], 16), [_hexbytes(node) for node in entry["proof"]])
            for entry in answer["storageProof"]
        ],
    )


def rehash(proof: list[bytes], index: int, node: bytes) -> tuple[bytes, list[bytes]]:
    """Replace `proof[index]` by `node` and re-point every ancestor at the new hash: (new root, new proof)."""
    new = list(proof)
    new[index] = node
    for i in range(index - 1, -1, -1):
        old_child, new_child = keccak(proof[i + 1]), keccak(new[i + 1])
        assert old_child in new[i], "the parent does not reference the replaced node"
        new[i] = new[i].replace(old_child, new_child)
    return keccak(new[0]), new


def edit_node(node: bytes, edit: Any) -> bytes:
    """Decode `node`, let `edit(items) -> items` change it, re-encode."""
    return rlp.encode(edit(rlp.decode(node)))


def trie_proof(trie: Any, key: bytes) -> list[bytes]:
    """A py-trie proof in geth's convention: nodes embedded in their parent (< 32 bytes) are not listed."""
    nodes = [rlp.encode(node) for node in trie.get_proof(key)]
    return [nodes[0]] + [node for node in nodes[1:] if len(node) >= 32]


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

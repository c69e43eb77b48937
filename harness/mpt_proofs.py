"""Merkle-Patricia proofs for the contract tests: honest ones from a node's `eth_getProof`, tampered ones re-hashed.

`get_proof` asks a node (anvil) for an account's proof and its storage proofs at a block and returns the block's
state root with them. `rehash` replaces one node of a proof and fixes every hash reference above it, so a tampered
node is reached by the verifier (instead of stopping at the first hash mismatch) and its own check is the one that
fires. RLP through `rlp`, tries through `trie` (py-trie); nothing here decides validity, the contract does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp
from eth_utils import keccak, to_checksum_address


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

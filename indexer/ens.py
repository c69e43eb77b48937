"""ENS name helpers (namehash) shared by the indexer and the API."""

from __future__ import annotations

from eth_utils import keccak


def namehash(name: str) -> str:
    """EIP-137 namehash of a normalised (lowercase) name, as 0x hex."""
    node = b"\x00" * 32
    if name:
        for label in reversed(name.split(".")):
            node = keccak(node + keccak(text=label))
    return "0x" + node.hex()

"""ProfileRegistry test helpers: names and nodes (signing: `harness.signing`)."""

from __future__ import annotations

from functools import cache

from ens.utils import normal_name_to_hash

PARENT = "op.dm3.eth"
COIN_TYPE_ETH = 60
COIN_TYPE_DEFAULT = 0x80000000


@cache
def namehash(name: str) -> bytes:
    """ENS namehash of an already normalised name, from web3's `ens` package."""
    return bytes(normal_name_to_hash(name))


def name_node(label: str) -> bytes:
    """Node of `<label>.<parent>`."""
    return namehash(f"{label}.{PARENT}")


def address_label(address: str) -> str:
    """The label of an address name: 40 lowercase hex digits."""
    return address.lower().removeprefix("0x")


def address_node(address: str) -> bytes:
    """Node of the address name `<40 hex>.addr.<parent>`."""
    return namehash(f"{address_label(address)}.addr.{PARENT}")

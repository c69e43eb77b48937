"""ProfileRegistry test helpers: names, nodes and the EIP-712 types of the signed writes."""

from __future__ import annotations

from functools import cache
from typing import Any

from ens.utils import normal_name_to_hash

PARENT = "op.dm3.eth"
EIP712_NAME = "dm3 ProfileRegistry"
EIP712_VERSION = "1"
COIN_TYPE_ETH = 60
COIN_TYPE_DEFAULT = 0x80000000

# The typed structs of the signed writes, exactly as documented in the contract.
TYPES: dict[str, list[tuple[str, str]]] = {
    "Register": [
        ("signer", "address"),
        ("label", "string"),
        ("owner", "address"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ],
    "SetOwner": [
        ("signer", "address"),
        ("node", "bytes32"),
        ("owner", "address"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ],
    "SetApprovalForAll": [
        ("signer", "address"),
        ("operator", "address"),
        ("approved", "bool"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ],
    "SetText": [
        ("signer", "address"),
        ("node", "bytes32"),
        ("key", "string"),
        ("value", "string"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ],
    "SetAddr": [
        ("signer", "address"),
        ("node", "bytes32"),
        ("a", "address"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ],
    "SetAddrForCoin": [
        ("signer", "address"),
        ("node", "bytes32"),
        ("coinType", "uint256"),
        ("a", "bytes"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ],
    "SetContenthash": [
        ("signer", "address"),
        ("node", "bytes32"),
        ("hash", "bytes"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ],
    "SetPrimaryName": [
        ("signer", "address"),
        ("name", "string"),
        ("nonce", "uint256"),
        ("deadline", "uint256"),
    ],
}


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


def typed_data(
    primary_type: str, message: dict[str, Any], *, chain_id: int, verifying_contract: str
) -> dict[str, Any]:
    """The full EIP-712 message of a signed write."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary_type: [{"name": name, "type": kind} for name, kind in TYPES[primary_type]],
        },
        "primaryType": primary_type,
        "domain": {
            "name": EIP712_NAME,
            "version": EIP712_VERSION,
            "chainId": chain_id,
            "verifyingContract": verifying_contract,
        },
        "message": message,
    }

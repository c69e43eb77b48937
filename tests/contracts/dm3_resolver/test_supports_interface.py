"""EIP-165: true for EIP-165 itself and ENSIP-10's IExtendedResolver only, as ENS's reference resolver."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

CASES = [
    ("01ffc9a7", True),  # EIP-165 supportsInterface(bytes4)
    ("9061b923", True),  # ENSIP-10 resolve(bytes,bytes)
    ("ffffffff", False),  # EIP-165: must be false
    ("00000000", False),
    ("3b3b57de", False),  # addr(bytes32): answered off-chain, not by this contract
    ("59d1d43c", False),  # text(bytes32,string)
    (keccak(text="resolveWithProof(bytes,bytes)")[:4].hex(), False),
]


@pytest.mark.parametrize(("interface_id", "expected"), CASES)
def test_supports_interface(resolver: Any, interface_id: str, expected: bool) -> None:
    assert resolver.supportsInterface(bytes.fromhex(interface_id)) is expected


@pytest.mark.parametrize(("interface_id", "expected"), CASES)
def test_supports_interface__agrees_with_ens_reference(
    resolver: Any, reference_resolver: Any, interface_id: str, expected: bool
) -> None:
    interface = bytes.fromhex(interface_id)
    assert resolver.supportsInterface(interface) == reference_resolver.supportsInterface(interface)

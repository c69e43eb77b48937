"""`__init__(parent_name)`: on-chain namehash of the parent, EIP-712 domain, EIP-165."""

from __future__ import annotations

import ape
import pytest
from eth_abi import encode
from eth_utils import keccak

from indexer.signing import DOMAIN_NAMES, EIP712_VERSION

from .registry_helpers import PARENT, namehash


def test_constructor__parent_nodes__are_the_ens_namehashes(registry):
    assert registry.parent_name() == PARENT
    assert registry.PARENT_NODE() == namehash(PARENT)
    assert registry.ADDR_NODE() == namehash(f"addr.{PARENT}")


@pytest.mark.parametrize(
    "parent", ["eth", "dm3.eth", "base.dm3.eth", "arb-1.dm3.eth", "a.b.c.d.e", "x" * 63 + ".eth"]
)
def test_constructor__other_parents__namehash_matches(project, deployer, parent):
    registry = deployer.deploy(project.ProfileRegistry, parent)

    assert registry.parent_name() == parent
    assert registry.PARENT_NODE() == namehash(parent)
    assert registry.ADDR_NODE() == namehash(f"addr.{parent}")


@pytest.mark.parametrize(
    ("parent", "reason"),
    [
        ("", "registry: empty label"),
        (".eth", "registry: empty label"),
        ("eth.", "registry: empty label"),
        ("op..eth", "registry: empty label"),
        ("Op.dm3.eth", "registry: invalid character"),
        ("op.dm3.eth ", "registry: invalid character"),
        ("-op.dm3.eth", "registry: hyphen at label edge"),
        ("x" * 64 + ".eth", "registry: label too long"),
    ],
)
def test_constructor__invalid_parent__reverts(project, deployer, parent, reason):
    with ape.reverts(reason):
        deployer.deploy(project.ProfileRegistry, parent)


def test_constructor__eip712_domain__follows_eip5267(registry, chain):
    fields, name, version, chain_id, verifying_contract, salt, extensions = registry.eip712Domain()

    assert fields == b"\x0f"
    assert (name, version) == (DOMAIN_NAMES["ProfileRegistry"], EIP712_VERSION)
    assert chain_id == chain.chain_id
    assert verifying_contract == registry.address
    assert salt == b"\x00" * 32
    assert extensions == []


def test_constructor__domain_separator__is_the_eip712_hash_of_the_domain(registry, chain):
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(
                    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak(text=DOMAIN_NAMES["ProfileRegistry"]),
                keccak(text=EIP712_VERSION),
                chain.chain_id,
                registry.address,
            ],
        )
    )
    assert registry.DOMAIN_SEPARATOR() == expected


@pytest.mark.parametrize(
    ("interface_id", "supported"),
    [
        ("0x01ffc9a7", True),  # ERC-165
        ("0x3b3b57de", True),  # addr(bytes32)
        ("0xf1cb7e06", True),  # addr(bytes32,uint256)
        ("0x59d1d43c", True),  # text(bytes32,string)
        ("0xbc1c58d1", True),  # contenthash(bytes32)
        ("0xffffffff", False),
        ("0x9061b923", False),  # ENSIP-10 wildcard resolution: not offered on L2
        ("0x00000000", False),
    ],
)
def test_supports_interface(registry, interface_id, supported):
    assert registry.supportsInterface(interface_id) is supported

"""Gas of record writes against ENS's PublicResolver 0.3.1 and of `register` against ENS's registry.

Targets: every record write costs at most what ENS's resolver charges for the same write on a name its
owner controls; `register` costs at most 1.5x ENS registry `setSubnodeOwner`. Both ENS contracts are
deployed from their published npm artifacts (@ensdomains/resolver 0.3.1, @ensdomains/ens 0.6.2).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ape.contracts import ContractContainer
from eth_utils import keccak
from ethpm_types import ContractType

from .registry_helpers import PARENT, address_node, namehash

ARTIFACTS = Path(__file__).resolve().parents[3] / "node_modules" / "@ensdomains"
VALUE_500 = "x" * 500
OTHER_500 = "y" * 500
IPFS = bytes.fromhex("e3010170122029f2d17be6139079dc48696d1f582a8530eb9805b561eda517e22a892c7e3f1f")
OP_COIN_TYPE = 0x80000000 | 10
BTC_SCRIPT = bytes.fromhex("76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac")


def _container(path: Path) -> ContractContainer:
    artifact = json.loads(path.read_text())
    contract_type = ContractType.model_validate(
        {
            "contractName": artifact["contractName"],
            "abi": artifact["abi"],
            "deploymentBytecode": {"bytecode": artifact["bytecode"]},
        }
    )
    return ContractContainer(contract_type)


@pytest.fixture(scope="module")
def ens_gas(deployer, alice) -> dict[str, int]:
    """Gas of each operation on ENS, on `alice.op.dm3.eth` owned by alice."""
    ens = deployer.deploy(_container(ARTIFACTS / "ens/build/contracts/ENSRegistry.json"))
    resolver = deployer.deploy(
        _container(ARTIFACTS / "resolver/build/contracts/PublicResolver.json"), ens.address
    )
    node = b"\x00" * 32
    for label in reversed(PARENT.split(".")):
        ens.setSubnodeOwner(node, keccak(text=label), deployer, sender=deployer)
        node = keccak(node + keccak(text=label))
    assert node == namehash(PARENT)
    name = namehash(f"alice.{PARENT}")
    gas = {"register": ens.setSubnodeOwner(node, keccak(text="alice"), alice, sender=deployer).gas_used}
    gas |= _record_writes(resolver, name, alice)
    return gas


@pytest.fixture(scope="module")
def our_gas(registry, alice) -> dict[str, int]:
    """Gas of each operation on the ProfileRegistry, on `alice-gas.op.dm3.eth` owned by alice."""
    tx = registry.register("alice-gas", alice, sender=alice)
    gas = {"register": tx.gas_used} | _record_writes(registry, tx.return_value, alice, ens=False)
    # No ENS counterpart: the first write to an address name also records its owner and emits two events.
    claim = registry.setText(address_node(alice.address), "network.dm3.profile", VALUE_500, sender=alice)
    return gas | {"setText new 500 B, claiming the address name": claim.gas_used}


def _record_writes(resolver, node: bytes, owner, *, ens: bool = True) -> dict[str, int]:
    set_coin = resolver.setAddr if ens else resolver.setAddrForCoin
    return {
        "setText new 500 B": resolver.setText(node, "network.dm3.profile", VALUE_500, sender=owner).gas_used,
        "setText overwrite 500 B": resolver.setText(
            node, "network.dm3.profile", OTHER_500, sender=owner
        ).gas_used,
        "setAddr": resolver.setAddr(node, owner.address, sender=owner).gas_used,
        "setAddr coinType (EVM, 20 B)": set_coin(
            node, OP_COIN_TYPE, bytes.fromhex(owner.address[2:]), sender=owner
        ).gas_used,
        "setAddr coinType (BTC, 25 B)": set_coin(node, 0, BTC_SCRIPT, sender=owner).gas_used,
        "setContenthash": resolver.setContenthash(node, IPFS, sender=owner).gas_used,
    }


def test_gas__record_writes__at_most_ens(ens_gas, our_gas):
    print("\noperation                      ENS      ours")
    for operation, ours in our_gas.items():
        print(f"{operation:<30} {ens_gas.get(operation, '-'):>6}  {ours:>6}")
    for operation in ens_gas:
        if operation != "register":
            assert our_gas[operation] <= ens_gas[operation], operation


def test_gas__register__at_most_one_and_a_half_ens_set_subnode_owner(ens_gas, our_gas):
    assert our_gas["register"] <= 1.5 * ens_gas["register"]

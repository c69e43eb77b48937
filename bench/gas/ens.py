"""ENS's published contracts, loaded from their npm artifacts, for side-by-side gas comparisons."""

from __future__ import annotations

import json
from typing import Any

from ape.contracts import ContractContainer
from ethpm_types import ContractType

from bench.common import ROOT

ARTIFACTS = {
    "ENSRegistry": ROOT / "node_modules/@ensdomains/ens/build/contracts/ENSRegistry.json",
    "PublicResolver": ROOT / "node_modules/@ensdomains/resolver/build/contracts/PublicResolver.json",
    "OffchainResolver": ROOT
    / "node_modules/@ensdomains/offchain-resolver-contracts/artifacts/contracts/OffchainResolver.sol/OffchainResolver.json",
}


def container(name: str) -> ContractContainer:
    """An ape contract container for one of ENS's npm artifacts (ABI + creation bytecode)."""
    artifact: dict[str, Any] = json.loads(ARTIFACTS[name].read_text())
    return ContractContainer(
        ContractType.model_validate(
            {
                "contractName": name,
                "abi": artifact["abi"],
                "deploymentBytecode": {"bytecode": artifact["bytecode"]},
            }
        )
    )

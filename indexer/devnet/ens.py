"""A real ENS on the devnet L1: ENS's published ENSRegistry and PublicResolver, and the dm3 names.

    eth             owner: deployer
    dm3.eth         owner: deployer, resolver: PublicResolver
    op.dm3.eth      owner: deployer, resolver: Dm3Resolver   (and arb.dm3.eth, base.dm3.eth)

ENS clients resolve `alice.op.dm3.eth` by walking up to `op.dm3.eth` (ENSIP-10 wildcard) and calling the
Dm3Resolver, which sends them to the CCIP-read gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ens.utils import label_to_hash, normal_name_to_hash

from indexer.deploy.web3_deployer import Web3Deployer, load_truffle_artifact

ENS_REGISTRY_ARTIFACT = Path("node_modules/@ensdomains/ens/build/contracts/ENSRegistry.json")
PUBLIC_RESOLVER_ARTIFACT = Path("node_modules/@ensdomains/resolver/build/contracts/PublicResolver.json")
ROOT_NODE = b"\0" * 32


@dataclass(frozen=True)
class EnsContracts:
    registry: str
    public_resolver: str


def deploy_ens(deployer: Web3Deployer, project_root: Path) -> EnsContracts:
    """Deploy ENSRegistry (the deployer owns the root) and a PublicResolver bound to it."""
    registry_artifact = load_truffle_artifact(project_root / ENS_REGISTRY_ARTIFACT)
    resolver_artifact = load_truffle_artifact(project_root / PUBLIC_RESOLVER_ARTIFACT)
    registry = deployer.deploy_artifact("ENSRegistry", registry_artifact, []).address
    public_resolver = deployer.deploy_artifact("PublicResolver", resolver_artifact, [registry]).address
    return EnsContracts(registry=registry, public_resolver=public_resolver)


def create_names(
    deployer: Web3Deployer,
    project_root: Path,
    ens: EnsContracts,
    *,
    parents: Sequence[str],
    dm3_resolver: str,
) -> None:
    """Create `eth`, `dm3.eth` and each L2 parent name (e.g. `op.dm3.eth`) with Dm3Resolver as its resolver."""
    abi = load_truffle_artifact(project_root / ENS_REGISTRY_ARTIFACT).abi
    owner = deployer.address
    deployer.transact(ens.registry, abi, "setSubnodeOwner", ROOT_NODE, label_to_hash("eth"), owner)
    deployer.transact(
        ens.registry, abi, "setSubnodeRecord", normal_name_to_hash("eth"), label_to_hash("dm3"), owner,
        ens.public_resolver, 0,
    )  # fmt: skip
    for parent in parents:
        label, _, rest = parent.partition(".")
        deployer.transact(
            ens.registry, abi, "setSubnodeRecord", normal_name_to_hash(rest), label_to_hash(label), owner,
            dm3_resolver, 0,
        )  # fmt: skip


def resolver_of(deployer: Web3Deployer, project_root: Path, ens: EnsContracts, name: str) -> str:
    """The resolver ENS holds for `name` (zero address when none)."""
    abi = load_truffle_artifact(project_root / ENS_REGISTRY_ARTIFACT).abi
    return str(deployer.call(ens.registry, abi, "resolver", normal_name_to_hash(name)))

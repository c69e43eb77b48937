"""`up`, `down` and `status` of the local devnet: one anvil per chain, ENS and the dm3 contracts deployed.

`up` is idempotent: a chain whose anvil runs and whose recorded contracts still hold their code is left alone;
a missing anvil is started and its contracts deployed again (new addresses on the L1 mean new ENS records too).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ens.utils import normal_name_to_hash
from web3 import HTTPProvider, Web3

from indexer.deploy import plan
from indexer.deploy.record import DeploymentRecord, load_record, record_path
from indexer.deploy.web3_deployer import Web3Deployer, load_ape_artifacts, load_truffle_artifact
from indexer.devnet import anvil, ens, proofs
from indexer.devnet.constants import (
    DEFAULT_BASE_PORT,
    DEFAULT_GATEWAY_PORT,
    DEPLOYER_INDEX,
    GATEWAY_PATH,
    GATEWAY_SIGNER_INDEX,
    DevnetChain,
    default_chains,
    dev_account,
)
from indexer.devnet.files import (
    ChainState,
    DevnetState,
    read_state,
    write_env_file,
    write_indexer_config,
    write_state,
)

DEFAULT_DATABASE_URL = "sqlite:///./data/dm3.db"
L1_EXTRA_CONTRACTS = ("ENSRegistry", "PublicResolver")


@dataclass(frozen=True)
class DevnetOptions:
    """Where the devnet lives and which ports it uses. Defaults: `.devnet/` of the project, ports 8545-8548."""

    project_root: Path = field(default_factory=lambda: default_project_root())
    state_dir: Path | None = None
    base_port: int = DEFAULT_BASE_PORT
    gateway_port: int = DEFAULT_GATEWAY_PORT
    database_url: str = DEFAULT_DATABASE_URL

    @property
    def root(self) -> Path:
        return self.project_root.resolve()

    @property
    def directory(self) -> Path:
        return (self.state_dir or self.root / ".devnet").resolve()

    @property
    def deployments_dir(self) -> Path:
        return self.directory / "deployments"

    @property
    def state_file(self) -> Path:
        return self.directory / "devnet.json"

    @property
    def chains(self) -> tuple[DevnetChain, ...]:
        return default_chains(self.base_port)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}{GATEWAY_PATH}"


def default_project_root() -> Path:
    """This checkout (the `indexer` package is installed from it in editable mode), else the working directory."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "ape-config.yaml").is_file() else Path.cwd()


def up(options: DevnetOptions | None = None) -> DevnetState:
    """Bring the devnet up (or check that it is up) and return its state; also written to `devnet.json`."""
    options = options or DevnetOptions()
    options.directory.mkdir(parents=True, exist_ok=True)
    compile_contracts(options.root)
    for chain in options.chains:
        if not anvil.is_running(options.directory, chain):
            anvil.stop(options.directory, chain)  # a stale pid file, or ours on a wrong port
            anvil.start(options.root, options.directory, chain)

    artifacts = {
        **load_ape_artifacts(options.root),
        "ENSRegistry": load_truffle_artifact(options.root / ens.ENS_REGISTRY_ARTIFACT),
        "PublicResolver": load_truffle_artifact(options.root / ens.PUBLIC_RESOLVER_ARTIFACT),
    }
    deployer_account = dev_account(DEPLOYER_INDEX)
    gateway_account = dev_account(GATEWAY_SIGNER_INDEX)
    chain_states = []
    for chain in options.chains:
        w3 = Web3(HTTPProvider(chain.rpc_url))
        deployer = Web3Deployer(w3, deployer_account, artifacts, network=chain.network)
        if chain.is_l1:
            record = _ensure_l1(deployer, options, gateway_signer=gateway_account.address)
        else:
            record = _ensure_l2(deployer, options, chain)
        chain_states.append(
            ChainState(
                ecosystem=chain.ecosystem,
                network=chain.network,
                chain_id=chain.chain_id,
                rpc_url=chain.rpc_url,
                parent_name=chain.parent_name,
                contracts={name: entry.address for name, entry in record.contracts.items()},
            )
        )

    l1 = next(c for c in chain_states if c.parent_name is None)
    extra: dict[str, Any] = {}
    proof_chain = next((c for c in chain_states if c.parent_name == proofs.PROOF_PARENT), None)
    if proof_chain is not None:
        w3 = Web3(HTTPProvider(l1.rpc_url))
        contracts = proofs.ensure_proof_mode(
            Web3Deployer(w3, deployer_account, artifacts, network=l1.network),
            w3,
            resolver=l1.contracts["Dm3Resolver"],
            parent_name=proofs.PROOF_PARENT,
            registry=proof_chain.contracts["ProfileRegistry"],
        )
        extra["proof"] = {
            "parent_name": proofs.PROOF_PARENT,
            "chain_id": proof_chain.chain_id,
            "l2_rpc_url": proof_chain.rpc_url,
            "mode": proofs.PROOF_MODE,
            "min_age": proofs.DEVNET_MIN_AGE,
            **contracts.as_dict(),
        }
    state = DevnetState(
        chains=chain_states,
        ens_registry=l1.contracts["ENSRegistry"],
        public_resolver=l1.contracts["PublicResolver"],
        dm3_resolver=l1.contracts["Dm3Resolver"],
        gateway_url=options.gateway_url,
        gateway_signer=str(gateway_account.address),
        gateway_private_key="0x" + bytes(gateway_account.key).hex(),
        deployer=str(deployer_account.address),
        deployer_private_key="0x" + bytes(deployer_account.key).hex(),
        database_url=options.database_url,
        deployments_dir=str(options.deployments_dir),
        config_file=str(options.directory / "dm3.toml"),
        env_file=str(options.directory / "dm3.env"),
        extra=extra,
    )
    write_indexer_config(
        Path(state.config_file),
        database_url=state.database_url,
        deployments_dir=options.deployments_dir,
        chains=state.l2s,
    )
    write_env_file(Path(state.env_file), state.env())
    write_state(options.state_file, state)
    return state


def down(options: DevnetOptions | None = None) -> list[str]:
    """Stop the devnet's services and anvils; returns what was stopped. Records and config stay."""
    options = options or DevnetOptions()
    from indexer.devnet import services

    stopped = services.stop_all(options.directory)
    stopped += [f"anvil {c.ecosystem}" for c in options.chains if anvil.stop(options.directory, c)]
    return stopped


def status(options: DevnetOptions | None = None) -> dict[str, bool]:
    """Chain name -> whether its anvil is running and answering with the right chain id."""
    options = options or DevnetOptions()
    return {chain.ecosystem: anvil.is_running(options.directory, chain) for chain in options.chains}


def load(options: DevnetOptions | None = None) -> DevnetState | None:
    """The state the last `up` wrote (the chains may have stopped since: check `status`)."""
    options = options or DevnetOptions()
    return read_state(options.state_file)


def compile_contracts(project_root: Path) -> None:
    """`ape compile` when a contract source is newer than the compiled manifest (ape's own check is slower)."""
    manifest = project_root / ".build" / "__local__.json"
    sources = list((project_root / "contracts").rglob("*.vy*"))
    if manifest.is_file() and all(s.stat().st_mtime <= manifest.stat().st_mtime for s in sources):
        return
    env = dict(os.environ)
    env.setdefault("VVM_BINARY_PATH", str(project_root / ".vvm"))
    env["PATH"] = os.pathsep.join([str(project_root / ".venv" / "bin"), env.get("PATH", "")])
    subprocess.run(["ape", "compile"], cwd=project_root, env=env, check=True, capture_output=True)


def _ensure_l1(deployer: Web3Deployer, options: DevnetOptions, *, gateway_signer: str) -> DeploymentRecord:
    """ENS, the Dm3Resolver and the dm3 names on the L1, unless all of them are already there."""
    parents = [c.parent_name for c in options.chains if c.parent_name]
    record = load_record(record_path(options.deployments_dir, deployer.network))
    if record is not None and _alive(deployer, record, (*L1_EXTRA_CONTRACTS, *plan.L1_CONTRACTS)):
        registry_abi = load_truffle_artifact(options.root / ens.ENS_REGISTRY_ARTIFACT).abi
        dm3_resolver = record.contracts["Dm3Resolver"].address
        resolvers = [
            deployer.call(
                record.contracts["ENSRegistry"].address, registry_abi, "resolver", normal_name_to_hash(p)
            )
            for p in parents
        ]
        if all(r == dm3_resolver for r in resolvers):
            return record

    directory = options.deployments_dir
    registry = plan.deploy_and_record(deployer, deployments_dir=directory, contract="ENSRegistry", args={})
    plan.deploy_and_record(
        deployer, deployments_dir=directory, contract="PublicResolver", args={"ens": registry.address}
    )
    record = plan.deploy_l1_resolver(
        deployer, deployments_dir=directory, urls=[options.gateway_url], signers=[gateway_signer], force=True
    )
    contracts = ens.EnsContracts(
        registry=record.contracts["ENSRegistry"].address,
        public_resolver=record.contracts["PublicResolver"].address,
    )
    ens.create_names(
        deployer,
        options.root,
        contracts,
        parents=parents,
        dm3_resolver=record.contracts["Dm3Resolver"].address,
    )
    return record


def _ensure_l2(deployer: Web3Deployer, options: DevnetOptions, chain: DevnetChain) -> DeploymentRecord:
    """Token, deposits and registry on an L2, unless they are already there."""
    record = load_record(record_path(options.deployments_dir, deployer.network))
    if record is not None and _alive(deployer, record, plan.L2_CONTRACTS):
        return record
    assert chain.parent_name is not None
    return plan.deploy_l2(
        deployer, deployments_dir=options.deployments_dir, parent_name=chain.parent_name, force=True
    )


def _alive(deployer: Web3Deployer, record: DeploymentRecord, names: tuple[str, ...]) -> bool:
    """The record is for this chain and every named contract still has the code it was deployed with."""
    if record.chain_id != deployer.chain_id:
        return False
    for name in names:
        entry = record.contracts.get(name)
        if entry is None or deployer.code_hash(entry.address) != entry.code_hash:
            return False
    return True

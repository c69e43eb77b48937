"""The local devnet: up (idempotent), the ENS wiring, the files for the indexer, a restarted chain, down."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from ens.utils import normal_name_to_hash
from web3 import HTTPProvider, Web3

from indexer.deploy.create2 import PROXY
from indexer.deploy.web3_deployer import load_truffle_artifact
from indexer.devnet import DevnetOptions, anvil, down, status, up
from indexer.devnet.__main__ import cli
from indexer.devnet.constants import dev_account
from indexer.devnet.ens import ENS_REGISTRY_ARTIFACT
from indexer.settings.indexer import load_settings, resolve_chains


@pytest.fixture(scope="module")
def devnet(tmp_path_factory, project_root, free_ports):
    options = DevnetOptions(
        project_root=project_root,
        state_dir=tmp_path_factory.mktemp("devnet"),
        base_port=free_ports(4),
        gateway_port=free_ports(1),
    )
    state = up(options)
    yield options, state
    down(options)


def test_up__every_chain_runs_with_its_contracts(devnet):
    options, state = devnet
    assert status(options) == {"ethereum": True, "optimism": True, "arbitrum": True, "base": True}
    assert [(c.ecosystem, c.chain_id, c.parent_name) for c in state.chains] == [
        ("ethereum", 31337, None),
        ("optimism", 10, "op.dm3.eth"),
        ("arbitrum", 42161, "arb.dm3.eth"),
        ("base", 8453, "base.dm3.eth"),
    ]
    for chain in state.l2s:
        w3 = Web3(HTTPProvider(chain.rpc_url))
        assert w3.eth.chain_id == chain.chain_id
        assert set(chain.contracts) == {"Dm3Token", "InboxDeposits", "ProfileRegistry", "RelayBatcher"}
        assert all(w3.eth.get_code(a) for a in chain.contracts.values())
        record = json.loads((options.deployments_dir / f"{chain.ecosystem}-local.json").read_text())
        assert record["contracts"]["ProfileRegistry"]["args"] == {"parent_name": chain.parent_name}
    assert state.deployer == dev_account(0).address
    assert state.gateway_signer == dev_account(9).address


def test_up__dm3_contracts_at_their_deterministic_addresses(devnet):
    options, state = devnet
    l2s = state.l2s
    # Token and deposits take the same arguments everywhere: one address on every L2; each registry has its parent.
    for name in ("Dm3Token", "InboxDeposits", "RelayBatcher"):
        assert len({chain.contracts[name] for chain in l2s}) == 1
    assert len({chain.contracts["ProfileRegistry"] for chain in l2s}) == 3
    for chain in state.chains:
        record = json.loads((options.deployments_dir / f"{chain.ecosystem}-local.json").read_text())
        for name, entry in record["contracts"].items():
            through_proxy = name not in ("ENSRegistry", "PublicResolver")
            assert entry["factory"] == (PROXY if through_proxy else None), name
    assert [(name, chains) for name, _, chains in state.addresses() if name != "ProfileRegistry"] == [
        ("ENSRegistry", ["ethereum"]),
        ("PublicResolver", ["ethereum"]),
        ("Dm3Resolver", ["ethereum"]),
        ("Dm3Token", ["optimism", "arbitrum", "base"]),
        ("InboxDeposits", ["optimism", "arbitrum", "base"]),
        ("RelayBatcher", ["optimism", "arbitrum", "base"]),
    ]


def test_up__ens_points_the_l2_parents_at_the_dm3_resolver(devnet, project):
    options, state = devnet
    w3 = Web3(HTTPProvider(state.l1.rpc_url))
    registry_abi = load_truffle_artifact(options.root / ENS_REGISTRY_ARTIFACT).abi
    registry = w3.eth.contract(address=state.ens_registry, abi=registry_abi)
    for parent in ("op.dm3.eth", "arb.dm3.eth", "base.dm3.eth"):
        assert registry.functions.resolver(normal_name_to_hash(parent)).call() == state.dm3_resolver
        assert registry.functions.owner(normal_name_to_hash(parent)).call() == state.deployer
    assert registry.functions.resolver(normal_name_to_hash("dm3.eth")).call() == state.public_resolver

    resolver_abi = project.Dm3Resolver.contract_type.model_dump()["abi"]
    resolver = w3.eth.contract(address=state.dm3_resolver, abi=resolver_abi)
    assert resolver.functions.signers(state.gateway_signer).call()
    assert resolver.functions.urls().call() == [state.gateway_url]
    assert state.gateway_url == f"http://127.0.0.1:{options.gateway_port}/ccip/{{sender}}/{{data}}.json"


def test_up__base_is_proven_and_the_proposer_posts_its_output_roots(devnet):
    from indexer.deploy.web3_deployer import Web3Deployer, load_ape_artifacts
    from indexer.devnet.proofs import OpProposer
    from indexer.gateway.proving import L1, read_proof_config
    from indexer.proofs.rpc import UrlRpc
    from indexer.proofs.witness import output_root_at

    options, state = devnet
    proof = state.extra["proof"]
    l1 = L1(UrlRpc(state.l1.rpc_url))
    config = read_proof_config(l1, state.dm3_resolver, "base.dm3.eth")
    assert config is not None and config.kind == 1
    assert config.registry == state.chain("base").contracts["ProfileRegistry"]
    assert (config.rollup, config.anchor_state_registry) == (
        proof["HarnessDisputeGameFactory"],
        proof["HarnessAnchorStateRegistry"],
    )
    assert read_proof_config(l1, state.dm3_resolver, "op.dm3.eth") is None  # signed

    w3 = Web3(HTTPProvider(state.l1.rpc_url))
    deployer = Web3Deployer(w3, dev_account(0), load_ape_artifacts(options.root), network="ethereum:local")
    l2 = UrlRpc(proof["l2_rpc_url"])
    proposer = OpProposer(deployer, w3, proof["HarnessDisputeGameFactory"], l2, challenge_seconds=0)
    proposer.resume()
    events = proposer.tick()
    assert len(events) == 1 and "proposed" in events[0]
    (game,) = proposer.pending
    assert game.root_claim == output_root_at(l2, game.l2_block)
    assert "resolved" in proposer.tick()[0]  # the next round resolves it; the L2 did not move: nothing new
    assert proposer.tick() == []


def test_up__writes_config_the_indexer_loads(devnet, monkeypatch):
    _, state = devnet
    monkeypatch.delenv("DM3_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DM3_CONFIG", state.config_file)
    settings = load_settings()
    chains = resolve_chains(settings)
    assert [(c.name, c.chain_id, c.parent_name) for c in chains] == [
        ("optimism", 10, "op.dm3.eth"),
        ("arbitrum", 42161, "arb.dm3.eth"),
        ("base", 8453, "base.dm3.eth"),
    ]
    optimism = state.chain("optimism")
    assert chains[0].registry is not None
    assert chains[0].registry.address == optimism.contracts["ProfileRegistry"].lower()
    lines = [line.split("=", 1) for line in Path(state.env_file).read_text().splitlines() if "=" in line]
    env = {key: shlex.split(value)[0] for key, value in lines}
    assert env == state.env()
    assert env["DM3_GATEWAY_RESOLVERS"] == state.dm3_resolver


def test_up__again__keeps_everything(devnet):
    options, state = devnet
    assert up(options) == state


def test_up__after_a_chain_stopped__restarts_and_redeploys_only_that_chain(devnet):
    options, state = devnet
    base = next(c for c in options.chains if c.ecosystem == "base")
    assert anvil.stop(options.directory, base)
    assert status(options)["base"] is False

    again = up(options)
    assert all(status(options).values())
    assert again.l1 == state.l1
    assert again.chain("optimism") == state.chain("optimism")
    # A new chain, the same deterministic addresses.
    assert again.chain("base") == state.chain("base")
    w3 = Web3(HTTPProvider(base.rpc_url))
    assert all(w3.eth.get_code(a) for a in again.chain("base").contracts.values())


def test_cli_status_and_down(devnet):
    options, _ = devnet
    args = ["--state-dir", str(options.directory), "--base-port", str(options.base_port)]
    result = CliRunner().invoke(cli, ["status", *args])
    assert result.exit_code == 0
    assert "optimism  up" in result.output

    result = CliRunner().invoke(cli, ["down", *args])
    assert result.exit_code == 0
    assert "anvil ethereum" in result.output
    assert status(options) == {"ethereum": False, "optimism": False, "arbitrum": False, "base": False}
    assert not list(options.directory.glob("anvil-*.pid"))

    result = CliRunner().invoke(cli, ["status", *args])
    assert result.exit_code == 1
    assert "optimism  down" in result.output

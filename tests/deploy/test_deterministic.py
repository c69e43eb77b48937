"""Deterministic deployment (CREATE2 through the deployment proxy) with the web3 deployer the devnet uses.

Real anvils: an Optimism-like (10) and a Base-like (8453) chain, and one that keeps no past state (`--prune-history`,
like a node that is not an archive node). Every test starts from the same chain state (anvil snapshots).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from web3 import HTTPProvider, Web3

from indexer import deployments as indexer_deployments
from indexer.deploy import plan
from indexer.deploy.create2 import DEFAULT_SALT, PROXY
from indexer.deploy.errors import CodeMismatch, DeployError, InvalidArgument, NoDeploymentProxy
from indexer.deploy.web3_deployer import Web3Deployer, load_ape_artifacts
from indexer.devnet import anvil
from indexer.devnet.constants import DevnetChain, dev_account
from indexer.devnet.core import compile_contracts

GATEWAY = "http://127.0.0.1:8080/ccip/{sender}/{data}.json"
ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def artifacts(project_root):
    compile_contracts(project_root)
    return load_ape_artifacts(project_root)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, project_root, free_ports):
    """name -> DevnetChain of a running anvil."""
    state_dir = tmp_path_factory.mktemp("anvils")
    base = free_ports(3)
    specs = {
        "optimism": DevnetChain("optimism", 10, base, "op.dm3.eth"),
        "base": DevnetChain("base", 8453, base + 1, "base.dm3.eth"),
        "pruned": DevnetChain("arbitrum", 42161, base + 2, "arb.dm3.eth"),
    }
    started = []
    try:
        for name, spec in specs.items():
            anvil.start(
                project_root, state_dir, spec, extra_args=["--prune-history", "1"] if name == "pruned" else []
            )
            started.append(spec)
        yield specs
    finally:
        for spec in started:
            anvil.stop(state_dir, spec)


@pytest.fixture(autouse=True)
def _fresh_chains(nodes):
    """Each test sees the chains as the module started them."""
    w3s = [Web3(HTTPProvider(spec.rpc_url)) for spec in nodes.values()]
    snapshots = [w3.provider.make_request("evm_snapshot", [])["result"] for w3 in w3s]  # type: ignore[arg-type]
    yield
    for w3, snapshot in zip(w3s, snapshots, strict=True):
        w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


def _deployer(spec: DevnetChain, artifacts, said: list[str] | None = None) -> Web3Deployer:
    w3 = Web3(HTTPProvider(spec.rpc_url))
    echo = said.append if said is not None else None
    return Web3Deployer(w3, dev_account(0), artifacts, network=spec.network, echo=echo)


def _nonce(spec: DevnetChain) -> int:
    return Web3(HTTPProvider(spec.rpc_url)).eth.get_transaction_count(dev_account(0).address)


def _expected_address(
    artifacts, contract: str, types: list[str], args: list, salt: str = DEFAULT_SALT
) -> str:
    """The CREATE2 rule written out (EIP-1014), independent of the tooling's helpers."""
    code = bytes.fromhex(artifacts[contract].bytecode[2:]) + encode(types, args)
    digest = keccak(b"\xff" + bytes.fromhex(PROXY[2:]) + bytes.fromhex(salt[2:]) + keccak(code))
    return to_checksum_address(digest[12:])


def test_deploy_l2__lands_at_the_predicted_addresses_and_records_how(nodes, artifacts, tmp_path):
    spec, said = nodes["optimism"], []
    owner = dev_account(0).address

    record = plan.deploy_l2(
        _deployer(spec, artifacts, said), deployments_dir=tmp_path, parent_name="op.dm3.eth"
    )

    token = _expected_address(artifacts, "Dm3Token", ["address"], [owner])
    deposits = _expected_address(
        artifacts, "InboxDeposits", ["address", "uint256", "address"], [token, 604800, owner]
    )
    registry = _expected_address(artifacts, "ProfileRegistry", ["string"], ["op.dm3.eth"])
    batcher = _expected_address(artifacts, "RelayBatcher", [], [])
    contracts = record.contracts
    assert [contracts[n].address for n in plan.L2_CONTRACTS] == [token, deposits, registry, batcher]
    # The addresses are announced before the first transaction.
    first_send = next(i for i, line in enumerate(said) if line.startswith("Deploying"))
    assert [line.strip() for line in said[1:5]] == [
        f"Dm3Token -> {token}",
        f"InboxDeposits -> {deposits}",
        f"ProfileRegistry -> {registry}",
        f"RelayBatcher -> {batcher}",
    ]
    assert first_send == 5
    w3 = Web3(HTTPProvider(spec.rpc_url))
    for entry in contracts.values():
        tx = w3.eth.get_transaction(entry.tx_hash)
        assert (tx["to"], tx["from"], tx["blockNumber"]) == (PROXY, owner, entry.block)
        assert entry.code_hash == "0x" + keccak(bytes(w3.eth.get_code(entry.address))).hex()
        assert (entry.salt, entry.factory, entry.note) == (DEFAULT_SALT, PROXY, None)
    assert contracts["InboxDeposits"].args == {"token": token, "cooldown": 604800, "owner": owner}
    # The indexer reads the record, salt and factory included.
    parsed = indexer_deployments.load_deployment(tmp_path / "optimism-local.json")
    assert parsed.contracts["InboxDeposits"].block == contracts["InboxDeposits"].block
    assert parsed.contracts["InboxDeposits"].model_extra == {
        "code_hash": contracts["InboxDeposits"].code_hash,
        "deployer": owner,
        "salt": DEFAULT_SALT,
        "factory": PROXY,
        "note": None,
    }


def test_same_contracts__same_addresses_on_chains_with_other_ids(nodes, artifacts, tmp_path):
    op, base = nodes["optimism"], nodes["base"]

    on_op = plan.deploy_l2(_deployer(op, artifacts), deployments_dir=tmp_path, parent_name="dm3.eth")
    on_base = plan.deploy_l2(_deployer(base, artifacts), deployments_dir=tmp_path, parent_name="dm3.eth")
    resolver_op = plan.deploy_l1_resolver(
        _deployer(op, artifacts),
        deployments_dir=tmp_path / "l1",
        urls=[GATEWAY],
        signers=[dev_account(9).address],
    )
    resolver_base = plan.deploy_l1_resolver(
        _deployer(base, artifacts),
        deployments_dir=tmp_path / "l1",
        urls=[GATEWAY],
        signers=[dev_account(9).address],
    )

    assert Web3(HTTPProvider(op.rpc_url)).eth.chain_id != Web3(HTTPProvider(base.rpc_url)).eth.chain_id
    for name in plan.L2_CONTRACTS:
        assert on_op.contracts[name].address == on_base.contracts[name].address
    assert resolver_op.contracts["Dm3Resolver"].address == resolver_base.contracts["Dm3Resolver"].address
    # The token's EIP-712 domain (an immutable) holds the chain id: same address, other runtime code.
    assert on_op.contracts["Dm3Token"].code_hash != on_base.contracts["Dm3Token"].code_hash


def test_parent_owner_and_salt__each_give_other_addresses(nodes, artifacts, tmp_path):
    spec = nodes["optimism"]
    default = plan.deploy_l2(
        _deployer(spec, artifacts), deployments_dir=tmp_path / "a", parent_name="op.dm3.eth"
    )
    other_owner = plan.deploy_l2(
        _deployer(spec, artifacts),
        deployments_dir=tmp_path / "b",
        parent_name="op.dm3.eth",
        owner=dev_account(1).address,
    )
    other_salt = plan.deploy_l2(
        _deployer(spec, artifacts),
        deployments_dir=tmp_path / "c",
        parent_name="op.dm3.eth",
        salt="0x" + "01" * 32,
    )

    token = default.contracts["Dm3Token"].address
    assert other_owner.contracts["Dm3Token"].address != token
    assert other_owner.contracts["ProfileRegistry"].address == default.contracts["ProfileRegistry"].address
    assert other_owner.contracts["InboxDeposits"].args["owner"] == dev_account(1).address
    assert len({r.contracts["Dm3Token"].address for r in (default, other_owner, other_salt)}) == 3
    assert other_salt.contracts["ProfileRegistry"].salt == "0x" + "01" * 32
    w3 = Web3(HTTPProvider(spec.rpc_url))
    token_abi = artifacts["Dm3Token"].abi
    owned = w3.eth.contract(address=other_owner.contracts["Dm3Token"].address, abi=token_abi)
    assert owned.functions.owner().call() == dev_account(1).address


def test_again__identical_contracts_recorded_without_a_transaction(nodes, artifacts, tmp_path):
    spec, said = nodes["optimism"], []
    first = plan.deploy_l2(
        _deployer(spec, artifacts), deployments_dir=tmp_path / "first", parent_name="op.dm3.eth"
    )
    Web3(HTTPProvider(spec.rpc_url)).provider.make_request("anvil_mine", ["0x7"])  # type: ignore[arg-type]
    nonce = _nonce(spec)

    again = plan.deploy_l2(
        _deployer(spec, artifacts, said), deployments_dir=tmp_path / "again", parent_name="op.dm3.eth"
    )

    assert _nonce(spec) == nonce
    assert not any(line.startswith("Deploying") for line in said)
    for name in plan.L2_CONTRACTS:
        old, new = first.contracts[name], again.contracts[name]
        assert (new.address, new.block, new.tx_hash, new.code_hash) == (
            old.address, old.block, old.tx_hash, old.code_hash,
        )  # fmt: skip
        assert new.deployer == dev_account(0).address
        assert new.note == f"already deployed, found without sending; created in block {old.block}"
    # The same file again (--force) also adopts, and keeps the creation blocks.
    forced = plan.deploy_l2(
        _deployer(spec, artifacts), deployments_dir=tmp_path / "first", parent_name="op.dm3.eth", force=True
    )
    assert _nonce(spec) == nonce
    assert forced.contracts["ProfileRegistry"].block == first.contracts["ProfileRegistry"].block


def test_node_without_past_state__found_contract_recorded_with_block_0_and_says_so(
    nodes, artifacts, tmp_path
):
    spec = nodes["pruned"]
    first = plan.deploy_l2(
        _deployer(spec, artifacts), deployments_dir=tmp_path / "first", parent_name="arb.dm3.eth"
    )
    Web3(HTTPProvider(spec.rpc_url)).provider.make_request("anvil_mine", ["0x3"])  # type: ignore[arg-type]
    nonce = _nonce(spec)

    again = plan.deploy_l2(
        _deployer(spec, artifacts), deployments_dir=tmp_path / "again", parent_name="arb.dm3.eth"
    )

    assert _nonce(spec) == nonce
    entry = again.contracts["ProfileRegistry"]
    assert entry.address == first.contracts["ProfileRegistry"].address
    assert (entry.block, entry.tx_hash, entry.deployer) == (0, None, "")
    assert entry.note is not None and "the creation block is unknown and 0 is recorded" in entry.note
    record = json.loads((tmp_path / "again" / "arbitrum-local.json").read_text())
    assert record["contracts"]["ProfileRegistry"]["tx_hash"] is None
    assert (
        indexer_deployments.load_deployment(tmp_path / "again" / "arbitrum-local.json")
        .contracts["ProfileRegistry"]
        .block
        == 0
    )


def test_other_code_at_the_address__refused_before_any_transaction(nodes, artifacts, tmp_path):
    spec = nodes["optimism"]
    token = _expected_address(artifacts, "Dm3Token", ["address"], [dev_account(0).address])
    w3 = Web3(HTTPProvider(spec.rpc_url))
    w3.provider.make_request("anvil_setCode", [token, "0x6001600055"])  # type: ignore[arg-type]
    nonce = _nonce(spec)

    with pytest.raises(
        CodeMismatch, match=f"Dm3Token: {token} on optimism:local .* already holds other code"
    ):
        plan.deploy_l2(_deployer(spec, artifacts), deployments_dir=tmp_path, parent_name="op.dm3.eth")
    assert _nonce(spec) == nonce
    assert not (tmp_path / "optimism-local.json").exists()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "0x",
            "no deterministic-deployment proxy at 0x4e59b44847b379578588920cA78FbF26c0B4956C on optimism:local",
        ),
        ("0x6001600055", "holds other code than the deterministic-deployment proxy"),
    ],
)
def test_no_proxy__refused_before_any_transaction(nodes, artifacts, tmp_path, code, message):
    spec = nodes["optimism"]
    Web3(HTTPProvider(spec.rpc_url)).provider.make_request("anvil_setCode", [PROXY, code])  # type: ignore[arg-type]
    nonce = _nonce(spec)

    with pytest.raises(NoDeploymentProxy, match=message):
        plan.deploy_l2(_deployer(spec, artifacts), deployments_dir=tmp_path, parent_name="op.dm3.eth")
    with pytest.raises(NoDeploymentProxy, match=message):
        plan.deploy_l1_resolver(
            _deployer(spec, artifacts),
            deployments_dir=tmp_path,
            urls=[GATEWAY],
            signers=[dev_account(9).address],
        )
    assert _nonce(spec) == nonce
    assert not (tmp_path / "optimism-local.json").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"owner": ZERO}, "--owner: the zero address is not allowed"),
        ({"owner": "0x1234"}, "--owner: '0x1234' is not an address"),
        ({"salt": "0x1234"}, "--salt: '0x1234' is not a 32-byte salt"),
        ({"salt": "dm3 v1"}, "--salt: 'dm3 v1' is not a 32-byte salt"),
        ({"salt": "0x" + "g" * 64}, "is not a 32-byte salt"),
    ],
)
def test_bad_owner_or_salt__refused(nodes, artifacts, tmp_path, kwargs, message):
    spec = nodes["optimism"]
    nonce = _nonce(spec)
    with pytest.raises(InvalidArgument, match=message):
        plan.deploy_l2(
            _deployer(spec, artifacts), deployments_dir=tmp_path, parent_name="op.dm3.eth", **kwargs
        )
    with pytest.raises(InvalidArgument, match=message):
        plan.deploy_l1_resolver(
            _deployer(spec, artifacts),
            deployments_dir=tmp_path,
            urls=[GATEWAY],
            signers=[dev_account(9).address],
            **kwargs,
        )
    assert _nonce(spec) == nonce


def test_constructor_changed__refused_with_what_to_update(nodes, artifacts, tmp_path):
    spec = nodes["optimism"]
    old_token = dict(artifacts)
    abi = [item for item in artifacts["Dm3Token"].abi if item.get("type") != "constructor"]
    old_token["Dm3Token"] = plan.Artifact(abi=abi, bytecode=artifacts["Dm3Token"].bytecode)
    with pytest.raises(
        DeployError, match=r"Dm3Token's constructor takes \(\), but the deploy tool passes \(owner\)"
    ):
        plan.deploy_l2(_deployer(spec, old_token), deployments_dir=tmp_path, parent_name="op.dm3.eth")


def test_record_from_before__still_read(tmp_path: Path):
    """A record written before salt/factory/note existed (and by the indexer's own writer) still loads."""
    from indexer.deploy.record import load_record

    old = {
        "chain_id": 10, "network": "optimism:local", "deployer": ZERO, "tools": {},
        "contracts": {"ProfileRegistry": {
            "address": "0x" + "12" * 20, "block": 5, "tx_hash": "0x" + "ab" * 32, "args": {}, "code_hash": "0x",
            "deployer": ZERO,
        }},
    }  # fmt: skip
    (tmp_path / "optimism-local.json").write_text(json.dumps(old))
    entry = load_record(tmp_path / "optimism-local.json").contracts["ProfileRegistry"]  # type: ignore[union-attr]
    assert (entry.block, entry.salt, entry.factory, entry.note) == (5, None, None, None)

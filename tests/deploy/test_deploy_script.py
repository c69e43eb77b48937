"""`ape run deploy ...` (the click group of scripts/deploy.py) against an anvil with Optimism's chain id.

The commands run in-process through click's CliRunner, connected to that anvil the way a devnet deployment is
(`--network optimism:local:foundry`, `APE_FOUNDRY_HOST`). Every test starts from the same chain state (anvil
snapshots): the contracts land at deterministic addresses, so a deployment left by one test would be found by the next.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from indexer import deployments as indexer_deployments
from indexer.deploy.create2 import DEFAULT_SALT, PROXY
from indexer.devnet import anvil
from indexer.devnet.constants import DevnetChain, dev_account

NETWORK = "optimism:local:foundry"
GATEWAY = "http://127.0.0.1:8080/ccip/{sender}/{data}.json"


@pytest.fixture(scope="module")
def optimism_node(tmp_path_factory, project_root, free_ports):
    state_dir = tmp_path_factory.mktemp("anvil")
    spec = DevnetChain("optimism", 10, free_ports(1), "op.dm3.eth")
    anvil.start(project_root, state_dir, spec)
    yield spec
    anvil.stop(state_dir, spec)


@pytest.fixture(autouse=True)
def _fresh_chain(optimism_node):
    w3 = Web3(HTTPProvider(optimism_node.rpc_url))
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture
def run(deploy_script, optimism_node, tmp_path):
    """Run `ape run deploy <args>` against the module's anvil, recording under tmp_path."""

    def invoke(*args: str, account: str = "TEST::0", records: Path = tmp_path) -> Result:
        options = ["--network", NETWORK, "--account", account, "--deployments-dir", str(records)]
        command = [*args[:1], *options, *args[1:]]
        env = {"APE_FOUNDRY_HOST": optimism_node.rpc_url}
        return CliRunner().invoke(deploy_script.cli, command, env=env)

    return invoke


@pytest.fixture
def w3(optimism_node) -> Web3:
    return Web3(HTTPProvider(optimism_node.rpc_url))


def _record(directory: Path) -> dict:
    return json.loads((directory / "optimism-local.json").read_text())


def _nonce(w3: Web3) -> int:
    return w3.eth.get_transaction_count(dev_account(0).address)


def test_l2__records_every_contract_in_the_shared_format(run, tmp_path, w3):
    result = run("l2", "--parent", "op.dm3.eth")
    assert result.exit_code == 0, result.output

    record = _record(tmp_path)
    assert record["chain_id"] == 10
    assert record["network"] == "optimism:local"
    assert record["deployer"] == dev_account(0).address
    assert record["tools"]["vyper"] == "0.4.3" and "eth-ape" in record["tools"]
    contracts = record["contracts"]
    owner = dev_account(0).address
    assert set(contracts) == {"Dm3Token", "InboxDeposits", "ProfileRegistry", "RelayBatcher"}
    assert contracts["ProfileRegistry"]["args"] == {"parent_name": "op.dm3.eth"}
    assert contracts["InboxDeposits"]["args"] == {
        "token": contracts["Dm3Token"]["address"],
        "cooldown": 604800,
        "owner": owner,
    }
    assert contracts["Dm3Token"]["args"] == {"owner": owner}
    for name, entry in contracts.items():
        code = w3.eth.get_code(entry["address"])
        assert entry["code_hash"] == "0x" + keccak(code).hex()
        receipt = w3.eth.get_transaction_receipt(entry["tx_hash"])
        assert (receipt["to"], receipt["status"], receipt["blockNumber"]) == (PROXY, 1, entry["block"])
        assert (entry["salt"], entry["factory"], entry["note"]) == (DEFAULT_SALT, PROXY, None)
        # Each address is printed before the first transaction is sent.
        assert result.output.index(f"{name} -> {entry['address']}") < result.output.index("Deploying")

    # The indexer reads the same file.
    parsed = indexer_deployments.load_deployment(tmp_path / "optimism-local.json")
    assert parsed.parent_name() == "op.dm3.eth"
    assert parsed.contracts["ProfileRegistry"].block == contracts["ProfileRegistry"]["block"]


def test_l2__recorded__refuses_to_overwrite_without_force(run, tmp_path, w3):
    assert run("l2", "--parent", "op.dm3.eth").exit_code == 0
    first = _record(tmp_path)

    refused = run("l2", "--parent", "op.dm3.eth")
    assert refused.exit_code == 1
    assert "already records Dm3Token at" in refused.output and "--force" in refused.output
    assert _record(tmp_path) == first

    # The same contracts are where they were: recorded again, nothing sent.
    nonce = _nonce(w3)
    forced = run("l2", "--parent", "op.dm3.eth", "--force")
    assert forced.exit_code == 0, forced.output
    assert "Deploying" not in forced.output and "already deployed, found without sending" in forced.output
    assert _nonce(w3) == nonce
    second = _record(tmp_path)
    for name, entry in first["contracts"].items():
        again = second["contracts"][name]
        assert (again["address"], again["block"], again["tx_hash"]) == (
            entry["address"],
            entry["block"],
            entry["tx_hash"],
        )

    # Another salt: new addresses.
    salted = run("l2", "--parent", "op.dm3.eth", "--force", "--salt", "0x" + "02" * 32)
    assert salted.exit_code == 0, salted.output
    assert _nonce(w3) == nonce + 4  # token, deposits, registry, batcher
    third = _record(tmp_path)
    assert (
        third["contracts"]["ProfileRegistry"]["address"] != first["contracts"]["ProfileRegistry"]["address"]
    )
    assert third["contracts"]["ProfileRegistry"]["salt"] == "0x" + "02" * 32


def test_l2__existing_token__used_and_not_recorded_as_dm3token(run, tmp_path):
    assert run("l2", "--parent", "op.dm3.eth").exit_code == 0
    token = _record(tmp_path)["contracts"]["Dm3Token"]["address"]
    other = tmp_path / "other"

    result = run(
        "l2", "--parent", "op.dm3.eth", "--token", token.lower(), "--cooldown", "3600", records=other
    )
    assert result.exit_code == 0, result.output
    contracts = _record(other)["contracts"]
    assert set(contracts) == {"InboxDeposits", "ProfileRegistry", "RelayBatcher"}
    assert contracts["InboxDeposits"]["args"] == {
        "token": token,
        "cooldown": 3600,
        "owner": dev_account(0).address,
    }


def test_l2__token_without_code__refused_before_any_transaction(run, tmp_path, w3):
    nonce = w3.eth.get_transaction_count(dev_account(0).address)
    result = run("l2", "--parent", "op.dm3.eth", "--token", "0x" + "12" * 20)
    assert result.exit_code == 1
    assert "--token: no contract at 0x1212121212121212121212121212121212121212" in result.output
    assert not (tmp_path / "optimism-local.json").exists()
    assert w3.eth.get_transaction_count(dev_account(0).address) == nonce


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--parent", "OP.dm3.eth"), "not in ENS normal form; use 'op.dm3.eth'"),
        (("--parent", "op..eth"), "not a valid ENS name"),
        (("--parent", "op.dm3.eth", "--cooldown", "0"), "--cooldown: must be 1 to"),
        (("--parent", "op.dm3.eth", "--token", "0x1234"), "--token: '0x1234' is not an address"),
        (("--parent", "op.dm3.eth", "--owner", "0x" + "00" * 20), "--owner: the zero address is not allowed"),
        (("--parent", "op.dm3.eth", "--salt", "0x12"), "--salt: '0x12' is not a 32-byte salt"),
    ],
)
def test_l2__bad_arguments__clear_error_and_no_record(run, tmp_path, args, message):
    result = run("l2", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "optimism-local.json").exists()


def test_l2__no_account__asks_for_one(deploy_script, optimism_node, tmp_path):
    result = CliRunner().invoke(
        deploy_script.cli,
        ["l2", "--network", NETWORK, "--parent", "op.dm3.eth", "--deployments-dir", str(tmp_path)],
        env={"APE_FOUNDRY_HOST": optimism_node.rpc_url},
    )
    assert result.exit_code == 2
    assert "--account is required" in result.output


def test_l1_resolver__deploy_configure_and_two_step_ownership(run, tmp_path, w3, project):
    signer = dev_account(9).address
    result = run("l1-resolver", "--url", GATEWAY, "--signer", signer)
    assert result.exit_code == 0, result.output
    entry = _record(tmp_path)["contracts"]["Dm3Resolver"]
    assert entry["args"] == {"urls": [GATEWAY], "signers": [signer], "owner": dev_account(0).address}
    resolver = w3.eth.contract(
        address=entry["address"], abi=project.Dm3Resolver.contract_type.model_dump()["abi"]
    )
    assert resolver.functions.signers(signer).call()

    new_signer, new_url = dev_account(8).address, "https://gw.example/ccip"
    result = run("configure", "--add-signer", new_signer, "--remove-signer", signer, "--url", new_url)
    assert result.exit_code == 0, result.output
    assert resolver.functions.signers(new_signer).call()
    assert not resolver.functions.signers(signer).call()
    assert resolver.functions.urls().call() == [new_url]

    new_owner = dev_account(1).address
    not_pending = run("accept-ownership", account="TEST::1")
    assert not_pending.exit_code == 1 and "the pending owner is 0x0000" in not_pending.output
    assert run("transfer-ownership", "--to", new_owner).exit_code == 0
    assert resolver.functions.owner().call() == dev_account(0).address
    accepted = run("accept-ownership", account="TEST::1")
    assert accepted.exit_code == 0, accepted.output
    assert resolver.functions.owner().call() == new_owner

    not_owner = run("configure", "--add-signer", signer)
    assert not_owner.exit_code == 1 and f"owned by {new_owner}" in not_owner.output


def test_l1_resolver__bad_arguments__clear_errors(run, tmp_path):
    no_url = run("l1-resolver", "--signer", dev_account(9).address)
    assert no_url.exit_code == 1 and "--url: give at least one gateway URL" in no_url.output
    no_signer = run("l1-resolver", "--url", GATEWAY)
    assert no_signer.exit_code == 1 and "--signer: give at least one" in no_signer.output
    assert not (tmp_path / "optimism-local.json").exists()


def test_configure__recorded_address_without_code__error(run, tmp_path):
    record = {
        "chain_id": 10,
        "network": "optimism:local",
        "deployer": dev_account(0).address,
        "tools": {},
        "contracts": {
            "Dm3Resolver": {
                "address": "0x" + "34" * 20, "block": 1, "tx_hash": "0x" + "00" * 32, "args": {}, "code_hash": "0x",
            }
        },
    }  # fmt: skip
    (tmp_path / "optimism-local.json").write_text(json.dumps(record))
    result = run("configure", "--add-signer", dev_account(9).address)
    assert result.exit_code == 1
    assert (
        "records Dm3Resolver at 0x3434343434343434343434343434343434343434, but there is no code"
        in result.output
    )


def test_configure__nothing_recorded__error(run, tmp_path):
    result = run("transfer-ownership", "--to", dev_account(1).address)
    assert result.exit_code == 1
    assert "no deployment recorded for optimism:local" in result.output


def test_live_network__missing_rpc_url__names_the_variable(deploy_script, monkeypatch, tmp_path):
    monkeypatch.delenv("OPTIMISM_SEPOLIA_RPC_URL", raising=False)
    result = CliRunner().invoke(
        deploy_script.cli,
        ["l2", "--network", "optimism:sepolia:node", "--account", "TEST::0", "--parent", "op.dm3.eth"],
    )
    assert result.exit_code == 2
    assert "set the environment variable OPTIMISM_SEPOLIA_RPC_URL" in result.output


def test_show__prints_the_record_or_a_clear_error(run, deploy_script, tmp_path):
    missing = CliRunner().invoke(
        deploy_script.cli, ["show", "--network", "optimism:local", "--deployments-dir", str(tmp_path)]
    )
    assert missing.exit_code == 1 and "no deployment recorded for optimism:local" in missing.output
    assert run("l2", "--parent", "op.dm3.eth").exit_code == 0
    shown = CliRunner().invoke(
        deploy_script.cli, ["show", "--network", "optimism:local", "--deployments-dir", str(tmp_path)]
    )
    assert shown.exit_code == 0
    assert json.loads(shown.output) == _record(tmp_path)


def test_l2__owner_option__owns_everything_and_the_deployer_nothing(run, tmp_path, w3, project):
    owner = dev_account(1).address
    result = run("l2", "--parent", "op.dm3.eth", "--owner", owner.lower())
    assert result.exit_code == 0, result.output

    contracts = _record(tmp_path)["contracts"]
    assert contracts["Dm3Token"]["args"] == {"owner": owner}
    assert contracts["InboxDeposits"]["args"]["owner"] == owner
    for name in ("Dm3Token", "InboxDeposits"):
        abi = project.get_contract(name).contract_type.model_dump()["abi"]
        instance = w3.eth.contract(address=contracts[name]["address"], abi=abi)
        assert instance.functions.owner().call() == owner
        assert instance.functions.pending_owner().call() == "0x" + "00" * 20


def test_l2__other_code_at_the_predicted_address__refused(run, tmp_path, w3):
    assert run("l2", "--parent", "op.dm3.eth").exit_code == 0
    registry = _record(tmp_path)["contracts"]["ProfileRegistry"]["address"]
    w3.provider.make_request("anvil_setCode", [registry, "0x6001600055"])  # type: ignore[arg-type]
    nonce = _nonce(w3)

    result = run("l2", "--parent", "op.dm3.eth", "--force")
    assert result.exit_code == 1
    assert (
        f"ProfileRegistry: {registry} on optimism:local (chain 10) already holds other code" in result.output
    )
    assert "Traceback" not in result.output
    assert _nonce(w3) == nonce


def test_no_deployment_proxy__refused_before_any_transaction(run, tmp_path, w3):
    w3.provider.make_request("anvil_setCode", [PROXY, "0x"])  # type: ignore[arg-type]
    nonce = _nonce(w3)
    for command in (
        ("l2", "--parent", "op.dm3.eth"),
        ("l1-resolver", "--url", GATEWAY, "--signer", dev_account(9).address),
    ):
        result = run(*command)
        assert result.exit_code == 1
        assert f"no deterministic-deployment proxy at {PROXY} on optimism:local (chain 10)" in result.output
        assert "Traceback" not in result.output
    assert _nonce(w3) == nonce
    assert not (tmp_path / "optimism-local.json").exists()

"""An ENS devnet for end-to-end resolution (the e2e tests and the ENS benchmark use it): an L1 anvil with ENS's published ENSRegistry, our Dm3Resolver and ENS's reference
OffchainResolver; an L2 anvil with a ProfileRegistry; the real indexer (`dm3-indexer sync`) and the real API +
CCIP-read gateway (`python -m indexer.api`) as subprocesses; ethers v6 (indexer/devnet/resolve.mjs) and web3.py as
clients. Everything runs on loopback, on free ports, so parallel sessions never collide."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from eth_abi import decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from harness import devnet
from harness.devnet import PARENT, ROOT, free_port
from harness.indexer import DM3_INDEXER
from indexer.deploy.plan import Artifact
from indexer.deploy.web3_deployer import Web3Deployer
from indexer.devnet.constants import dev_account
from indexer.devnet.proofs import (
    PROOF_CONTRACTS,
    Game,
    OpProposer,
    ProofContracts,
    deploy_proof_contracts,
    enable_proof_mode,
)
from indexer.dm3.profile import signed_profile_record
from indexer.gateway.codec import encode_dns_name, namehash
from indexer.proofs.rpc import Web3Rpc

NODE = shutil.which("node") or "/usr/bin/node"
RESOLVE_SCRIPT = ROOT / "indexer" / "devnet" / "resolve.mjs"
ENS_REGISTRY_ARTIFACT = ROOT / "node_modules/@ensdomains/ens/build/contracts/ENSRegistry.json"
OFFCHAIN_RESOLVER_ARTIFACT = (
    ROOT
    / "node_modules/@ensdomains/offchain-resolver-contracts/artifacts/contracts/OffchainResolver.sol"
    / "OffchainResolver.json"
)

L1_CHAIN_ID = 31_337
L2_CHAIN_ID = 10  # Optimism's chain id, as the devnet uses
# Test-only gateway key, never funded anywhere.
GATEWAY_KEY = "0x" + "6b" * 32
GATEWAY = Account.from_key(GATEWAY_KEY)
# ENSIP-10 IExtendedResolver interface id (= the `resolve(bytes,bytes)` selector).
EXTENDED_RESOLVER_ID = bytes.fromhex("9061b923")
ZERO_ADDRESS = "0x" + "00" * 20


def npm_artifact(path: Path) -> dict[str, Any]:
    """ABI and creation bytecode from one of ENS's published npm artifacts."""
    artifact = json.loads(path.read_text())
    return {"abi": artifact["abi"], "bytecode": artifact["bytecode"]}


class Anvil(devnet.Anvil):
    """The harness's anvil launcher (free loopback port, automine), driven here through web3 with its
    unlocked dev accounts."""

    def __init__(self, *, chain_id: int) -> None:
        super().__init__(chain_id=chain_id)
        self.w3 = Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 30}))

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.w3.eth.chain_id == self.chain_id:
                    return
            except Exception:  # connection refused until anvil listens
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"anvil (chain {self.chain_id}) did not start")
            time.sleep(0.05)

    @property
    def deployer(self) -> str:
        return str(self.w3.eth.accounts[0])

    def fund(self, account: str) -> None:
        """Give `account` ether and let anvil send transactions for it (its key stays with the test)."""
        self.w3.provider.make_request("anvil_setBalance", [account, hex(10**21)])  # type: ignore[arg-type]
        self.w3.provider.make_request("anvil_impersonateAccount", [account])  # type: ignore[arg-type]

    def deploy(self, artifact: dict[str, Any], *args: Any) -> Contract:
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self.mined(factory.constructor(*args).transact({"from": self.deployer}))
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

    def send(self, call: Any, sender: str | None = None) -> dict[str, Any]:
        """Send a contract call as a transaction and return its receipt; a revert fails loudly."""
        return self.mined(call.transact({"from": sender or self.deployer}))

    def mined(self, tx_hash: HexBytes) -> dict[str, Any]:
        receipt = dict(self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=20, poll_latency=0.01))
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction {tx_hash.hex()} reverted")
        return receipt

    def snapshot(self) -> str:
        return str(self.w3.provider.make_request("evm_snapshot", [])["result"])  # type: ignore[arg-type]

    def revert(self, snapshot_id: str) -> None:
        assert self.w3.provider.make_request("evm_revert", [snapshot_id])["result"]  # type: ignore[arg-type]


@dataclass
class ProofSetup:
    resolver: Contract
    contracts: ProofContracts
    proposer: OpProposer

    def prove_head(self) -> Game:
        """A game for the L2's head, resolved DEFENDER_WINS at once (the referee's call): the newest provable."""
        game = self.proposer.propose()
        self.proposer.resolve(game)
        return game


@dataclass
class EnsDevnet:
    """Both chains, the deployed contracts, and (once started) the gateway. Addresses are checksummed."""

    l1: Anvil
    l2: Anvil
    workdir: Path
    gateway_port: int
    ens: Contract
    dm3_resolver: Contract
    reference_resolver: Contract
    profiles: Contract
    profiles_block: int
    db_url: str
    #: Proof mode (`deploy_proof_mode`): a second Dm3Resolver with `op.dm3.eth` proven, and the devnet proposer.
    proof: ProofSetup | None = None
    #: `DM3_GATEWAY_PROOF_CACHE_SECONDS` of the served gateway (0: tests revert L1, so games must not be reused).
    proof_cache_seconds: float = 0.0
    _server: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def url_template(self) -> str:
        return f"{self.gateway_url}/ccip/{{sender}}/{{data}}.json"

    # --- L2 writes ---------------------------------------------------------------------------------------------

    def register(self, label: str, owner: LocalAccount) -> bytes:
        """Register `<label>.op.dm3.eth` for `owner` (who is funded and may then write its records)."""
        self.l2.fund(owner.address)
        self.l2.send(self.profiles.functions.register(label, owner.address), owner.address)
        return namehash(f"{label}.{PARENT}")

    def set_text(self, node: bytes, key: str, value: str, owner: LocalAccount) -> None:
        self.l2.send(self.profiles.functions.setText(node, key, value), owner.address)

    def set_addr(self, node: bytes, address: str, owner: LocalAccount) -> None:
        self.l2.send(self.profiles.functions.setAddr(node, address), owner.address)

    def address_name(self, account: str) -> str:
        """The address name every account owns without registering: `<40 lowercase hex>.addr.op.dm3.eth`."""
        return f"{account[2:].lower()}.addr.{PARENT}"

    # --- indexer and gateway -----------------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        chains = [
            {
                "name": "op",
                "chain_id": L2_CHAIN_ID,
                "rpc_url": self.l2.url,
                "registry": {"address": self.profiles.address, "start_block": self.profiles_block},
                "parent_name": PARENT,
                "poll_interval": 0.2,
            }
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("DM3_")}
        env |= {
            "DM3_DATABASE_URL": self.db_url,
            "DM3_CHAINS": json.dumps(chains),
            # An empty directory: no recorded deployment (e.g. a real chain-10 one) may fill in addresses.
            "DM3_DEPLOYMENTS_DIR": str(self.workdir / "deployments"),
            "DM3_GATEWAY_PRIVATE_KEY": GATEWAY_KEY,
            "DM3_GATEWAY_TTL_SECONDS": "300",
            # The proof resolver first: /v1/status reports the proof path of the first resolver.
            "DM3_GATEWAY_RESOLVERS": ",".join(
                ([self.proof.resolver.address] if self.proof else [])
                + [self.dm3_resolver.address, self.reference_resolver.address]
            ),
            # The proof path: the L1 node, the L2 node; no caching, so tests that revert L1 never see old games.
            "DM3_GATEWAY_L1_RPC_URL": self.l1.url,
            "DM3_API_RPC_URLS": json.dumps({str(L2_CHAIN_ID): self.l2.url}),
            "DM3_GATEWAY_PROOF_CACHE_SECONDS": str(self.proof_cache_seconds),
            "DM3_GATEWAY_PROOF_CONFIG_TTL": str(self.proof_cache_seconds),
        }
        return env

    def deploy_proof_mode(self, compiled: dict[str, Any]) -> ProofSetup:
        """Deploy the L1 proof harness, a verifier and a second Dm3Resolver (same gateway, same signer) whose
        `op.dm3.eth` is in mode 1 (proven) against this L2's registry; before `serve()` (the gateway's sender list
        names it). ENS keeps pointing at the signed resolver: a test swaps it in with `set_resolver`."""
        artifacts = {name: Artifact(abi=c["abi"], bytecode=c["bytecode"]) for name, c in compiled.items()}
        deployer = Web3Deployer(self.l1.w3, dev_account(0), artifacts, network="ethereum:local")
        assert deployer.address == self.l1.deployer, (
            "the devnet's deployer is the dev mnemonic's first account"
        )
        contracts = deploy_proof_contracts(deployer)
        url = self.url_template
        resolver = self.l1.deploy(compiled["Dm3Resolver"], [url], [GATEWAY.address], self.l1.deployer)
        enable_proof_mode(
            deployer,
            resolver=resolver.address,
            parent_name=PARENT,
            registry=self.profiles.address,
            contracts=contracts,
        )
        proposer = OpProposer(
            deployer, self.l1.w3, contracts.factory, Web3Rpc(self.l2.w3), challenge_seconds=0
        )
        self.proof = ProofSetup(resolver=resolver, contracts=contracts, proposer=proposer)
        return self.proof

    def index(self) -> None:
        """`dm3-indexer sync`: backfill the L2 registry into the database up to the current head."""
        done = subprocess.run(
            [DM3_INDEXER, "sync", "--no-progress"],
            cwd=self.workdir,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"dm3-indexer sync failed:\n{done.stdout}\n{done.stderr}")

    def serve(self, timeout: float = 90) -> None:
        """Start the read API + gateway (`python -m indexer.api`) and wait until it answers /health."""
        log = (self.workdir / "api.log").open("wb")
        self._server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "indexer.api",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.gateway_port),
                "--log-level",
                "warning",
            ],
            cwd=self.workdir,
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.gateway_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self._server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start:\n{(self.workdir / 'api.log').read_text()}")
            time.sleep(0.1)

    def stop_server(self) -> None:
        if self._server is not None:
            self._server.terminate()
            try:
                self._server.wait(10)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()
            self._server = None

    # --- L1 --------------------------------------------------------------------------------------------------------

    def set_resolver(self, name: str, resolver: str) -> None:
        self.l1.send(self.ens.functions.setResolver(namehash(name), resolver))


def _label(name: str) -> bytes:
    return keccak(text=name)


#: The contracts of this checkout `ens_devnet` and its users deploy (`harness.devnet.contract_types(project, ...)`):
#: the L2 registry, the resolver, the proof path's verifiers and L1 harness (OP stack and Arbitrum).
DEVNET_CONTRACTS = (
    "ProfileRegistry",
    "Dm3Resolver",
    *PROOF_CONTRACTS,
    "HarnessFaultDisputeGame",
    "HarnessArbitrumRollup",
)


@contextmanager
def ens_devnet(workdir: Path, compiled: dict[str, Any]) -> Iterator[EnsDevnet]:
    """Start both chains and deploy everything; the caller publishes records, then calls `index()` and `serve()`.

    L1: ENSRegistry with `eth` → `dm3.eth` → `op.dm3.eth` (all owned by the deployer), `op.dm3.eth`'s resolver is
    Dm3Resolver(gateway URL, [gateway signer]); ENS's OffchainResolver(same URL, same signer) is deployed beside
    it. L2: ProfileRegistry("op.dm3.eth")."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "deployments").mkdir(exist_ok=True)
    with ExitStack() as stack:
        l1, l2 = Anvil(chain_id=L1_CHAIN_ID), Anvil(chain_id=L2_CHAIN_ID)
        stack.callback(l1.stop)
        stack.callback(l2.stop)
        l1.wait_ready()
        l2.wait_ready()
        port = free_port()
        url = f"http://127.0.0.1:{port}/ccip/{{sender}}/{{data}}.json"

        ens = l1.deploy(npm_artifact(ENS_REGISTRY_ARTIFACT))
        owner = l1.deployer
        l1.send(ens.functions.setSubnodeOwner(b"\0" * 32, _label("eth"), owner))
        l1.send(ens.functions.setSubnodeOwner(namehash("eth"), _label("dm3"), owner))
        l1.send(ens.functions.setSubnodeOwner(namehash("dm3.eth"), _label("op"), owner))
        dm3_resolver = l1.deploy(compiled["Dm3Resolver"], [url], [GATEWAY.address], owner)
        reference = l1.deploy(npm_artifact(OFFCHAIN_RESOLVER_ARTIFACT), url, [GATEWAY.address])
        l1.send(ens.functions.setResolver(namehash(PARENT), dm3_resolver.address))

        profiles = l2.deploy(compiled["ProfileRegistry"], PARENT)
        devnet = EnsDevnet(
            l1=l1,
            l2=l2,
            workdir=workdir,
            gateway_port=port,
            ens=ens,
            dm3_resolver=dm3_resolver,
            reference_resolver=reference,
            profiles=profiles,
            profiles_block=l2.w3.eth.block_number,
            db_url=f"sqlite:///{workdir / 'dm3.db'}",
        )
        stack.callback(devnet.stop_server)
        yield devnet


@dataclass(frozen=True)
class Published:
    """What the session published on L2 and expects every ENS client to read back through L1."""

    devnet: EnsDevnet
    alice: LocalAccount
    bob: LocalAccount
    alice_name: str
    alice_profile: str  # the `network.dm3.profile` value, a data: URI
    bob_name: str  # bob's address name, never registered
    bob_email: str


def dm3_profile_record(account: LocalAccount, delivery_services: list[str]) -> str:
    """A real signed dm3 profile record for `account`, with fixed stand-in keys (the tests compare it verbatim)."""
    return signed_profile_record(
        account,
        public_encryption_key=base64.b64encode(bytes(range(32))).decode(),
        public_signing_key=base64.b64encode(bytes(range(32, 64))).decode(),
        delivery_services=delivery_services,
    )


# --- clients -----------------------------------------------------------------------------------------------------


def run_ethers(devnet: EnsDevnet, request: dict[str, Any], timeout: float = 60) -> Any:
    """Run indexer/devnet/resolve.mjs (ethers v6) with `request` (plus the L1 connection) and return its JSON answer."""
    payload = {
        "rpcUrl": devnet.l1.url,
        "chainId": L1_CHAIN_ID,
        "ensAddress": devnet.ens.address,
        **request,
    }
    done = subprocess.run(
        [NODE, str(RESOLVE_SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"resolve.mjs failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout)


EXTENDED_RESOLVER_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "resolve",
        "stateMutability": "view",
        "inputs": [{"name": "name", "type": "bytes"}, {"name": "data", "type": "bytes"}],
        "outputs": [{"name": "", "type": "bytes"}],
    },
    {
        "type": "function",
        "name": "supportsInterface",
        "stateMutability": "view",
        "inputs": [{"name": "interfaceID", "type": "bytes4"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
]


def find_resolver(
    w3: Web3, registry: str, ens_abi: list[dict[str, Any]], name: str
) -> tuple[str, str] | None:
    """ENSIP-10 resolver lookup through the registry: the first name, walking from `name` up to its parents,
    with a resolver set. A resolver found for a parent must support `IExtendedResolver` (wildcard resolution).
    Returns (resolver address, the name it was set on), or None."""
    ens = w3.eth.contract(address=to_checksum_address(registry), abi=ens_abi)
    labels = name.split(".")
    for start in range(len(labels)):
        current = ".".join(labels[start:])
        resolver = ens.functions.resolver(namehash(current)).call()
        if resolver == ZERO_ADDRESS:
            continue
        if current != name:
            extended = w3.eth.contract(address=resolver, abi=EXTENDED_RESOLVER_ABI)
            if not extended.functions.supportsInterface(EXTENDED_RESOLVER_ID).call():
                return None
        return str(resolver), current
    return None


def resolve_with_web3(w3: Web3, resolver: str, name: str, data: bytes) -> bytes:
    """ENSIP-10 `resolve(dnsName, data)` with CCIP-read on: web3.py follows the OffchainLookup to the gateway and
    calls `resolveWithProof` itself. Returns the ABI-encoded answer of `data`."""
    extended = w3.eth.contract(address=to_checksum_address(resolver), abi=EXTENDED_RESOLVER_ABI)
    return bytes(extended.functions.resolve(encode_dns_name(name), data).call(ccip_read_enabled=True))


def decode_one(abi_type: str, answer: bytes) -> Any:
    return decode([abi_type], answer)[0]

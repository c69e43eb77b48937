"""Proof mode on the devnet: the L1 harness contracts, one parent in proof mode, and a proposer.

The devnet's L1 gets the harness `DisputeGameFactory`, `AnchorStateRegistry` and fault dispute game blueprint
(contracts/test/: the real interfaces, outcomes decided by a referee, the deployer) and a `Dm3ProofVerifier` (with
its `Dm3AnchorVerifier`);
`Dm3Resolver.set_proof_config` puts `base.dm3.eth` in mode 1 (proven, OP stack) against the Base-like L2's
`ProfileRegistry`. `OpProposer` posts real output roots of the L2 (computed from the L2 node with
`indexer.proofs.witness.output_root_at`, the version-0 hash upstream's op-proposer posts) as games, and plays the
referee: a game that stood `challenge_seconds` unchallenged is resolved DEFENDER_WINS. The resolver's `min_age` is
an hour, so only resolved games are accepted on the devnet (as on mainnet, where the window is days).

    python -m indexer.devnet proposer       # the loop (`make devnet` starts it as a service)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError

from indexer.deploy.web3_deployer import Web3Deployer
from indexer.ens import namehash
from indexer.gateway.codec import encode_dns_name
from indexer.proofs.rpc import JsonRpc
from indexer.proofs.witness import output_root_at

#: The game type the harness AnchorStateRegistry respects (upstream's CANNON is 0 too).
GAME_TYPE = 0
#: The parent put in proof mode on the devnet, and its mode (1: proven; signed answers refused).
PROOF_PARENT = "base.dm3.eth"
PROOF_MODE = 1
KIND_OP_STACK = 1
#: An unresolved game must stand this long before the resolver accepts it (so on the devnet: never).
DEVNET_MIN_AGE = 3_600
DEFENDER_WINS = 2
PROOF_CONTRACTS = (
    "HarnessDisputeGameFactory",
    "HarnessAnchorStateRegistry",
    "Dm3AnchorVerifier",
    "Dm3ProofVerifier",
)


def _call(signature: str, types: list[str], args: list[Any]) -> bytes:
    return function_signature_to_4byte_selector(signature) + abi_encode(types, args)


@dataclass(frozen=True)
class ProofContracts:
    factory: str
    anchor_state_registry: str
    verifier: str
    blueprint: str  # "" when found already deployed (the factory holds it)

    def as_dict(self) -> dict[str, str]:
        return {
            "HarnessDisputeGameFactory": self.factory,
            "HarnessAnchorStateRegistry": self.anchor_state_registry,
            "Dm3ProofVerifier": self.verifier,
        }


def deploy_blueprint(deployer: Web3Deployer, contract: str) -> str:
    """EIP-5202: `contract`'s initcode behind 0xfe7100, deployed as code nobody can call."""
    code = b"\xfe\x71\x00" + bytes.fromhex(deployer.artifact(contract).bytecode.removeprefix("0x"))
    stub = b"\x61" + len(code).to_bytes(2, "big") + b"\x3d\x81\x60\x0a\x3d\x39\xf3" + code
    receipt = deployer.send({"data": stub})
    return to_checksum_address(receipt["contractAddress"])


def deploy_proof_contracts(deployer: Web3Deployer) -> ProofContracts:
    """The L1 harness (factory, registry, game blueprint) and a verifier; the deployer is the referee."""
    blueprint = deploy_blueprint(deployer, "HarnessFaultDisputeGame")
    factory = deployer.deploy("HarnessDisputeGameFactory", [blueprint]).address
    asr = deployer.deploy("HarnessAnchorStateRegistry", [factory, GAME_TYPE, 0]).address
    deployer.send_data(to=factory, data=_call("harnessSetAnchorStateRegistry(address)", ["address"], [asr]))
    # The verifier asks a Dm3AnchorVerifier which state root a game vouches for (two contracts: code-size limit).
    anchor = deployer.deploy("Dm3AnchorVerifier", []).address
    verifier = deployer.deploy("Dm3ProofVerifier", [anchor]).address
    return ProofContracts(factory=factory, anchor_state_registry=asr, verifier=verifier, blueprint=blueprint)


def enable_proof_mode(
    deployer: Web3Deployer,
    *,
    resolver: str,
    parent_name: str,
    registry: str,
    contracts: ProofContracts,
    mode: int = PROOF_MODE,
    min_age: int = DEVNET_MIN_AGE,
) -> None:
    """`Dm3Resolver.set_proof_config(parent, mode, OP stack, registry, factory, registry, min_age, verifier)`."""
    data = _call(
        "set_proof_config(bytes32,uint8,uint8,address,address,address,uint64,address)",
        ["bytes32", "uint8", "uint8", "address", "address", "address", "uint64", "address"],
        [
            namehash(parent_name),
            mode,
            KIND_OP_STACK,
            registry,
            contracts.factory,
            contracts.anchor_state_registry,
            min_age,
            contracts.verifier,
        ],
    )
    deployer.send_data(to=resolver, data=data)


def ensure_proof_mode(
    deployer: Web3Deployer, w3: Web3, *, resolver: str, parent_name: str, registry: str
) -> ProofContracts:
    """The harness and `parent_name` in proof mode on `resolver`, unless the resolver already has it (then its
    settings name the contracts)."""
    data = _call("proof_config_for(bytes)", ["bytes"], [encode_dns_name(parent_name)])
    try:
        raw = bytes(w3.eth.call({"to": to_checksum_address(resolver), "data": data}))  # type: ignore[typeddict-item]
    except (ContractLogicError, ValueError):
        raw = b""
    if raw:
        from eth_abi import decode

        _, proven_registry, factory, asr, _, _ = decode(
            ["uint8", "address", "address", "address", "uint64", "bytes32"], raw
        )
        configs = _call("proof_configs(bytes32)", ["bytes32"], [namehash(parent_name)])
        raw_config = bytes(w3.eth.call({"to": to_checksum_address(resolver), "data": configs}))  # type: ignore[typeddict-item]
        verifier = decode(
            ["uint8", "uint8", "address", "address", "address", "uint64", "address"], raw_config
        )[6]
        if proven_registry.lower() == registry.lower() and w3.eth.get_code(to_checksum_address(factory)):
            return ProofContracts(
                factory=to_checksum_address(factory),
                anchor_state_registry=to_checksum_address(asr),
                verifier=to_checksum_address(verifier),
                blueprint="",
            )
    contracts = deploy_proof_contracts(deployer)
    enable_proof_mode(
        deployer, resolver=resolver, parent_name=parent_name, registry=registry, contracts=contracts
    )
    return contracts


@dataclass(frozen=True)
class Game:
    index: int
    address: str
    l2_block: int
    root_claim: bytes
    created: float  # local monotonic time, for the challenge window


@dataclass
class OpProposer:
    """Posts the L2's output roots to the harness factory and resolves the games that stood unchallenged."""

    deployer: Web3Deployer
    w3: Web3
    factory: str
    l2: JsonRpc
    challenge_seconds: float = 2.0
    pending: list[Game] = field(default_factory=list)
    last_block: int = -1

    def _view(self, to: str, signature: str, args: list[Any], types: list[str], out: str) -> Any:
        from eth_abi import decode

        data = _call(signature, types, args)
        raw = self.w3.eth.call({"to": to_checksum_address(to), "data": data})  # type: ignore[typeddict-item]
        return decode([out], bytes(raw))[0]

    def propose(self, l2_block: int | None = None, root_claim: bytes | None = None) -> Game:
        """Post a game for `l2_block` (default: the L2's head) claiming its output root (or `root_claim`)."""
        block = int(self.l2("eth_blockNumber", []), 16) if l2_block is None else l2_block
        claim = output_root_at(self.l2, block) if root_claim is None else root_claim
        self.deployer.send_data(
            to=self.factory,
            data=_call(
                "create(uint32,bytes32,bytes)",
                ["uint32", "bytes32", "bytes"],
                [GAME_TYPE, claim, block.to_bytes(32, "big")],
            ),
        )
        index = self._view(self.factory, "gameCount()", [], [], "uint256") - 1
        _, _, address = self._view_game(index)
        game = Game(index, address, block, claim, time.monotonic())
        self.pending.append(game)
        self.last_block = max(self.last_block, block)
        return game

    def _view_game(self, index: int) -> tuple[int, int, str]:
        from eth_abi import decode

        data = _call("gameAtIndex(uint256)", ["uint256"], [index])
        raw = self.w3.eth.call({"to": to_checksum_address(self.factory), "data": data})  # type: ignore[typeddict-item]
        game_type, timestamp, address = decode(["uint32", "uint64", "address"], bytes(raw))
        return game_type, timestamp, to_checksum_address(address)

    def resolve(self, game: Game, status: int = DEFENDER_WINS) -> None:
        """The referee ends `game` with `status` (2: the proposer's claim stands)."""
        self.deployer.send_data(to=game.address, data=_call("harnessResolve(uint8)", ["uint8"], [status]))
        self.pending = [g for g in self.pending if g.index != game.index]

    def resume(self) -> None:
        """Start after the newest game already posted (a restarted proposer must not post it again)."""
        count = self._view(self.factory, "gameCount()", [], [], "uint256")
        if count:
            _, _, address = self._view_game(count - 1)
            self.last_block = self._view(address, "l2BlockNumber()", [], [], "uint256")

    def tick(self) -> list[str]:
        """One round: resolve the games that stood their window, post the L2 head if it moved. What happened."""
        events = []
        now = time.monotonic()
        for game in list(self.pending):
            if now - game.created >= self.challenge_seconds:
                self.resolve(game)
                events.append(f"game {game.index} (L2 block {game.l2_block}) resolved: defender wins")
        head = int(self.l2("eth_blockNumber", []), 16)
        if head > self.last_block:
            game = self.propose(head)
            events.append(f"game {game.index} proposed for L2 block {head}: {game.address}")
        return events


def run_proposer(
    *,
    l1_url: str,
    l2_url: str,
    factory: str,
    account: LocalAccount,
    interval: float,
    challenge_seconds: float,
) -> None:
    """The devnet proposer's loop (`python -m indexer.devnet proposer`): one `tick` every `interval` seconds."""
    from indexer.deploy.web3_deployer import load_ape_artifacts
    from indexer.devnet.core import default_project_root
    from indexer.proofs.rpc import UrlRpc

    w3 = Web3(Web3.HTTPProvider(l1_url))
    deployer = Web3Deployer(w3, account, load_ape_artifacts(default_project_root()), network="ethereum:local")
    proposer = OpProposer(deployer, w3, factory, UrlRpc(l2_url), challenge_seconds=challenge_seconds)
    proposer.resume()
    while True:
        for event in proposer.tick():
            print(event, flush=True)
        time.sleep(interval)

"""The gateway's proof path: answers for parents whose resolver is in a proof mode (docs/proof-mode.md).

For a lookup, the resolver that sent it (`sender`, on L1) is asked `proof_config_for(name)`; a revert ("proof mode
off") means the parent is signed and the signed path answers. The answer is cached per (resolver, parent) for
`DM3_GATEWAY_PROOF_CONFIG_TTL` seconds, so a signed lookup costs one L1 call per parent and TTL at most.

For a proof-mode parent the gateway picks the newest commitment the resolver's policy accepts:

- OP stack: the `DisputeGameFactory`'s games from the newest one back (at most `DM3_GATEWAY_MAX_GAMES_SCANNED`):
  the `AnchorStateRegistry` must call it respected, proper, neither blacklisted nor retired; its status
  `DEFENDER_WINS`, or `IN_PROGRESS` and created at least `min_age` seconds before L1's latest block; and its root
  claim must be the output root of its L2 block as the gateway's own L2 node computes it (a game claiming another
  root is skipped: it cannot be proven against, and the resolver would refuse it);
- Arbitrum: the BOLD rollup's `latestConfirmed()` assertion, its after-state and inbox accumulator read from its
  `AssertionCreated` event (nitro-contracts' layout: the after-state inside `AssertionInputs`, the accumulator
  `afterInboxBatchAcc`), looked up in the block `getAssertionCreationBlockForLogLookup(hash)` names; the event
  must hash to the assertion (`RollupLib.assertionHash`).

The choice is cached for `DM3_GATEWAY_PROOF_CACHE_SECONDS`, and checked against L1 on every use (one call: the
factory still has that game for its type, claim and block; the assertion is still confirmed), so an L1 reorg that drops it makes the gateway look
again rather than serve an answer the resolver would refuse. The witness is built at that L2 block with
`indexer.proofs.witness` (which checks every proof before returning it). Errors never carry node URLs.

The parent's mode (1 proven, 2 proven or signed) is read only when it matters, i.e. when no proof can be built and
a signed fallback is possible: a lookup costs one L1 call for the settings per TTL, signed or proven.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

from indexer.errors import UserError
from indexer.gateway.codec import (
    AddrQuery,
    ContenthashQuery,
    GatewayRequestError,
    MulticallQuery,
    RecordQuery,
    ResolveRequest,
    TextQuery,
    encode_dns_name,
)
from indexer.proofs.rpc import JsonRpc, NodeError
from indexer.proofs.verify import ProofError
from indexer.proofs.witness import (
    ASSERTION_STATE_TYPE,
    KIND_ARBITRUM,
    KIND_OP_STACK,
    MACHINE_FINISHED,
    Addr,
    Assertion,
    Contenthash,
    Multicall,
    Query,
    Record,
    Text,
    Witness,
    arbitrum_witness,
    op_witness,
    output_root_at,
)
from indexer.proofs.witness import assertion_hash as assertion_hash_of

T = TypeVar("T")

IN_PROGRESS, CHALLENGER_WINS, DEFENDER_WINS = 0, 1, 2
ASSERTION_CONFIRMED = 2
#: nitro-contracts' BOLD `AssertionInputs` (src/rollup/Assertion.sol): (BeforeStateData (prevPrevAssertionHash,
#: sequencerBatchAcc, ConfigData (wasmModuleRoot, requiredStake, challengeManager, confirmPeriodBlocks,
#: nextInboxPosition)), AssertionState beforeState, AssertionState afterState).
_BEFORE_STATE_DATA_TYPE = "(bytes32,bytes32,(bytes32,uint256,address,uint64,uint64))"
ASSERTION_INPUTS_TYPE = f"({_BEFORE_STATE_DATA_TYPE},{ASSERTION_STATE_TYPE},{ASSERTION_STATE_TYPE})"
#: IRollupCore's `AssertionCreated(bytes32 indexed assertionHash, bytes32 indexed parentAssertionHash,
#: AssertionInputs assertion, bytes32 afterInboxBatchAcc, uint256 inboxMaxCount, bytes32 wasmModuleRoot,
#: uint256 requiredStake, address challengeManager, uint64 confirmPeriodBlocks)`: its non-indexed fields.
ASSERTION_CREATED_DATA = [
    ASSERTION_INPUTS_TYPE,
    "bytes32",
    "uint256",
    "bytes32",
    "uint256",
    "address",
    "uint64",
]
ASSERTION_CREATED_TOPIC = keccak(text=f"AssertionCreated(bytes32,bytes32,{','.join(ASSERTION_CREATED_DATA)})")


class ProofUnavailable(UserError):
    """The gateway cannot prove this answer now (no acceptable game, no L2 node, a node error)."""


@dataclass(frozen=True, slots=True)
class ProofConfig:
    """What `Dm3Resolver.proof_config_for(name)` returns."""

    kind: int
    registry: str
    rollup: str
    anchor_state_registry: str
    min_age: int
    node: bytes
    #: 1 proven, 2 proven or signed (the gateway then falls back to a signed answer when it cannot prove); None
    #: until read (`Prover.allows_signed` reads it when it matters).
    mode: int | None = None


@dataclass(frozen=True, slots=True)
class Commitment:
    """The L1 commitment an answer is proven against, and the L2 block it vouches for."""

    kind: int
    l2_block: int
    #: OP: the game's index in the factory; Arbitrum: None.
    game_index: int | None
    #: OP: the game's address; Arbitrum: the assertion hash (hex).
    reference: str
    #: OP: the game's root claim (the output root); Arbitrum: the assertion hash.
    claim: bytes
    #: L1 time the game was created (OP) / the assertion was created (Arbitrum), unix seconds.
    created_at: int
    #: The L2 block's timestamp, unix seconds.
    l2_timestamp: int
    assertion: Assertion | None = None
    #: OP: the game's type (with the claim and the L2 block, the factory's key for it).
    game_type: int = 0


@dataclass(frozen=True, slots=True)
class ProvenAnswer:
    response: bytes
    commitment: Commitment
    witness: Witness


def _selector(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


_PROOF_CONFIG_FOR = _selector("proof_config_for(bytes)")
_PROOF_CONFIGS = _selector("proof_configs(bytes32)")
_GAME_COUNT = _selector("gameCount()")
_GAME_AT_INDEX = _selector("gameAtIndex(uint256)")
_GAMES = _selector("games(uint32,bytes32,bytes)")
_ROOT_CLAIM = _selector("rootClaim()")
_STATUS = _selector("status()")
_CREATED_AT = _selector("createdAt()")
_L2_BLOCK_NUMBER = _selector("l2BlockNumber()")
_IS_RESPECTED = _selector("isGameRespected(address)")
_IS_BLACKLISTED = _selector("isGameBlacklisted(address)")
_IS_RETIRED = _selector("isGameRetired(address)")
_IS_PROPER = _selector("isGameProper(address)")
_LATEST_CONFIRMED = _selector("latestConfirmed()")
_GET_ASSERTION = _selector("getAssertion(bytes32)")
_CREATION_BLOCK = _selector("getAssertionCreationBlockForLogLookup(bytes32)")
_ASSERTION_NODE = "(uint64,uint64,uint64,bool,uint8,bytes32)"


class L1:
    """Typed `eth_call`s against the L1 node."""

    def __init__(self, rpc: JsonRpc) -> None:
        self.rpc = rpc

    def call(self, to: str, data: bytes, types: list[str], block: str = "latest") -> tuple[Any, ...]:
        raw = self.rpc("eth_call", [{"to": to, "data": "0x" + data.hex()}, block])
        try:
            return tuple(abi_decode(types, bytes.fromhex(str(raw).removeprefix("0x"))))
        except Exception:  # eth_abi raises several kinds; the contract is not what it should be
            raise ProofUnavailable(f"the L1 contract {to} gave an undecodable answer") from None

    def one(self, to: str, data: bytes, typ: str) -> Any:
        return self.call(to, data, [typ])[0]

    def head(self) -> tuple[int, int]:
        block = self.rpc("eth_getBlockByNumber", ["latest", False])
        return int(block["number"], 16), int(block["timestamp"], 16)


def read_proof_config(l1: L1, resolver: str, parent_name: str) -> ProofConfig | None:
    """The resolver's proof settings for `parent_name`, or None when the parent is signed (the call reverts) or
    the sender is no proof-mode resolver (no code, another answer): the signed path then answers."""
    data = _PROOF_CONFIG_FOR + abi_encode(["bytes"], [encode_dns_name(parent_name)])
    try:
        kind, registry, rollup, asr, min_age, node = l1.call(
            to_checksum_address(resolver),
            data,
            ["uint8", "address", "address", "address", "uint64", "bytes32"],
        )
    except NodeError as exc:
        if "revert" in str(exc).lower():  # "proof mode off", or a resolver without proof mode at all
            return None
        raise
    except ProofUnavailable:
        # no code there, or a contract answering something else: not a proof-mode resolver
        return None
    checksum = to_checksum_address
    return ProofConfig(kind, checksum(registry), checksum(rollup), checksum(asr), min_age, bytes(node))


def read_proof_mode(l1: L1, resolver: str, node: bytes) -> int:
    """The mode of the parent's own entry (`proof_configs(node).mode`); a config set on a shorter suffix reads as 0
    there and is taken as strict (1)."""
    mode = int(l1.one(to_checksum_address(resolver), _PROOF_CONFIGS + node, "uint8"))
    return mode or 1


def newest_op_game(
    l1: L1, l2: JsonRpc, config: ProofConfig, *, max_scanned: int, output_root: Callable[[int], bytes]
) -> Commitment:
    """The newest game of the factory that the resolver's policy accepts and whose claim is the L2's output root
    (`output_root(l2_block)`); `ProofUnavailable` when none of the newest `max_scanned` is."""
    factory, registry = config.rollup, config.anchor_state_registry
    count = l1.one(factory, _GAME_COUNT, "uint256")
    _, now = l1.head()
    reasons: dict[str, int] = {}

    def skip(reason: str) -> None:
        reasons[reason] = reasons.get(reason, 0) + 1

    for index in range(count - 1, max(count - 1 - max_scanned, -1), -1):
        game_type, _, game = l1.call(
            factory, _GAME_AT_INDEX + abi_encode(["uint256"], [index]), ["uint32", "uint64", "address"]
        )
        as_arg = abi_encode(["address"], [game])
        if not l1.one(registry, _IS_RESPECTED + as_arg, "bool"):
            skip("not respected")
            continue
        if l1.one(registry, _IS_BLACKLISTED + as_arg, "bool") or l1.one(
            registry, _IS_RETIRED + as_arg, "bool"
        ):
            skip("blacklisted or retired")
            continue
        if not l1.one(registry, _IS_PROPER + as_arg, "bool"):
            skip("not proper")
            continue
        status = l1.one(game, _STATUS, "uint8")
        created = l1.one(game, _CREATED_AT, "uint64")
        if status == CHALLENGER_WINS:
            skip("challenger won")
            continue
        if status != DEFENDER_WINS and now < created + config.min_age:
            skip("too young")
            continue
        block = l1.one(game, _L2_BLOCK_NUMBER, "uint256")
        claim = bytes(l1.one(game, _ROOT_CLAIM, "bytes32"))
        try:
            if output_root(block) != claim:
                skip("root claim is not the L2's output root")
                continue
        except (NodeError, ProofError):
            skip("L2 block unknown to the gateway's node")
            continue
        return Commitment(
            KIND_OP_STACK, block, index, game, claim, created, _timestamp(l2, block), game_type=game_type
        )
    seen = ", ".join(f"{n} {why}" for why, n in reasons.items()) or "no games"
    raise ProofUnavailable(f"no acceptable dispute game among the newest {min(count, max_scanned)} ({seen})")


def decode_assertion_created(log: dict[str, Any], assertion_hash: bytes) -> Assertion:
    """The assertion `assertion_hash` from BOLD's `AssertionCreated` log (`eth_getLogs` JSON): its parent, its
    after-state (inside `AssertionInputs`) and `afterInboxBatchAcc`, which must hash to `assertion_hash` as
    `RollupLib.assertionHash` does (`keccak256(parent ‖ keccak256(abi.encode(afterState)) ‖ inboxAcc)`).
    `ProofUnavailable` for any other log (another event, another assertion, undecodable data, a wrong hash)."""
    try:
        topics = [bytes.fromhex(str(t).removeprefix("0x")) for t in log["topics"]]
        data = bytes.fromhex(str(log["data"]).removeprefix("0x"))
        if len(topics) != 3 or topics[0] != ASSERTION_CREATED_TOPIC or topics[1] != assertion_hash:
            raise ValueError("not this assertion's AssertionCreated")
        inputs, inbox_acc, *_ = abi_decode(ASSERTION_CREATED_DATA, data)
    except Exception:  # eth_abi and bytes.fromhex raise several kinds: the log is not what it should be
        raise ProofUnavailable("the rollup's AssertionCreated event is not BOLD's") from None
    encoded = abi_encode([ASSERTION_STATE_TYPE], [inputs[2]])
    assertion = Assertion(assertion_hash, topics[2], bytes(inbox_acc), encoded)
    if (
        assertion_hash_of(
            parent_assertion_hash=assertion.parent_assertion_hash,
            encoded_state=encoded,
            inbox_acc=assertion.inbox_acc,
        )
        != assertion_hash
    ):
        raise ProofUnavailable("the rollup's AssertionCreated event does not hash to its assertion")
    return assertion


def latest_arbitrum_assertion(l1: L1, l2: JsonRpc, config: ProofConfig) -> Commitment:
    """The rollup's latest confirmed assertion, with what a witness needs from its creation event."""
    assertion_hash = bytes(l1.one(config.rollup, _LATEST_CONFIRMED, "bytes32"))
    (node,) = l1.call(config.rollup, _GET_ASSERTION + assertion_hash, [_ASSERTION_NODE])
    _, _, created_at_block, _, status, _ = node
    if status != ASSERTION_CONFIRMED:
        raise ProofUnavailable("the rollup's latest confirmed assertion is not confirmed")
    try:  # upstream's block for the event lookup (differs from createdAtBlock on an Arbitrum-hosted rollup)
        created_block = int(l1.one(config.rollup, _CREATION_BLOCK + assertion_hash, "uint256"))
    except NodeError as exc:
        if "revert" not in str(exc).lower():
            raise
        created_block = created_at_block
    logs = l1.rpc(
        "eth_getLogs",
        [
            {
                "address": config.rollup,
                "fromBlock": hex(created_block),
                "toBlock": hex(created_block),
                "topics": ["0x" + ASSERTION_CREATED_TOPIC.hex(), "0x" + assertion_hash.hex()],
            }
        ],
    )
    if not logs:
        raise ProofUnavailable("the latest confirmed assertion has no creation event")
    assertion = decode_assertion_created(logs[0], assertion_hash)
    if assertion.parent_assertion_hash == bytes(32):
        raise ProofUnavailable(
            "the latest confirmed assertion is the rollup's genesis: no L2 block to prove at"
        )
    ((_, _), status_of_machine, _) = abi_decode([ASSERTION_STATE_TYPE], assertion.encoded_state)[0]
    if status_of_machine != MACHINE_FINISHED:  # ERRORED: the resolver refuses it ("assertion not finished")
        raise ProofUnavailable(
            f"the latest confirmed assertion did not finish (machine status {status_of_machine})"
        )
    created = int(l1.rpc("eth_getBlockByNumber", [hex(created_block), False])["timestamp"], 16)
    block = l2("eth_getBlockByHash", ["0x" + assertion.block_hash.hex(), False])
    if block is None:
        raise ProofUnavailable("the gateway's L2 node does not know the confirmed assertion's block")
    l2_block = int(block["number"], 16)
    return Commitment(
        KIND_ARBITRUM,
        l2_block,
        None,
        "0x" + assertion_hash.hex(),
        assertion_hash,
        created,
        int(block["timestamp"], 16),
        assertion,
    )


def still_on_l1(l1: L1, config: ProofConfig, commitment: Commitment) -> bool:
    """Whether L1 still has `commitment` as it was found (one call): the factory's game for (type, claim, block) is
    the same contract, the assertion still confirmed. An L1 reorg can drop either (or put another claim at the same
    address: game addresses follow the factory's nonce); an answer proven against it would make the resolver
    revert."""
    if commitment.kind == KIND_OP_STACK:
        key = abi_encode(
            ["uint32", "bytes32", "bytes"],
            [commitment.game_type, commitment.claim, commitment.l2_block.to_bytes(32, "big")],
        )
        game, _ = l1.call(config.rollup, _GAMES + key, ["address", "uint64"])
        return bool(to_checksum_address(game) == to_checksum_address(commitment.reference))
    (node,) = l1.call(config.rollup, _GET_ASSERTION + commitment.claim, [_ASSERTION_NODE])
    return bool(node[4] == ASSERTION_CONFIRMED)


def _timestamp(l2: JsonRpc, block: int) -> int:
    raw = l2("eth_getBlockByNumber", [hex(block), False])
    if raw is None:
        raise ProofUnavailable(f"the gateway's L2 node has no block {block}")
    return int(raw["timestamp"], 16)


def record_of(query: RecordQuery) -> Record:
    if isinstance(query, TextQuery):
        try:
            key = query.key.decode()
        except UnicodeDecodeError:
            raise GatewayRequestError("a text key that is not UTF-8 cannot be proven", status=422) from None
        return Text(query.node, key)
    if isinstance(query, ContenthashQuery):
        return Contenthash(query.node)
    assert isinstance(query, AddrQuery)
    return Addr(query.node, query.coin_type)


class _TtlCache:
    """A small time-bounded cache; at `max_entries` the oldest entry goes (a gateway serving any sender would
    otherwise keep one entry per address a client makes up)."""

    def __init__(self, max_entries: int = 1_024) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._max_entries = max_entries

    def get(self, key: Any, ttl: float, make: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and now - hit[0] < ttl:
            value: T = hit[1]
            return value
        value = make()
        with self._lock:
            self._entries.pop(key, None)
            if len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (time.monotonic(), value)
        return value

    def drop(self, key: Any) -> None:
        with self._lock:
            self._entries.pop(key, None)


class Prover:
    """Proof answers for one gateway: an L1 node, the L2 nodes by chain id, the caches."""

    def __init__(
        self,
        l1_rpc: JsonRpc,
        l2_rpcs: dict[int, JsonRpc],
        *,
        config_ttl: float = 30.0,
        commitment_ttl: float = 2.0,
        max_games_scanned: int = 64,
    ) -> None:
        self.l1 = L1(l1_rpc)
        self.l2_rpcs = l2_rpcs
        self.config_ttl, self.commitment_ttl, self.max_games_scanned = (
            config_ttl,
            commitment_ttl,
            max_games_scanned,
        )
        self._configs = _TtlCache()
        self._modes = _TtlCache()
        self._commitments = _TtlCache()

    def config(self, resolver: str, parent_name: str) -> ProofConfig | None:
        key = (resolver.lower(), parent_name)
        return self._configs.get(
            key, self.config_ttl, lambda: read_proof_config(self.l1, resolver, parent_name)
        )

    def allows_signed(self, resolver: str, config: ProofConfig) -> bool:
        """Whether the parent's mode is 2 (proven or signed): read from L1 only now, when a proof could not be built
        (cached like the settings)."""
        if config.mode is not None:
            return config.mode == 2
        key = (resolver.lower(), config.node)
        mode = self._modes.get(key, self.config_ttl, lambda: read_proof_mode(self.l1, resolver, config.node))
        return mode == 2

    def _l2(self, chain_id: int) -> JsonRpc:
        rpc = self.l2_rpcs.get(chain_id)
        if rpc is None:
            raise ProofUnavailable(f"the gateway has no L2 node for chain {chain_id} (DM3_API_RPC_URLS)")
        return rpc

    def commitment(self, config: ProofConfig, chain_id: int, *, checked: bool = False) -> Commitment:
        """The newest commitment the policy accepts (cached for `commitment_ttl` seconds). `checked`: a cached one
        is first checked to be still on L1 (`still_on_l1`, one call); when an L1 reorg dropped it, it is found
        again."""
        key = (config.kind, config.rollup, config.anchor_state_registry, config.min_age, chain_id)
        l2 = self._l2(chain_id)
        fresh: list[Commitment] = []

        def find() -> Commitment:
            if config.kind == KIND_OP_STACK:
                return newest_op_game(
                    self.l1,
                    l2,
                    config,
                    max_scanned=self.max_games_scanned,
                    output_root=lambda b: output_root_at(l2, b),
                )
            if config.kind == KIND_ARBITRUM:
                return latest_arbitrum_assertion(self.l1, l2, config)
            raise ProofUnavailable(f"unknown proof kind {config.kind}")

        def find_fresh() -> Commitment:
            fresh.append(find())
            return fresh[-1]

        commitment = self._commitments.get(key, self.commitment_ttl, find_fresh)
        if checked and not fresh and not still_on_l1(self.l1, config, commitment):
            self._commitments.drop(key)
            commitment = self._commitments.get(key, self.commitment_ttl, find_fresh)
        return commitment

    def prove(self, request: ResolveRequest, config: ProofConfig, chain_id: int) -> ProvenAnswer:
        """The resolver's proof answer for `request` (one record, or a multicall's records, each proven as a single
        call under one account proof) at the newest acceptable commitment."""
        record: Query
        if isinstance(request.query, MulticallQuery):
            record = Multicall(tuple(record_of(query) for query in request.query.calls))
        else:
            record = record_of(request.query)
        commitment = self.commitment(config, chain_id, checked=True)
        l2 = self._l2(chain_id)
        try:
            if commitment.kind == KIND_OP_STACK:
                assert commitment.game_index is not None
                witness = op_witness(
                    l2,
                    registry=config.registry,
                    record=record,
                    block=commitment.l2_block,
                    game_index=commitment.game_index,
                )
            else:
                assert commitment.assertion is not None
                witness = arbitrum_witness(
                    l2, registry=config.registry, record=record, assertion=commitment.assertion
                )
        except ProofError as exc:
            raise ProofUnavailable(f"cannot build the proof: {exc}") from None
        if witness.commitment != commitment.claim:
            raise ProofUnavailable("the L2 node's state at the proven block does not match the L1 commitment")
        return ProvenAnswer(witness.response, commitment, witness)

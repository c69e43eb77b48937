"""Witnesses for `Dm3Resolver`'s proof mode: a ProfileRegistry record proven at an L2 block, in the format the
resolver decodes (docs/proofs.md).

    response = abi.encode(uint8 kind, bytes witness)
    kind 1, OP stack: witness = abi.encode(uint256 gameIndex, bytes32[4] outputRootPreimage, bytes[] accountProof,
                                           bytes[][] storageProofs)
        outputRootPreimage = [version (0), stateRoot, messagePasserStorageRoot, blockHash]
        outputRoot = keccak256(version ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash)
    kind 2, Arbitrum: witness = abi.encode(bytes32 assertionHash, bytes32 parentAssertionHash, bytes32 inboxAcc,
                                           bytes encodedAssertionState, bytes blockHeaderRlp, bytes[] accountProof,
                                           bytes[][] storageProofs)
        assertionHash = keccak256(parentAssertionHash ‖ keccak256(encodedAssertionState) ‖ inboxAcc)
        encodedAssertionState = abi.encode(((bytes32[2] [blockHash, sendRoot], uint64[2] [inbox, position]),
                                            uint8 machineStatus, bytes32 endHistoryRoot))
        keccak256(blockHeaderRlp) = blockHash; the state root is the header's fourth field

`storageProofs` hold one proof per slot the record's getter reads, in the order it reads them (`record_slots`):
text and contenthash: the length slot, then `ceil(length / 32)` data slots; `addr(node, coin)`: the packed word,
then the default EVM coin's word when the first is 0 and the coin is an EVM chain's (ENSIP-19), then, when the word
read last is the long-address marker, `_long_addresses`' length slot and data slots. A missing record is the
exclusion proof of its first slot. A `multicall(bytes[])` (`Multicall`) carries one such group per inner call, in the
calls' order, all under the one account proof: its `storageProofs` is `bytes[][][]`. The verifier computes the slots itself from the name and key and the proven
values, so a witness cannot prove another record.

Which game or assertion to prove against is the caller's choice (the gateway finds the newest acceptable one on
L1); this module builds and checks the L2 side from a node at the given block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

import rlp
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak

from indexer.ens import DEFAULT_EVM_COIN_TYPE, ETH_COIN_TYPE, evm_chain
from indexer.proofs import slots
from indexer.proofs.rpc import JsonRpc, NodeError
from indexer.proofs.verify import (
    AccountProof,
    Header,
    HeaderMismatch,
    InvalidProof,
    ProofError,
    verify_account,
    verify_slot,
)

KIND_OP_STACK = 1
KIND_ARBITRUM = 2
#: OP stack's L2ToL1MessagePasser predeploy: its storage root is part of every output root.
MESSAGE_PASSER = "0x4200000000000000000000000000000000000016"
OUTPUT_ROOT_VERSION = b"\x00" * 32
#: Arbitrum's `AssertionState` as the rollup ABI-encodes it (BOLD): ((bytes32[2], uint64[2]), uint8, bytes32).
ASSERTION_STATE_TYPE = "((bytes32[2],uint64[2]),uint8,bytes32)"
MACHINE_FINISHED = 1
_OP_HEAD = ["uint256", "bytes32[4]", "bytes[]"]
_ARBITRUM_HEAD = ["bytes32", "bytes32", "bytes32", "bytes", "bytes", "bytes[]"]
#: A multicall's storage proofs: one `bytes[][]` group per inner call.
_GROUPS = "bytes[][][]"


class WitnessError(ProofError):
    """A witness cannot be built, or does not prove what it should."""


# --- records -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    node: bytes
    key: str


@dataclass(frozen=True, slots=True)
class Addr:
    """`addr(node, coin_type)`; coin type 60 is `addr(node)` (its value: 20 bytes or none)."""

    node: bytes
    coin_type: int = ETH_COIN_TYPE


@dataclass(frozen=True, slots=True)
class Contenthash:
    node: bytes


Record = Text | Addr | Contenthash


@dataclass(frozen=True, slots=True)
class Multicall:
    """`multicall(bytes[])` of records: each is proven as a single call, against one account proof."""

    records: tuple[Record, ...]


Query = Record | Multicall


def read_record(record: Record, read: Callable[[int], int]) -> tuple[list[int], bytes]:
    """Run the record's getter over `read` (slot -> value): the slots it reads, in order, and the value it returns
    (ProfileRegistry's `text`, `addrForCoin` and `contenthash`, in Python)."""
    order: list[int] = []

    def word(slot: int) -> int:
        order.append(slot)
        return read(slot)

    def bytestring(length_slot: int, max_length: int) -> bytes:
        length = word(length_slot)
        if length > max_length:
            raise WitnessError(
                f"length {length} at slot {hex(length_slot)} exceeds the type's maximum {max_length}"
            )
        values = [length, *(word(s) for s in slots.data_slots(length_slot, length))]
        return slots.decode_bytestring(values, max_length=max_length)

    if isinstance(record, Text):
        return order, bytestring(slots.text_slot(record.node, record.key), slots.MAX_TEXT)
    if isinstance(record, Contenthash):
        return order, bytestring(slots.contenthash_slot(record.node), slots.MAX_CONTENTHASH)
    coin = record.coin_type
    packed = word(slots.address_slot(record.node, coin))
    if packed == 0 and evm_chain(coin) != 0:
        coin = DEFAULT_EVM_COIN_TYPE
        packed = word(slots.address_slot(record.node, coin))
    short = slots.unpack_address(packed)
    if short is None:
        return order, bytestring(slots.long_address_slot(record.node, coin), slots.MAX_LONG_ADDRESS)
    return order, short


def record_slots(rpc: JsonRpc, registry: str, record: Record, block: int) -> list[int]:
    """The slots `record` occupies at `block`, read with `eth_getStorageAt` (the proofs then prove each one)."""

    def read(slot: int) -> int:
        return int(rpc("eth_getStorageAt", [registry, hex(slot), hex(block)]), 16)

    return read_record(record, read)[0]


def proven_record(record: Record, storage_root: bytes, storage_proofs: Sequence[Sequence[bytes]]) -> bytes:
    """The record's value from `storage_proofs` (one per slot read, in order) against the registry's storage root,
    as the resolver checks it: each slot computed here, each value proven, no proof missing or left over."""
    remaining = list(storage_proofs)

    def read(slot: int) -> int:
        if not remaining:
            raise WitnessError(f"no storage proof for slot {hex(slot)}")
        return verify_slot(storage_root, slot, remaining.pop(0))

    value = read_record(record, read)[1]
    if remaining:
        raise WitnessError(f"{len(remaining)} storage proof(s) more than the record's slots")
    return value


# --- building ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Witness:
    """A built witness: the resolver's response bytes, and what it rests on (for the caller to check against L1)."""

    kind: int
    response: bytes
    block_number: int
    block_hash: bytes
    state_root: bytes
    #: OP stack: the output root the game must claim; Arbitrum: the assertion hash that must be confirmed.
    commitment: bytes


def _block(rpc: JsonRpc, block: int | bytes) -> Header:
    if isinstance(block, int):
        raw = rpc("eth_getBlockByNumber", [hex(block), False])
    else:
        raw = rpc("eth_getBlockByHash", ["0x" + block.hex(), False])
    if raw is None:
        raise NodeError(f"the node has no block {block if isinstance(block, int) else '0x' + block.hex()}")
    header = Header.from_rpc(raw)
    if (isinstance(block, int) and header.number != block) or (
        isinstance(block, bytes) and header.hash != block
    ):
        raise HeaderMismatch("the node answered another block than the one asked for")
    return header


def _registry_proofs(
    rpc: JsonRpc, registry: str, query: Query, header: Header
) -> tuple[list[bytes], list[list[bytes]] | list[list[list[bytes]]]]:
    """The registry's account proof and the query's storage proofs at `header` (for a multicall, one group per
    inner call), each checked here before use."""
    records = query.records if isinstance(query, Multicall) else (query,)
    wanted = [record_slots(rpc, registry, record, header.number) for record in records]
    unique = list(dict.fromkeys(slot for group in wanted for slot in group))
    raw = rpc(
        "eth_getProof",
        [registry, ["0x" + s.to_bytes(32, "big").hex() for s in unique], "0x" + header.hash.hex()],
    )
    proof = AccountProof.from_rpc(raw)
    by_slot = {p.slot: p for p in proof.storage}
    missing = [hex(s) for s in unique if s not in by_slot]
    if missing:
        raise WitnessError(f"the node's eth_getProof left out slot(s) {', '.join(missing)}")
    groups = [[list(by_slot[s].proof) for s in group] for group in wanted]
    account = verify_account(header.state_root, registry, proof.account_proof)
    for record, group in zip(records, groups, strict=True):
        proven_record(record, account.storage_root, group)  # the state did not move under the plan
    if isinstance(query, Multicall):
        return list(proof.account_proof), groups
    return list(proof.account_proof), groups[0]


def output_root(preimage: Sequence[bytes]) -> bytes:
    """OP stack's output root (version 0): keccak256(version ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash)."""
    return keccak(b"".join(preimage))


def output_root_preimage(rpc: JsonRpc, block: int) -> list[bytes]:
    """The OP output root preimage of L2 `block` as `rpc`'s node computes it: [version, stateRoot,
    messagePasserStorageRoot, blockHash] (the message passer's storage root proven against the state root)."""
    return _op_preimage(rpc, _block(rpc, block))


def output_root_at(rpc: JsonRpc, block: int) -> bytes:
    """The OP output root of L2 `block` as `rpc`'s node computes it (what a proposer claims, what a game must)."""
    return output_root(output_root_preimage(rpc, block))


def _op_preimage(rpc: JsonRpc, header: Header) -> list[bytes]:
    passer = AccountProof.from_rpc(rpc("eth_getProof", [MESSAGE_PASSER, [], "0x" + header.hash.hex()]))
    # proven here, so an absent predeploy (a devnet) reads the empty trie's root, as the output root needs
    passer_root = verify_account(header.state_root, MESSAGE_PASSER, passer.account_proof).storage_root
    return [OUTPUT_ROOT_VERSION, header.state_root, passer_root, header.hash]


def encode_op_response(
    game_index: int,
    preimage: Sequence[bytes],
    account_proof: Sequence[bytes],
    storage_proofs: Sequence[Any],
    *,
    multicall: bool = False,
) -> bytes:
    """The kind-1 response as the resolver decodes it (no check: `op_witness` builds checked ones; tests encode
    tampered parts with it). `storage_proofs`: one proof per slot, or for a multicall one group of them per call."""
    witness = abi_encode(
        [*_OP_HEAD, _GROUPS if multicall else "bytes[][]"],
        [game_index, list(preimage), list(account_proof), list(storage_proofs)],
    )
    return abi_encode(["uint8", "bytes"], [KIND_OP_STACK, witness])


def op_witness(rpc: JsonRpc, *, registry: str, record: Query, block: int, game_index: int) -> Witness:
    """The kind-1 response proving `record` (or each record of a `Multicall`) at L2 `block`, for the dispute game
    `game_index` (whose root claim must be `Witness.commitment`, the output root of that block)."""
    header = _block(rpc, block)
    preimage = _op_preimage(rpc, header)
    account_proof, storage_proofs = _registry_proofs(rpc, registry, record, header)
    return Witness(
        kind=KIND_OP_STACK,
        response=encode_op_response(
            game_index, preimage, account_proof, storage_proofs, multicall=isinstance(record, Multicall)
        ),
        block_number=header.number,
        block_hash=header.hash,
        state_root=header.state_root,
        commitment=output_root(preimage),
    )


@dataclass(frozen=True, slots=True)
class Assertion:
    """A confirmed Arbitrum assertion as the rollup on L1 records it."""

    assertion_hash: bytes
    parent_assertion_hash: bytes
    inbox_acc: bytes
    encoded_state: bytes

    @property
    def block_hash(self) -> bytes:
        """The L2 block hash of the assertion's after-state (globalState.bytes32Vals[0])."""
        ((hashes, _), _, _) = abi_decode([ASSERTION_STATE_TYPE], self.encoded_state)[0]
        return bytes(hashes[0])


def encode_assertion_state(
    *,
    block_hash: bytes,
    send_root: bytes = b"\x00" * 32,
    inbox_position: int = 0,
    position_in_message: int = 0,
    machine_status: int = MACHINE_FINISHED,
    end_history_root: bytes = b"\x00" * 32,
) -> bytes:
    """`abi.encode(AssertionState)`, what the rollup hashes into the assertion hash."""
    state = ((block_hash, send_root), (inbox_position, position_in_message)), machine_status, end_history_root
    return abi_encode([ASSERTION_STATE_TYPE], [state])


def assertion_hash(*, parent_assertion_hash: bytes, encoded_state: bytes, inbox_acc: bytes) -> bytes:
    """RollupLib.assertionHash: keccak256(parent ‖ keccak256(abi.encode(afterState)) ‖ inboxAcc)."""
    return keccak(parent_assertion_hash + keccak(encoded_state) + inbox_acc)


def encode_arbitrum_response(
    assertion: Assertion,
    header_rlp: bytes,
    account_proof: Sequence[bytes],
    storage_proofs: Sequence[Any],
    *,
    multicall: bool = False,
) -> bytes:
    """The kind-2 response as the resolver decodes it (no check: `arbitrum_witness` builds checked ones).
    `storage_proofs`: one proof per slot, or for a multicall one group of them per call."""
    witness = abi_encode(
        [*_ARBITRUM_HEAD, _GROUPS if multicall else "bytes[][]"],
        [
            assertion.assertion_hash,
            assertion.parent_assertion_hash,
            assertion.inbox_acc,
            assertion.encoded_state,
            header_rlp,
            list(account_proof),
            list(storage_proofs),
        ],
    )
    return abi_encode(["uint8", "bytes"], [KIND_ARBITRUM, witness])


def arbitrum_witness(rpc: JsonRpc, *, registry: str, record: Query, assertion: Assertion) -> Witness:
    """The kind-2 response proving `record` (or each record of a `Multicall`) at the L2 block of `assertion`
    (which must be confirmed on L1)."""
    expected = assertion_hash(
        parent_assertion_hash=assertion.parent_assertion_hash,
        encoded_state=assertion.encoded_state,
        inbox_acc=assertion.inbox_acc,
    )
    if expected != assertion.assertion_hash:
        raise WitnessError("the assertion's hash does not match its parent, state and inbox accumulator")
    header = _block(rpc, assertion.block_hash)
    account_proof, storage_proofs = _registry_proofs(rpc, registry, record, header)
    return Witness(
        kind=KIND_ARBITRUM,
        response=encode_arbitrum_response(
            assertion, header.rlp, account_proof, storage_proofs, multicall=isinstance(record, Multicall)
        ),
        block_number=header.number,
        block_hash=header.hash,
        state_root=header.state_root,
        commitment=assertion.assertion_hash,
    )


# --- checking (what the resolver does on L1, in Python) ------------------------------------------------------------


@overload
def verify_witness(response: bytes, *, registry: str, record: Record, commitment: bytes) -> bytes: ...


@overload
def verify_witness(
    response: bytes, *, registry: str, record: Multicall, commitment: bytes
) -> tuple[bytes, ...]: ...


def verify_witness(
    response: bytes, *, registry: str, record: Query, commitment: bytes
) -> bytes | tuple[bytes, ...]:
    """The record's value proven by `response` (a multicall's: each record's, in order), given the commitment L1
    vouches for (the game's output root, or a confirmed assertion's hash); `WitnessError`/`ProofError` when
    anything does not hold."""
    storage = _GROUPS if isinstance(record, Multicall) else "bytes[][]"
    try:
        kind, witness = abi_decode(["uint8", "bytes"], response)
        if kind == KIND_OP_STACK:
            _, preimage, account_proof, storage_proofs = abi_decode([*_OP_HEAD, storage], witness)
            if output_root(preimage) != commitment:
                raise WitnessError("the output root preimage does not hash to the game's root claim")
            if preimage[0] != OUTPUT_ROOT_VERSION:
                raise WitnessError("unknown output root version")
            state_root = bytes(preimage[1])
        elif kind == KIND_ARBITRUM:
            a_hash, parent, inbox_acc, state, header_rlp, account_proof, storage_proofs = abi_decode(
                [*_ARBITRUM_HEAD, storage], witness
            )
            assertion = Assertion(bytes(a_hash), bytes(parent), bytes(inbox_acc), bytes(state))
            if a_hash != commitment or a_hash != assertion_hash(
                parent_assertion_hash=parent, encoded_state=state, inbox_acc=inbox_acc
            ):
                raise WitnessError("the assertion is not the confirmed one")
            if keccak(header_rlp) != assertion.block_hash:
                raise WitnessError("the block header is not the assertion's block")
            state_root = bytes(rlp.decode(header_rlp)[3])
        else:
            raise WitnessError(f"unknown witness kind {kind}")
    except (DecodingError, ValueError, TypeError, IndexError, rlp.exceptions.RLPException) as exc:
        raise WitnessError(f"malformed witness ({type(exc).__name__})") from None
    try:
        account = verify_account(state_root, registry, account_proof)
    except InvalidProof as exc:
        raise WitnessError(str(exc)) from None
    if isinstance(record, Multicall):
        if len(storage_proofs) != len(record.records):
            raise WitnessError(f"{len(storage_proofs)} proof groups for {len(record.records)} calls")
        return tuple(
            proven_record(one, account.storage_root, group)
            for one, group in zip(record.records, storage_proofs, strict=True)
        )
    return proven_record(record, account.storage_root, storage_proofs)

"""The contract tests' proposer on the L1 harness contracts (ape senders), and raw proof answers to tamper with.

`OpProposer` posts OP-stack output roots of an L2 anvil as games of the harness `DisputeGameFactory`;
`ArbitrumProposer` posts (and confirms) BOLD assertions whose after-state carries the L2 block hash on the harness
rollup, in upstream's `AssertionInputs` form (the before-state is the parent's after-state, read back from the
parent's `AssertionCreated` event). Every fact about the L2 side comes from the product code: output roots from
`indexer.proofs.witness.output_root_preimage`, the record's slots from `indexer.proofs.witness.record_slots`, the
response encodings from `encode_op_response` / `encode_arbitrum_response`, headers from `indexer.proofs.verify`,
the event from `indexer.gateway.proving.decode_assertion_created`. What stays here is what tests need to tamper:
the proofs as a `harness.mpt_proofs.AccountProof` (slot, value, nodes), encoded unchecked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import keccak

from harness.devnet import Anvil
from harness.mpt_proofs import AccountProof, get_proof
from indexer.gateway.codec import decode_record_call
from indexer.gateway.proving import ASSERTION_CREATED_TOPIC, decode_assertion_created, record_of
from indexer.proofs.rpc import JsonRpc, Web3Rpc
from indexer.proofs.verify import Header
from indexer.proofs.witness import (
    ASSERTION_STATE_TYPE,
    Assertion,
    Record,
    assertion_hash,
    encode_arbitrum_response,
    encode_assertion_state,
    encode_op_response,
    output_root,
    output_root_preimage,
    record_slots,
)


def node_rpc(node: Anvil) -> JsonRpc:
    """`node`'s JSON-RPC as the product code calls it."""

    def call(method: str, params: Sequence[Any]) -> Any:
        return node.rpc(method, list(params))

    return call


@dataclass(frozen=True)
class OpOutput:
    game_index: int
    game: str
    block_number: int
    preimage: list[bytes]  # version, state root, message-passer storage root, block hash


class OpProposer:
    """Posts the L2's output roots as games of the harness factory (any L1 sender, ape or web3 style)."""

    def __init__(self, l2: Anvil, factory: Any, game_type: int = 0) -> None:
        self.l2, self.factory, self.game_type = l2, factory, game_type

    def propose(
        self, sender: Any, block_number: int | None = None, root_claim: bytes | None = None
    ) -> OpOutput:
        number = self.l2.block_number() if block_number is None else block_number
        preimage = output_root_preimage(node_rpc(self.l2), number)
        claim = output_root(preimage) if root_claim is None else root_claim
        self.factory.create(self.game_type, claim, number.to_bytes(32, "big"), sender=sender)
        index = self.factory.gameCount() - 1
        return OpOutput(index, self.factory.gameAtIndex(index)[2], number, preimage)


@dataclass(frozen=True)
class ArbitrumAssertion:
    assertion: Assertion
    header: bytes  # the RLP header of the after-state's L2 block
    block_number: int


def parent_assertion(l1_rpc: JsonRpc, rollup: str, parent_hash: bytes) -> Assertion:
    """The assertion `parent_hash` as its `AssertionCreated` event records it (`l1_rpc(method, params)`)."""
    logs = l1_rpc(
        "eth_getLogs",
        [
            {
                "address": rollup,
                "fromBlock": "0x0",
                "toBlock": "latest",
                "topics": ["0x" + ASSERTION_CREATED_TOPIC.hex(), "0x" + parent_hash.hex()],
            }
        ],
    )
    assert logs, f"no AssertionCreated for 0x{parent_hash.hex()}"
    return decode_assertion_created(logs[0], parent_hash)


def assertion_inputs(parent: Assertion, after_state: bytes) -> tuple:
    """BOLD's `AssertionInputs` for an assertion on top of `parent`: its before-state is the parent's after-state,
    `beforeStateData` the parent's own parent and inbox accumulator (what upstream checks against the parent's
    hash); `after_state` is `abi.encode(AssertionState)`. The config data is the harness's (all zero)."""
    config = (bytes(32), 0, "0x" + "00" * 20, 0, 0)
    before_data = (parent.parent_assertion_hash, parent.inbox_acc, config)
    (before,) = decode([ASSERTION_STATE_TYPE], parent.encoded_state)
    (after,) = decode([ASSERTION_STATE_TYPE], after_state)
    return (before_data, before, after)


class ArbitrumProposer:
    """Posts (and, unless told not to, confirms) BOLD assertions of the L2's blocks on the harness rollup, on top of
    its latest confirmed assertion."""

    def __init__(self, l2: Anvil, rollup: Any) -> None:
        self.l2, self.rollup = l2, rollup

    def propose(
        self, sender: Any, block_number: int | None = None, *, confirm: bool = True
    ) -> ArbitrumAssertion:
        from ape import chain

        number = self.l2.block_number() if block_number is None else block_number
        header = Header.from_rpc(self.l2.rpc("eth_getBlockByNumber", [hex(number), False]))
        parent_hash = bytes(self.rollup.latestConfirmed())
        parent = parent_assertion(Web3Rpc(chain.provider.web3), self.rollup.address, parent_hash)
        send_root, inbox_acc = keccak(b"send root %d" % number), keccak(b"inbox %d" % number)
        state = encode_assertion_state(
            block_hash=header.hash,
            send_root=send_root,
            inbox_position=number,
            end_history_root=keccak(b"history %d" % number),
        )
        new = assertion_hash(parent_assertion_hash=parent_hash, encoded_state=state, inbox_acc=inbox_acc)
        self.rollup.harnessAssert(assertion_inputs(parent, state), parent_hash, inbox_acc, sender=sender)
        if confirm:
            self.rollup.harnessConfirm(new, header.hash, send_root, sender=sender)
        return ArbitrumAssertion(Assertion(new, parent_hash, inbox_acc, state), header.rlp, number)


def record_for_call(data: bytes) -> Record:
    """The record a resolver call (`text`, `addr`, `addr(coin)`, `contenthash` calldata) reads."""
    return record_of(decode_record_call(data, data[4:36]))


def storage_witness(l2: Anvil, registry: str, data: bytes, block_number: int) -> AccountProof:
    """`eth_getProof` of the slots the call's record occupies at the block (the product's `record_slots`)."""
    slots = record_slots(node_rpc(l2), registry, record_for_call(data), block_number)
    return get_proof(l2.rpc, registry, slots, block_number)


def op_response(output: OpOutput, proof: AccountProof) -> bytes:
    return encode_op_response(
        output.game_index, output.preimage, proof.account_proof, [nodes for _, _, nodes in proof.storage]
    )


def arbitrum_response(assertion: ArbitrumAssertion, proof: AccountProof) -> bytes:
    return encode_arbitrum_response(
        assertion.assertion, assertion.header, proof.account_proof, [nodes for _, _, nodes in proof.storage]
    )

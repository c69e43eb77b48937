"""A devnet proposer and proof-answer builder for the resolver's proof mode (tests only).

`OpProposer` posts OP-stack output roots of an L2 anvil to the harness `DisputeGameFactory` on L1 (the output root
is upstream's version-0 hash: `keccak256(version ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash)`, the
message passer being the predeploy 0x4200…0016). `ArbitrumProposer` posts and confirms BOLD assertions whose
after-state carries the L2 block hash, on the harness rollup. `record_slots` walks ProfileRegistry's storage
layout the way the resolver's verifier does, and `op_response` / `arbitrum_response` encode the gateway's answer
(`abi.encode(uint8 kind, bytes witness)`, docs/proof-mode.md) from `eth_getProof`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp
from eth_abi import decode, encode
from eth_utils import keccak

from harness.devnet import Anvil
from harness.mpt_proofs import AccountProof, get_proof

MESSAGE_PASSER = "0x4200000000000000000000000000000000000016"
TEXTS_SLOT, ADDRESSES_SLOT, LONG_ADDRESSES_SLOT, CONTENTHASHES_SLOT = 3, 4, 5, 6
COIN_TYPE_ETH, COIN_TYPE_DEFAULT = 60, 2**31
TEXT, ADDR, ADDR_COIN, CONTENTHASH = (
    bytes.fromhex(s) for s in ("59d1d43c", "3b3b57de", "f1cb7e06", "bc1c58d1")
)
_HEADER_FIELDS = [
    "parentHash",
    "sha3Uncles",
    "miner",
    "stateRoot",
    "transactionsRoot",
    "receiptsRoot",
    "logsBloom",
    "difficulty",
    "number",
    "gasLimit",
    "gasUsed",
    "timestamp",
    "extraData",
    "mixHash",
    "nonce",
    "baseFeePerGas",
    "withdrawalsRoot",
    "blobGasUsed",
    "excessBlobGas",
    "parentBeaconBlockRoot",
    "requestsHash",
]
_INTEGER_FIELDS = {"difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas"}
_INTEGER_FIELDS |= {"blobGasUsed", "excessBlobGas"}


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def block_header_rlp(block: dict[str, Any]) -> bytes:
    """The RLP header of an `eth_getBlockByNumber` answer; checked against the block's hash."""
    fields: list[Any] = []
    for name in _HEADER_FIELDS:
        if name not in block or block[name] is None:
            continue
        fields.append(int(block[name], 16) if name in _INTEGER_FIELDS else _b(block[name]))
    header = rlp.encode(fields)
    assert keccak(header) == _b(block["hash"]), "header fields do not hash to the block hash"
    return header


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

    def output(self, block_number: int) -> list[bytes]:
        block = self.l2.rpc("eth_getBlockByNumber", [hex(block_number), False])
        passer = get_proof(self.l2.rpc, MESSAGE_PASSER, [], block_number)
        return [bytes(32), _b(block["stateRoot"]), passer.storage_root, _b(block["hash"])]

    def propose(
        self, sender: Any, block_number: int | None = None, root_claim: bytes | None = None
    ) -> OpOutput:
        number = self.l2.block_number() if block_number is None else block_number
        preimage = self.output(number)
        claim = keccak(b"".join(preimage)) if root_claim is None else root_claim
        self.factory.create(self.game_type, claim, number.to_bytes(32, "big"), sender=sender)
        index = self.factory.gameCount() - 1
        return OpOutput(index, self.factory.gameAtIndex(index)[2], number, preimage)


@dataclass(frozen=True)
class ArbitrumAssertion:
    assertion_hash: bytes
    parent_hash: bytes
    inbox_acc: bytes
    state: bytes  # abi.encode(AssertionState)
    header: bytes
    block_number: int


class ArbitrumProposer:
    """Posts (and, unless told not to, confirms) BOLD assertions of the L2's blocks on the harness rollup."""

    def __init__(self, l2: Anvil, rollup: Any) -> None:
        self.l2, self.rollup = l2, rollup

    def propose(
        self, sender: Any, block_number: int | None = None, *, confirm: bool = True
    ) -> ArbitrumAssertion:
        number = self.l2.block_number() if block_number is None else block_number
        block = self.l2.rpc("eth_getBlockByNumber", [hex(number), False])
        header = block_header_rlp(block)
        parent = bytes(self.rollup.latestConfirmed())
        send_root, inbox_acc = keccak(b"send root %d" % number), keccak(b"inbox %d" % number)
        state = (((_b(block["hash"]), send_root), (number, 0)), 1, keccak(b"history %d" % number))
        encoded = encode(["((bytes32[2],uint64[2]),uint8,bytes32)"], [state])
        assertion = keccak(parent + keccak(encoded) + inbox_acc)
        self.rollup.harnessAssert(parent, state, inbox_acc, sender=sender)
        if confirm:
            self.rollup.harnessConfirm(assertion, _b(block["hash"]), send_root, sender=sender)
        return ArbitrumAssertion(assertion, parent, inbox_acc, encoded, header, number)


# ---------------------------------------------------------------- ProfileRegistry's slots


def _map(slot: bytes, key: bytes) -> bytes:
    """Vyper's HashMap slot: keccak256(slot ‖ key), a byte-string key hashed first."""
    return keccak(slot + key)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _coin_slot(node: bytes, coin: int, base: int) -> int:
    return int.from_bytes(_map(_map(_word(base), node), _word(coin)), "big")


def _evm_chain(coin: int) -> int:
    if coin == COIN_TYPE_ETH:
        return 1
    chain_id = coin ^ COIN_TYPE_DEFAULT
    return chain_id if chain_id < COIN_TYPE_DEFAULT else 0


def record_slots(l2: Anvil, registry: str, data: bytes, block_number: int) -> list[int]:
    """The storage slots a resolver call reads, in the verifier's order, following the values at the block."""

    def value(slot: int) -> int:
        return int(l2.rpc("eth_getStorageAt", [registry, hex(slot), hex(block_number)]), 16)

    def string_slots(base: int) -> list[int]:
        length = value(base)
        return [base + i for i in range(1 + (length + 31) // 32)]

    selector, node = data[:4], data[4:36]
    if selector == TEXT:
        _, key = decode(["bytes32", "string"], data[4:])
        base = int.from_bytes(_map(_map(_word(TEXTS_SLOT), node), keccak(key.encode())), "big")
        return string_slots(base)
    if selector == CONTENTHASH:
        return string_slots(int.from_bytes(_map(_word(CONTENTHASHES_SLOT), node), "big"))
    coin = COIN_TYPE_ETH if selector == ADDR else int.from_bytes(data[36:68], "big")
    slots = [_coin_slot(node, coin, ADDRESSES_SLOT)]
    word = value(slots[0])
    if word == 0 and coin != COIN_TYPE_DEFAULT and _evm_chain(coin):
        coin = COIN_TYPE_DEFAULT
        slots.append(_coin_slot(node, coin, ADDRESSES_SLOT))
        word = value(slots[-1])
    if selector == ADDR_COIN and word & 255 == 255:
        slots += string_slots(_coin_slot(node, coin, LONG_ADDRESSES_SLOT))
    return slots


def storage_witness(l2: Anvil, registry: str, data: bytes, block_number: int) -> AccountProof:
    return get_proof(l2.rpc, registry, record_slots(l2, registry, data, block_number), block_number)


def op_response(output: OpOutput, proof: AccountProof) -> bytes:
    witness = encode(
        ["uint256", "bytes32[4]", "bytes[]", "bytes[][]"],
        [output.game_index, output.preimage, proof.account_proof, [nodes for _, _, nodes in proof.storage]],
    )
    return encode(["uint8", "bytes"], [1, witness])


def arbitrum_response(assertion: ArbitrumAssertion, proof: AccountProof) -> bytes:
    witness = encode(
        ["bytes32", "bytes32", "bytes32", "bytes", "bytes", "bytes[]", "bytes[][]"],
        [
            assertion.assertion_hash,
            assertion.parent_hash,
            assertion.inbox_acc,
            assertion.state,
            assertion.header,
            proof.account_proof,
            [nodes for _, _, nodes in proof.storage],
        ],
    )
    return encode(["uint8", "bytes"], [2, witness])

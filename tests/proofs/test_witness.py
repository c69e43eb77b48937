"""Proof-mode witnesses built from anvil verify in Python as the resolver will verify them: the record's value equals
the registry's view, for texts of every length class, addresses (short, long, the ENSIP-19 default fallback),
contenthashes and missing records (exclusion proofs); tampered witnesses are refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_abi import decode, encode
from eth_utils import keccak

from harness.devnet import Devnet, cs
from harness.proofs import address_node, send_big
from indexer.ens import DEFAULT_EVM_COIN_TYPE
from indexer.proofs import slots
from indexer.proofs.rpc import UrlRpc
from indexer.proofs.verify import EMPTY_TRIE_ROOT, ProofError
from indexer.proofs.witness import (
    KIND_ARBITRUM,
    KIND_OP_STACK,
    MESSAGE_PASSER,
    Addr,
    Assertion,
    Contenthash,
    Multicall,
    Query,
    Record,
    Text,
    Witness,
    WitnessError,
    arbitrum_witness,
    assertion_hash,
    encode_assertion_state,
    op_witness,
    verify_witness,
)

LONG_COIN = 0  # bitcoin: not an EVM coin, any length up to 128 bytes


@pytest.fixture(scope="module")
def rpc(chain: Devnet) -> Iterator[UrlRpc]:
    node = UrlRpc(chain.anvil.url)
    yield node
    node.close()


@pytest.fixture(scope="module")
def records(chain: Devnet) -> dict[str, tuple[Record, bytes]]:
    """Records of one address name, each with the value the registry's view returns."""
    owner, other = chain.accounts[1], chain.accounts[2]
    node = address_node(owner)
    fallback = address_node(other)  # only the default EVM address set: addr(node) falls back to it
    reg = chain.registry
    texts = {f"t{n}": "é" * (n // 2) + "x" * (n % 2) for n in (0, 1, 31, 32, 33, 500)}
    for key, value in texts.items():
        if value:
            send_big(chain, reg, owner, "setText", node, key, value)
    send_big(chain, reg, owner, "setAddr", node, cs(other))
    send_big(chain, reg, owner, "setAddrForCoin", node, LONG_COIN, b"\x11" * 40)
    send_big(chain, reg, owner, "setContenthash", node, b"\xe3\x01" + b"\x22" * 60)
    send_big(chain, reg, other, "setAddrForCoin", fallback, DEFAULT_EVM_COIN_TYPE, bytes.fromhex(owner[2:]))
    out: dict[str, tuple[Record, bytes]] = {
        key: (Text(node, key), reg.view("text", node, key).encode()) for key in texts
    }
    out |= {
        "addr": (Addr(node), bytes.fromhex(other[2:])),
        "long_coin": (Addr(node, LONG_COIN), reg.view("addrForCoin", node, LONG_COIN)),
        "fallback": (Addr(fallback), reg.view("addrForCoin", fallback, 60)),
        "contenthash": (Contenthash(node), reg.view("contenthash", node)),
        "missing_text": (Text(node, "nobody.set.this"), b""),
        "missing_addr": (Addr(address_node(chain.accounts[3]), 2), b""),
    }
    assert out["fallback"][1] == bytes.fromhex(owner[2:]) and len(out["long_coin"][1]) == 40
    assert out["t500"][1] == texts["t500"].encode() and len(out["t500"][1]) == 500
    return out


def _op(chain: Devnet, rpc: UrlRpc, record: Query) -> Witness:
    block = chain.anvil.block_number()
    return op_witness(rpc, registry=chain.registry.address, record=record, block=block, game_index=7)


def _arbitrum(chain: Devnet, rpc: UrlRpc, record: Query) -> Witness:
    block_hash = bytes.fromhex(chain.anvil.rpc("eth_getBlockByNumber", ["latest", False])["hash"][2:])
    state = encode_assertion_state(block_hash=block_hash, send_root=b"\x05" * 32, inbox_position=12)
    parent, inbox_acc = b"\x01" * 32, b"\x02" * 32
    assertion = Assertion(
        assertion_hash=assertion_hash(parent_assertion_hash=parent, encoded_state=state, inbox_acc=inbox_acc),
        parent_assertion_hash=parent,
        inbox_acc=inbox_acc,
        encoded_state=state,
    )
    return arbitrum_witness(rpc, registry=chain.registry.address, record=record, assertion=assertion)


@pytest.mark.parametrize("build", [_op, _arbitrum], ids=["op", "arbitrum"])
def test_witness__every_record_verifies(
    chain: Devnet, rpc: UrlRpc, records: dict[str, tuple[Record, bytes]], build: object
) -> None:
    for name, (record, value) in records.items():
        witness = build(chain, rpc, record)  # type: ignore[operator]
        proven = verify_witness(
            witness.response, registry=chain.registry.address, record=record, commitment=witness.commitment
        )
        assert proven == value, name


@pytest.mark.parametrize("build", [_op, _arbitrum], ids=["op", "arbitrum"])
def test_witness__multicall_verifies_each_record_and_refuses_a_wrong_grouping(
    chain: Devnet, rpc: UrlRpc, records: dict[str, tuple[Record, bytes]], build: object
) -> None:
    """A multicall's witness (one proof group per call) proves every record in order; checked as another grouping
    of the same records (fewer calls, another order) it is refused."""
    chosen = list(records.values())[:4]
    multicall = Multicall(tuple(record for record, _ in chosen))
    witness = build(chain, rpc, multicall)  # type: ignore[operator]
    proven = verify_witness(
        witness.response, registry=chain.registry.address, record=multicall, commitment=witness.commitment
    )
    assert proven == tuple(value for _, value in chosen)
    for other in (Multicall(multicall.records[:-1]), Multicall(multicall.records[::-1])):
        with pytest.raises((WitnessError, ProofError)):
            verify_witness(
                witness.response, registry=chain.registry.address, record=other, commitment=witness.commitment
            )


def test_op_witness__format(chain: Devnet, rpc: UrlRpc, records: dict[str, tuple[Record, bytes]]) -> None:
    record, value = records["t33"]
    witness = _op(chain, rpc, record)
    kind, inner = decode(["uint8", "bytes"], witness.response)
    game, preimage, account_proof, storage_proofs = decode(
        ["uint256", "bytes32[4]", "bytes[]", "bytes[][]"], inner
    )
    header = chain.anvil.rpc("eth_getBlockByNumber", [hex(witness.block_number), False])
    assert (kind, game) == (KIND_OP_STACK, 7)
    assert preimage[0] == b"\x00" * 32 and "0x" + preimage[1].hex() == header["stateRoot"]
    assert preimage[2] == EMPTY_TRIE_ROOT  # anvil has no message passer predeploy
    assert "0x" + preimage[3].hex() == header["hash"]
    assert witness.commitment == keccak(b"".join(preimage))
    assert (
        len(account_proof) > 0 and len(storage_proofs) == 1 + 2
    )  # length slot + two data slots for 33 bytes
    assert len(value) == 33


def test_op_witness__message_passer_storage_root(chain: Devnet, rpc: UrlRpc) -> None:
    chain.anvil.rpc("anvil_setStorageAt", [MESSAGE_PASSER, "0x0", "0x" + "01" * 32])
    chain.anvil.mine()
    witness = _op(chain, rpc, Contenthash(b"\x00" * 32))
    preimage = decode(
        ["uint256", "bytes32[4]", "bytes[]", "bytes[][]"], decode(["uint8", "bytes"], witness.response)[1]
    )[1]
    proof = chain.anvil.rpc("eth_getProof", [MESSAGE_PASSER, [], hex(witness.block_number)])
    assert preimage[2] != EMPTY_TRIE_ROOT and "0x" + preimage[2].hex() == proof["storageHash"]


def test_arbitrum_witness__format(
    chain: Devnet, rpc: UrlRpc, records: dict[str, tuple[Record, bytes]]
) -> None:
    witness = _arbitrum(chain, rpc, records["addr"][0])
    kind, inner = decode(["uint8", "bytes"], witness.response)
    fields = decode(["bytes32", "bytes32", "bytes32", "bytes", "bytes", "bytes[]", "bytes[][]"], inner)
    assert kind == KIND_ARBITRUM and fields[0] == witness.commitment
    assert keccak(fields[4]) == witness.block_hash
    assert len(fields[6]) == 1  # a set 20-byte address: one packed word


def _reencode_op(witness: Witness, change: object) -> bytes:
    types = ["uint256", "bytes32[4]", "bytes[]", "bytes[][]"]
    values = [
        list(v) if isinstance(v, tuple) else v
        for v in decode(types, decode(["uint8", "bytes"], witness.response)[1])
    ]
    values[1], values[3] = list(values[1]), [list(p) for p in values[3]]
    change(values)  # type: ignore[operator]
    return encode(["uint8", "bytes"], [KIND_OP_STACK, encode(types, values)])


def test_witness__tampering_is_refused(
    chain: Devnet, rpc: UrlRpc, records: dict[str, tuple[Record, bytes]]
) -> None:
    record, _ = records["t33"]
    witness = _op(chain, rpc, record)
    registry = chain.registry.address

    def refused(response: bytes, match: str, *, for_record: Record = record) -> None:
        with pytest.raises(ProofError, match=match):
            verify_witness(response, registry=registry, record=for_record, commitment=witness.commitment)

    def state_root(values: list) -> None:  # type: ignore[type-arg]
        values[1][1] = b"\x99" * 32

    def drop_last(values: list) -> None:  # type: ignore[type-arg]
        values[3].pop()

    def swap(values: list) -> None:  # type: ignore[type-arg]
        values[3][1], values[3][2] = values[3][2], values[3][1]

    refused(_reencode_op(witness, state_root), "root claim")
    refused(_reencode_op(witness, drop_last), "no storage proof")
    refused(_reencode_op(witness, swap), "does not verify")
    refused(
        witness.response, "does not verify|more than", for_record=records["t32"][0]
    )  # another key's slots
    refused(witness.response, "does not verify", for_record=Text(address_node(chain.accounts[4]), "t33"))
    with pytest.raises(
        ProofError, match="does not verify"
    ):  # the registry's proofs claimed for another account
        verify_witness(
            witness.response, registry=chain.deposits.address, record=record, commitment=witness.commitment
        )
    refused(encode(["uint8", "bytes"], [3, b""]), "unknown witness kind")
    refused(witness.response[:100], "malformed")


def test_arbitrum_witness__unconfirmed_or_inconsistent_assertion(chain: Devnet, rpc: UrlRpc) -> None:
    block_hash = bytes.fromhex(chain.anvil.rpc("eth_getBlockByNumber", ["latest", False])["hash"][2:])
    state = encode_assertion_state(block_hash=block_hash)
    with pytest.raises(WitnessError, match="does not match"):
        arbitrum_witness(
            rpc,
            registry=chain.registry.address,
            record=Contenthash(b"\x00" * 32),
            assertion=Assertion(b"\x00" * 32, b"\x01" * 32, b"\x02" * 32, state),
        )
    witness = _arbitrum(chain, rpc, Contenthash(b"\x00" * 32))
    with pytest.raises(WitnessError, match="not the confirmed"):
        verify_witness(
            witness.response,
            registry=chain.registry.address,
            record=Contenthash(b"\x00" * 32),
            commitment=b"\x03" * 32,
        )


def test_record_slots__length_classes() -> None:
    length_slot = slots.text_slot(b"\x00" * 32, "k")
    assert slots.bytestring_slots(length_slot, 0) == [length_slot]
    assert (
        len(slots.bytestring_slots(length_slot, 32)) == 2
        and len(slots.bytestring_slots(length_slot, 33)) == 3
    )

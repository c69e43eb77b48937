"""RLP + Merkle-Patricia proof verification (`contracts/modules/rlp.vy`, `mpt.vy`) through `MptVerifier`.

Honest proofs come from anvil's `eth_getProof` (accounts and storage slots, present and absent); hand-built tries
(py-trie, raw 32-byte keys) give the shapes a small secure trie rarely has: extensions and nodes embedded in their
parent. Every tampering is re-hashed up to a new root (`harness.mpt_proofs.rehash`) so the check under test is the one
that fires, not the first hash mismatch.
"""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from ape import chain
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie
from web3.exceptions import ContractLogicError

from harness.mpt_proofs import AccountProof, edit_node, get_proof, rehash, trie_proof

EMPTY_TRIE_ROOT = keccak(rlp.encode(b""))


@pytest.fixture(scope="module")
def verifier(project: Any, accounts: Any) -> Any:
    return project.MptVerifier.deploy(sender=accounts[0])


def _request(method: str, params: list[Any]) -> Any:
    return chain.provider.make_request(method, params)


def _proof_now(address: str, slots: list[int]) -> AccountProof:
    chain.mine()
    return get_proof(_request, address, slots, chain.blocks.head.number)


def _set_slot(address: str, slot: int, value: int) -> None:
    _request(
        "anvil_setStorageAt",
        [
            "0x" + bytes.fromhex(address[2:]).hex(),
            "0x" + slot.to_bytes(32, "big").hex(),
            "0x" + value.to_bytes(32, "big").hex(),
        ],
    )


STORAGE_ACCOUNT = "0x" + "5a" * 20


@pytest.fixture(scope="module")
def storage_account() -> str:
    """An account with code and 40 storage slots: a storage trie three levels deep."""
    _request("anvil_setCode", [STORAGE_ACCOUNT, "0x00"])
    for slot in range(40):
        _set_slot(STORAGE_ACCOUNT, slot, slot * 1000 + 1)
    return STORAGE_ACCOUNT


# ---------------------------------------------------------------- honest proofs


def test_accounts_present_and_absent(verifier: Any, accounts: Any, storage_account: str) -> None:
    for i, account in enumerate(accounts[:6]):
        _request("anvil_setNonce", [account.address, hex(7 * i + 1)])
    addresses = [a.address for a in accounts[:6]] + [storage_account]
    absent = ["0x" + keccak(bytes([i]))[:20].hex() for i in range(4)]
    chain.mine()
    block = chain.blocks.head.number
    for address in addresses:
        proof = get_proof(_request, address, [], block)
        assert verifier.verify_account(proof.state_root, address, proof.account_proof) == (
            True,
            proof.nonce,
            proof.balance,
            proof.storage_root,
            proof.code_hash,
        )
    for address in absent:
        proof = get_proof(_request, address, [], block)
        assert verifier.verify_account(proof.state_root, address, proof.account_proof) == (
            False,
            0,
            0,
            EMPTY_TRIE_ROOT,
            bytes(32),
        )


def test_storage_present_absent_and_empty_trie(verifier: Any, storage_account: str) -> None:
    slots = [0, 1, 17, 39, 40, 2**255, 12345]
    proof = _proof_now(storage_account, slots)
    assert proof.storage_root != EMPTY_TRIE_ROOT
    for slot, value, nodes in proof.storage:
        assert verifier.verify_storage(proof.storage_root, slot, nodes) == value
        assert value == (slot * 1000 + 1 if slot < 40 else 0)
    # An account without storage: the empty trie proves every slot zero, with an empty proof or the node 0x80.
    empty = _proof_now("0x" + "77" * 20, [3])
    assert empty.storage_root == EMPTY_TRIE_ROOT
    assert verifier.verify_storage(EMPTY_TRIE_ROOT, 3, empty.storage[0][2]) == 0
    assert verifier.verify_storage(EMPTY_TRIE_ROOT, 3, []) == 0
    assert verifier.verify_storage(EMPTY_TRIE_ROOT, 3, [b"\x80"]) == 0


# What the storage account holds during the campaign below (its examples share one chain).
_CAMPAIGN_STATE: dict[int, int] = {}


@settings(deadline=None, max_examples=12)
@given(
    writes=st.lists(
        st.tuples(st.integers(0, 2**256 - 1), st.integers(1, 2**256 - 1)),
        min_size=1,
        max_size=6,
        unique_by=lambda w: w[0],
    ),
    absent=st.lists(st.integers(0, 2**256 - 1), max_size=3),
)
def test_storage_proofs_over_any_slots(verifier: Any, storage_account: str, writes: Any, absent: Any) -> None:
    if not _CAMPAIGN_STATE:
        _CAMPAIGN_STATE.update({slot: slot * 1000 + 1 for slot in range(40)})
    for slot, value in writes:
        _set_slot(storage_account, slot, value)
        _CAMPAIGN_STATE[slot] = value
    queried = [slot for slot, _ in writes] + absent
    proof = _proof_now(storage_account, queried)
    for slot, value, nodes in proof.storage:
        expected = _CAMPAIGN_STATE.get(slot, 0)
        assert value == expected
        assert verifier.verify_storage(proof.storage_root, slot, nodes) == expected
    assert (
        verifier.verify_account(proof.state_root, storage_account, proof.account_proof)[3]
        == proof.storage_root
    )


def test_embedded_nodes_and_extensions(verifier: Any) -> None:
    """Raw keys sharing 31 bytes: an extension, a branch, and leaves embedded in the branch (< 32 bytes)."""
    trie = HexaryTrie(db={})
    keys = [bytes(31) + bytes([b]) for b in (1, 2, 0x13)] + [b"\x10" + bytes(31)]
    for i, key in enumerate(keys):
        trie[key] = bytes([i + 5])
    for key in keys:
        assert verifier.verify(trie.root_hash, key, trie_proof(trie, key)) == (True, trie[key])
    # Absent: an empty child of the embedded branch, a diverging extension, a diverging leaf.
    for key in (bytes(31) + b"\x04", b"\x00" * 5 + b"\x01" + bytes(26), b"\x10" + bytes(30) + b"\x01"):
        assert verifier.verify(trie.root_hash, key, trie_proof(trie, key)) == (False, b"")


# ---------------------------------------------------------------- tampered proofs


@pytest.fixture(scope="module")
def honest(storage_account: str) -> AccountProof:
    return _proof_now(storage_account, [5, 40])


def _storage(verifier: Any, root: bytes, slot: int, nodes: list[bytes]) -> int:
    return verifier.verify_storage(root, slot, nodes)


def _reason(verifier: Any, function: str, *args: Any) -> Any:
    """A raw `eth_call`: the revert reason, or the decoded result when it does not revert (ape takes ~1 s to
    enrich each revert of a call with a long argument; web3 alone does not)."""
    web3 = chain.provider.web3
    abi = [item.model_dump(mode="json", by_alias=True) for item in verifier.contract_type.abi]
    contract = web3.eth.contract(address=verifier.address, abi=abi)
    plain = [web3.to_checksum_address(a) if isinstance(a, str) and a.startswith("0x") else a for a in args]
    try:
        result = getattr(contract.functions, function)(*plain).call()
    except ContractLogicError as error:
        return str(error.message).removeprefix("execution reverted: ")
    return result


def test_wrong_hash_and_truncated_nodes(verifier: Any, honest: AccountProof) -> None:
    _, _, nodes = honest.storage[0]
    assert (
        _reason(verifier, "verify_storage", honest.storage_root, 5, [nodes[0][:-1], *nodes[1:]])
        == "mpt: wrong node hash"
    )
    middle = bytearray(nodes[1])
    middle[-5] ^= 1
    assert (
        _reason(verifier, "verify_storage", honest.storage_root, 5, [nodes[0], bytes(middle), *nodes[2:]])
        == "mpt: wrong node hash"
    )
    assert _reason(verifier, "verify_storage", keccak(b"other root"), 5, nodes) == "mpt: wrong node hash"
    # Re-hashed so the RLP decoder sees them: cut short, longer than declared, bytes after the list.
    for bad, reason in [
        (nodes[0][:-1], "rlp: truncated"),
        (nodes[0][:3] + nodes[0][3:-33], "rlp: truncated"),
        (nodes[0] + b"\x80", "rlp: trailing bytes"),
    ]:
        assert _reason(verifier, "verify_storage", keccak(bad), 5, [bad, *nodes[1:]]) == reason


def test_oversized_and_non_canonical_lengths(verifier: Any, honest: AccountProof) -> None:
    _, _, nodes = honest.storage[0]
    root = nodes[0]  # a branch: f9 LL LL then 33-byte children
    assert root[0] == 0xF9
    oversized = b"\xf9" + (int.from_bytes(root[1:3], "big") + 1).to_bytes(2, "big") + root[3:]
    huge = b"\xff" + b"\xff" * 8 + root[3:]
    long_form_short = b"\xf8\x01\x80"  # a one-byte list in long form
    zero_led = b"\xfa\x00" + root[1:]  # a length with a leading zero byte
    single_byte = b"\xc2\x81\x05"  # 0x05 wrapped in a string header
    for bad, reason in [
        (oversized, "rlp: truncated"),
        (huge, "rlp: truncated"),
        (long_form_short, "rlp: non-canonical"),
        (zero_led, "rlp: non-canonical"),
        (single_byte, "rlp: non-canonical"),
        (b"\x81\x90", "rlp: not a list"),
    ]:
        assert _reason(verifier, "verify_storage", keccak(bad), 5, [bad, *nodes[1:]]) == reason


def test_proof_length_and_wrong_key(verifier: Any, honest: AccountProof) -> None:
    _, value, nodes = honest.storage[0]
    assert value == 5001
    assert _reason(verifier, "verify_storage", honest.storage_root, 5, nodes[:-1]) == "mpt: proof too short"
    assert (
        _reason(verifier, "verify_storage", honest.storage_root, 5, [*nodes, nodes[-1]])
        == "mpt: trailing proof nodes"
    )
    assert _reason(verifier, "verify_storage", honest.storage_root, 5, []) == "mpt: proof too short"
    # Slot 5's proof read for every other slot never yields slot 5's value: a hash mismatch, a proof too long for
    # the path taken, or (when the paths share the leaf's branch) a true proof of absence.
    for other in (6, 7, 12, 23, 31, 38, 40, 2**200):
        reason = _reason(verifier, "verify_storage", honest.storage_root, other, nodes)
        assert reason in ("mpt: wrong node hash", "mpt: trailing proof nodes", "mpt: proof too short", 0), (
            reason
        )


def test_inclusion_claimed_for_a_missing_key(verifier: Any, honest: AccountProof) -> None:
    """Slot 40 is absent; a leaf moved under its path (re-hashed) does not verify against the real root."""
    _, value, absent_nodes = honest.storage[1]
    assert value == 0
    assert _storage(verifier, honest.storage_root, 40, absent_nodes) == 0
    _, _, present = honest.storage[0]
    path = keccak((40).to_bytes(32, "big"))
    depth = len(present) - 1  # each node above the leaf is a branch: one nibble each
    rest = path.hex()[depth:]
    forged_leaf = rlp.encode([bytes.fromhex(("3" + rest) if len(rest) % 2 else ("20" + rest)), rlp.encode(7)])
    forged_root, forged = rehash(present, len(present) - 1, forged_leaf)
    assert _reason(verifier, "verify_storage", honest.storage_root, 40, forged) == "mpt: wrong node hash"
    # Against the forged root it "proves" only if the path really leads there; slot 40's does not.
    assert str(_reason(verifier, "verify_storage", forged_root, 40, forged)).startswith("mpt: ")


def test_node_shape_errors(verifier: Any, honest: AccountProof) -> None:
    _, _, nodes = honest.storage[0]
    leaf = len(nodes) - 1
    cases = [
        (0, lambda items: items[:16], "mpt: invalid node"),
        (0, lambda items: [*items[:16], b"\x01"], "mpt: branch with a value"),
        (
            leaf,
            lambda items: [bytes([items[0][0] & 0x0F | 0x40]) + items[0][1:], items[1]],
            "mpt: invalid hex-prefix",
        ),
        (leaf, lambda items: [b"", items[1]], "mpt: invalid path"),
        (leaf, lambda items: [items[0], b""], "mpt: invalid leaf value"),
        (leaf, lambda items: [items[0][:-1], items[1]], "mpt: invalid leaf path"),
        # A leaf marked as an extension: its path runs to the key's end, where only a leaf may.
        (leaf, lambda items: [bytes([items[0][0] & 0x1F]) + items[0][1:], items[1]], "mpt: path too long"),
    ]
    for index, edit, reason in cases:
        root, forged = rehash(nodes, index, edit_node(nodes[index], edit))
        assert _reason(verifier, "verify_storage", root, 5, forged) == reason
    # A branch child that is neither empty, a hash, nor an embedded node.
    nibble = keccak((5).to_bytes(32, "big"))[0] >> 4
    bad = edit_node(nodes[0], lambda items: [*items[:nibble], items[nibble][:31], *items[nibble + 1 :]])
    assert (
        _reason(verifier, "verify_storage", keccak(bad), 5, [bad, *nodes[1:]]) == "mpt: invalid branch child"
    )
    # A storage leaf whose value is not one RLP integer.
    root, forged = rehash(nodes, leaf, edit_node(nodes[leaf], lambda items: [items[0], b"\x01\x02"]))
    assert _reason(verifier, "verify_storage", root, 5, forged) == "mpt: invalid storage value"


def test_extension_mix_ups(verifier: Any) -> None:
    trie = HexaryTrie(db={})
    keys = [b"\xab\xcd" + bytes(29) + bytes([b]) for b in (0x10, 0x20)]
    for i, key in enumerate(keys):
        trie[key] = b"value %d is long enough to hash" % i
    proof = trie_proof(trie, keys[0])
    assert verifier.verify(trie.root_hash, keys[0], proof)[0]
    extension = rlp.decode(proof[0])
    assert len(extension) == 2 and extension[0][0] >> 4 in (0, 1)
    # The extension marked as a leaf.
    as_leaf = rlp.encode([bytes([extension[0][0] | 0x20]) + extension[0][1:], extension[1]])
    assert (
        _reason(verifier, "verify", keccak(as_leaf), keys[0], [as_leaf, *proof[1:]])
        == "mpt: invalid leaf path"
    )
    # An extension pointing straight at a leaf (no branch between).
    leaf = proof[-1]
    to_leaf = rlp.encode([extension[0], keccak(leaf)])
    assert (
        _reason(verifier, "verify", keccak(to_leaf), keys[0], [to_leaf, leaf])
        == "mpt: extension without a branch"
    )
    # An empty extension path.
    empty_path = rlp.encode([b"\x00", extension[1]])
    assert (
        _reason(verifier, "verify", keccak(empty_path), keys[0], [empty_path, *proof[1:]])
        == "mpt: empty extension"
    )
    # An even extension path with a non-zero padding nibble.
    padded = rlp.encode([bytes([extension[0][0] | 0x01]) + extension[0][1:], extension[1]])
    assert extension[0][0] >> 4 == 0  # 62 shared nibbles: an even path
    assert (
        _reason(verifier, "verify", keccak(padded), keys[0], [padded, *proof[1:]])
        == "mpt: invalid hex-prefix"
    )
    # An embedded node that is 32 bytes or longer is not embeddable.
    long_inline = rlp.encode([extension[0], rlp.decode(proof[1])])
    assert (
        _reason(verifier, "verify", keccak(long_inline), keys[0], [long_inline]) == "mpt: invalid inline node"
    )


def test_zero_valued_leaf_proves_zero(verifier: Any, honest: AccountProof) -> None:
    """anvil keeps a slot written with zero as a leaf holding rlp(0) = 0x80: it proves zero (geth never has one)."""
    _, _, nodes = honest.storage[0]
    leaf = len(nodes) - 1
    root, forged = rehash(nodes, leaf, edit_node(nodes[leaf], lambda items: [items[0], rlp.encode(0)]))
    assert _storage(verifier, root, 5, forged) == 0
    root, forged = rehash(
        nodes, leaf, edit_node(nodes[leaf], lambda items: [items[0], rlp.encode([b"\x01"])])
    )
    assert _reason(verifier, "verify_storage", root, 5, forged) == "mpt: invalid storage value"

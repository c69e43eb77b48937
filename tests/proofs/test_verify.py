"""`eth_getProof` answers from anvil verify against the state root of a header the verifier fetched and hashed
itself; every tampering (other slot, value, account, block; truncated or corrupted nodes; a missing proof) is a
`ProofError`, never a wrong value and never another exception."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.devnet import Devnet, cs
from harness.proofs import storage_at
from indexer.proofs import slots
from indexer.proofs.rpc import UrlRpc, fetch_header, fetch_proof
from indexer.proofs.verify import (
    ABSENT_ACCOUNT,
    AccountProof,
    Header,
    HeaderMismatch,
    InvalidProof,
    ProofError,
    verify_account,
    verify_storage,
)

ETHER = 10**18


@pytest.fixture(scope="module")
def rpc(chain: Devnet) -> Iterator[UrlRpc]:
    node = UrlRpc(chain.anvil.url)
    yield node
    node.close()


@pytest.fixture(scope="module")
def state(chain: Devnet) -> dict[str, object]:
    """Two blocks of deposits state: a pair with a bond and a price at `before`, then the bond topped up."""
    a, b, c = chain.accounts[1:4]
    dep = chain.deposits
    assert chain.send(dep, b, "set_min_deposit", ETHER)
    assert chain.send(dep, a, "deposit", cs(b), ETHER)
    before = chain.anvil.block_number()
    assert chain.send(dep, a, "deposit", cs(b), ETHER)
    after = chain.anvil.block_number()
    bond = slots.bond_slot(sender=a, recipient=b)
    minimum = slots.min_deposit_slot(b)
    absent = slots.bond_slot(sender=c, recipient=b)
    return {"before": before, "after": after, "slots": [bond, minimum, absent], "pair": (a, b)}


def test_header__hash_recomputed_for_every_block(
    chain: Devnet, rpc: UrlRpc, state: dict[str, object]
) -> None:
    for number in (0, 1, int(state["after"])):  # type: ignore[call-overload]
        header = fetch_header(rpc, number)
        assert (
            "0x" + header.hash.hex() == chain.anvil.rpc("eth_getBlockByNumber", [hex(number), False])["hash"]
        )


def test_header__a_changed_field_does_not_hash(chain: Devnet) -> None:
    raw = dict(chain.anvil.rpc("eth_getBlockByNumber", ["0x1", False]))
    raw["stateRoot"] = "0x" + "00" * 32
    with pytest.raises(HeaderMismatch, match="do not hash"):
        Header.from_rpc(raw)
    with pytest.raises(HeaderMismatch, match="not a block header"):
        Header.from_rpc({"hash": "0x00"})


def test_storage__honest_proof_verifies(chain: Devnet, rpc: UrlRpc, state: dict[str, object]) -> None:
    wanted: list[int] = state["slots"]  # type: ignore[assignment]
    for block in (int(state["before"]), int(state["after"])):  # type: ignore[call-overload]
        header = fetch_header(rpc, block)
        proof = fetch_proof(rpc, chain.deposits.address, wanted, block)
        values = verify_storage(header.state_root, proof, wanted)
        assert values == {s: storage_at(chain, chain.deposits.address, s, hex(block)) for s in wanted}
    bond, minimum, absent = (values[s] for s in wanted)
    assert slots.unpack_bond(bond).amount == 2 * ETHER and minimum == ETHER and absent == 0


def test_storage__proof_by_block_hash(chain: Devnet, rpc: UrlRpc, state: dict[str, object]) -> None:
    header = fetch_header(rpc, int(state["after"]))  # type: ignore[call-overload]
    wanted: list[int] = state["slots"]  # type: ignore[assignment]
    proof = fetch_proof(rpc, chain.deposits.address, wanted, "0x" + header.hash.hex())
    assert verify_storage(header.state_root, proof, wanted)


def test_account__absent_account_is_proven_absent(rpc: UrlRpc, state: dict[str, object]) -> None:
    header = fetch_header(rpc, int(state["after"]))  # type: ignore[call-overload]
    nobody = "0x" + "42" * 20
    proof = fetch_proof(rpc, nobody, [5], int(state["after"]))  # type: ignore[call-overload]
    assert verify_account(header.state_root, nobody, proof.account_proof) == ABSENT_ACCOUNT
    assert verify_storage(header.state_root, proof, [5]) == {5: 0}


def _honest(chain: Devnet, rpc: UrlRpc, state: dict[str, object]) -> tuple[Header, AccountProof, list[int]]:
    block = int(state["after"])  # type: ignore[call-overload]
    wanted: list[int] = state["slots"]  # type: ignore[assignment]
    return fetch_header(rpc, block), fetch_proof(rpc, chain.deposits.address, wanted, block), wanted


def test_tampered__other_slot(chain: Devnet, rpc: UrlRpc, state: dict[str, object]) -> None:
    header, proof, (bond, minimum, _) = _honest(chain, rpc, state)
    # the minimum's proof and value presented as the bond's
    swapped = tuple(
        dataclasses.replace(p, slot=bond) if p.slot == minimum else p for p in proof.storage if p.slot != bond
    )
    with pytest.raises(InvalidProof, match=f"slot {hex(bond)}"):
        verify_storage(header.state_root, dataclasses.replace(proof, storage=swapped), [bond])


def test_tampered__other_value(chain: Devnet, rpc: UrlRpc, state: dict[str, object]) -> None:
    header, proof, wanted = _honest(chain, rpc, state)
    for index in range(len(wanted)):  # a present value raised, and the absent slot claimed non-zero
        storage = list(proof.storage)
        storage[index] = dataclasses.replace(storage[index], value=storage[index].value + 1)
        with pytest.raises(InvalidProof, match="claimed"):
            verify_storage(header.state_root, dataclasses.replace(proof, storage=tuple(storage)), wanted)


def test_tampered__other_account(chain: Devnet, rpc: UrlRpc, state: dict[str, object]) -> None:
    header, proof, wanted = _honest(chain, rpc, state)
    registry = fetch_proof(rpc, chain.registry.address, wanted, header.number)
    # the registry's account proof under the deposits' address
    forged = dataclasses.replace(proof, account_proof=registry.account_proof, account=registry.account)
    with pytest.raises(InvalidProof):
        verify_storage(header.state_root, forged, wanted)
    # the registry's proofs, claimed as the deposits' state
    with pytest.raises(InvalidProof):
        verify_storage(header.state_root, dataclasses.replace(registry, address=proof.address), wanted)


def test_tampered__other_block(chain: Devnet, rpc: UrlRpc, state: dict[str, object]) -> None:
    header, _, wanted = _honest(chain, rpc, state)
    older = fetch_proof(rpc, chain.deposits.address, wanted, int(state["before"]))  # type: ignore[call-overload]
    with pytest.raises(InvalidProof, match="account"):
        verify_storage(header.state_root, older, wanted)


def test_tampered__missing_proof(chain: Devnet, rpc: UrlRpc, state: dict[str, object]) -> None:
    header, proof, wanted = _honest(chain, rpc, state)
    with pytest.raises(InvalidProof, match="no storage proof"):
        verify_storage(header.state_root, dataclasses.replace(proof, storage=proof.storage[1:]), wanted)
    with pytest.raises(InvalidProof):
        verify_storage(header.state_root, dataclasses.replace(proof, account_proof=()), wanted)
    with pytest.raises(InvalidProof, match="not an eth_getProof"):
        AccountProof.from_rpc({"address": proof.address})


@given(data=st.data())
def test_tampered__any_corrupted_node_is_refused(
    chain: Devnet, rpc: UrlRpc, state: dict[str, object], data: st.DataObject
) -> None:
    header, proof, wanted = _honest(chain, rpc, state)
    lists = [proof.account_proof, *(p.proof for p in proof.storage)]
    which = data.draw(st.integers(0, len(lists) - 1))
    nodes = list(lists[which])
    index = data.draw(st.integers(0, len(nodes) - 1))
    kind = data.draw(st.sampled_from(["flip", "truncate", "drop"]))
    if kind == "flip":
        at = data.draw(st.integers(0, len(nodes[index]) - 1))
        node = bytearray(nodes[index])
        node[at] ^= data.draw(st.integers(1, 255))
        nodes[index] = bytes(node)
    elif kind == "truncate":
        nodes[index] = nodes[index][: data.draw(st.integers(0, len(nodes[index]) - 1))]
    else:
        del nodes[index]
    if which == 0:
        forged = dataclasses.replace(proof, account_proof=tuple(nodes))
    else:
        storage = list(proof.storage)
        storage[which - 1] = dataclasses.replace(storage[which - 1], proof=tuple(nodes))
        forged = dataclasses.replace(proof, storage=tuple(storage))
    with pytest.raises(ProofError):
        verify_storage(header.state_root, forged, wanted)

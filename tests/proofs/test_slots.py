"""The slots `indexer.proofs.slots` computes hold exactly the facts: checked against the compiler's layout and
against `eth_getStorageAt` on anvil after real writes (keys and values of every length class: empty, 31/32/33
bytes, the type's maximum)."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.devnet import ROOT, Devnet, cs
from harness.proofs import address_node, reverted, send_big, storage_at
from indexer.proofs import slots

VYPER = str(Path(sys.executable).with_name("vyper"))


@functools.cache
def _storage_layout(contract: str) -> dict[str, Any]:
    out = subprocess.run(
        [VYPER, "-f", "layout", f"contracts/{contract}.vy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout)["storage_layout"])


def _utf8_len(text: str) -> int:
    return len(text.encode())


def _text(max_bytes: int) -> st.SearchStrategy[str]:
    """Strings up to `max_bytes` UTF-8 bytes, with the word-boundary and maximum lengths always in the mix."""
    edges = [n for n in (0, 1, 31, 32, 33, 63, 64, 65, max_bytes - 1, max_bytes) if n <= max_bytes]
    return st.one_of(
        st.sampled_from(edges).map(lambda n: "x" * n),
        st.text(max_size=80).filter(lambda t: _utf8_len(t) <= max_bytes),
    )


def _bytes(max_bytes: int) -> st.SearchStrategy[bytes]:
    edges = [n for n in (0, 1, 31, 32, 33, 64, max_bytes - 1, max_bytes) if n <= max_bytes]
    return st.one_of(
        st.sampled_from(edges).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
        st.binary(max_size=max_bytes),
    )


def _read_bytestring(devnet: Devnet, address: str, length_slot: int, max_length: int) -> bytes:
    length = storage_at(devnet, address, length_slot)
    words = [storage_at(devnet, address, s) for s in slots.bytestring_slots(length_slot, length)]
    return slots.decode_bytestring(words, max_length=max_length)


@pytest.mark.parametrize(
    ("contract", "expected"),
    [
        ("InboxDeposits", {"min_deposit": slots.DEPOSITS_MIN_DEPOSIT, "_bonds": slots.DEPOSITS_BONDS}),
        (
            "ProfileRegistry",
            {
                "_texts": slots.REGISTRY_TEXTS,
                "_addresses": slots.REGISTRY_ADDRESSES,
                "_long_addresses": slots.REGISTRY_LONG_ADDRESSES,
                "_contenthashes": slots.REGISTRY_CONTENTHASHES,
            },
        ),
    ],
)
def test_layout__matches_the_compiler(contract: str, expected: dict[str, int]) -> None:
    layout = _storage_layout(contract)
    assert {name: layout[name]["slot"] for name in expected} == expected


def test_layout__types_match_the_maxima() -> None:
    layout = _storage_layout("ProfileRegistry")
    assert (
        layout["_texts"]["type"]
        == f"HashMap[bytes32, HashMap[String[{slots.MAX_TEXT_KEY}], String[{slots.MAX_TEXT}]]]"
    )
    assert (
        layout["_long_addresses"]["type"]
        == f"HashMap[bytes32, HashMap[uint256, Bytes[{slots.MAX_LONG_ADDRESS}]]]"
    )
    assert layout["_contenthashes"]["type"] == f"HashMap[bytes32, Bytes[{slots.MAX_CONTENTHASH}]]"


@given(
    minimum=st.integers(0, 2**256 - 1),
    amount=st.integers(1, 10**24),
    action=st.sampled_from(["none", "request", "release"]),
    pair=st.permutations(range(1, 6)).map(lambda p: p[:2]),
)
def test_deposit_slots__hold_the_views(
    chain: Devnet, minimum: int, amount: int, action: str, pair: list[int]
) -> None:
    sender, recipient = (chain.accounts[i] for i in pair)
    with reverted(chain):
        _check_deposit_slots(chain, sender, recipient, minimum=minimum, amount=amount, action=action)


def _check_deposit_slots(
    chain: Devnet, sender: str, recipient: str, *, minimum: int, amount: int, action: str
) -> None:
    dep = chain.deposits
    assert chain.send(dep, recipient, "set_min_deposit", minimum)
    assert chain.send(dep, sender, "deposit", cs(recipient), amount)
    if action == "request":
        assert chain.send(dep, sender, "request_withdrawal", cs(recipient))
    elif action == "release":
        assert chain.send(dep, recipient, "release", cs(sender))

    assert (
        storage_at(chain, dep.address, slots.min_deposit_slot(recipient))
        == minimum
        == dep.view("min_deposit", cs(recipient))
    )
    bond = slots.unpack_bond(
        storage_at(chain, dep.address, slots.bond_slot(sender=sender, recipient=recipient))
    )
    assert tuple(bond) == tuple(dep.view("bonds", cs(sender), cs(recipient)))
    # the other direction of the pair is a different slot
    assert slots.bond_slot(sender=sender, recipient=recipient) != slots.bond_slot(
        sender=recipient, recipient=sender
    )


def test_deposit_slots__missing_pair_reads_zero(chain: Devnet) -> None:
    stranger = "0x" + "ab" * 20
    slot = slots.bond_slot(sender=stranger, recipient=chain.accounts[1])
    assert storage_at(chain, chain.deposits.address, slot) == 0


@given(
    key=_text(slots.MAX_TEXT_KEY),
    value=_text(slots.MAX_TEXT),
    then=_text(slots.MAX_TEXT),
    who=st.integers(1, 5),
)
def test_text_slots__hold_the_value(chain: Devnet, key: str, value: str, then: str, who: int) -> None:
    account = chain.accounts[who]
    node = address_node(account)
    reg = chain.registry
    length_slot = slots.text_slot(node, key)
    for written in (value, then):  # a second write, shorter or longer, leaves the first one's tail unread
        send_big(chain, reg, account, "setText", node, key, written)
        assert _read_bytestring(chain, reg.address, length_slot, slots.MAX_TEXT).decode() == written
        assert reg.view("text", node, key) == written


@given(
    coin=st.sampled_from([0, 2, 3, 501, 2**256 - 1]),
    value=st.one_of(
        _bytes(slots.MAX_LONG_ADDRESS),
        st.sampled_from([20, 31, 32, 33]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    ),
    who=st.integers(1, 5),
)
def test_address_slots__hold_the_address(chain: Devnet, coin: int, value: bytes, who: int) -> None:
    account = chain.accounts[who]
    node = address_node(account)
    reg = chain.registry
    send_big(chain, reg, account, "setAddrForCoin", node, coin, value)
    packed = storage_at(chain, reg.address, slots.address_slot(node, coin))
    short = slots.unpack_address(packed)
    if len(value) < 32:
        assert short == value
    else:
        assert short is None
        long_slot = slots.long_address_slot(node, coin)
        assert _read_bytestring(chain, reg.address, long_slot, slots.MAX_LONG_ADDRESS) == value
    assert reg.view("addrForCoin", node, coin) == value


def test_address_slots__eth_address(chain: Devnet) -> None:
    account = chain.accounts[6]
    node = address_node(account)
    target = chain.accounts[7]
    send_big(chain, chain.registry, account, "setAddr", node, cs(target))
    packed = storage_at(chain, chain.registry.address, slots.address_slot(node, 60))
    assert slots.unpack_address(packed) == bytes.fromhex(target[2:])


@given(value=_bytes(slots.MAX_CONTENTHASH), who=st.integers(1, 5))
def test_contenthash_slots__hold_the_hash(chain: Devnet, value: bytes, who: int) -> None:
    account = chain.accounts[who]
    node = address_node(account)
    send_big(chain, chain.registry, account, "setContenthash", node, value)
    got = _read_bytestring(chain, chain.registry.address, slots.contenthash_slot(node), slots.MAX_CONTENTHASH)
    assert got == value == chain.registry.view("contenthash", node)


def test_decode_bytestring__refuses_wrong_word_counts_and_lengths() -> None:
    with pytest.raises(ValueError, match="data slots"):
        slots.decode_bytestring([33, 0], max_length=64)
    with pytest.raises(ValueError, match="maximum"):
        slots.decode_bytestring([65, 0, 0, 0], max_length=64)
    with pytest.raises(ValueError, match="no length"):
        slots.decode_bytestring([], max_length=64)
    assert slots.decode_bytestring([0], max_length=64) == b""


def test_word__refuses_keys_of_other_sizes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        slots.word(b"\x01" * 19)
    with pytest.raises(ValueError, match="uint256"):
        slots.word(-1)

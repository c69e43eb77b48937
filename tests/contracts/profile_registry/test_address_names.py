"""Address names `<40 lowercase hex>.addr.<parent>`: owned by their address from the start."""

from __future__ import annotations

import ape
import pytest
from eth_utils import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from .registry_helpers import PARENT, address_label, address_node, namehash

ZERO = "0x0000000000000000000000000000000000000000"


@pytest.mark.parametrize(
    "account",
    [
        ZERO,
        "0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF",
        "0x0123456789abcDEF0123456789abCDef01234567",
        "0x000000000000000000000000000000000000dEaD",
        "0xA000000000000000000000000000000000000009",
    ],
)
def test_addr_name_node__is_the_namehash_of_the_hex_name(registry, account):
    assert registry.addr_name_node(account) == namehash(f"{account.lower()[2:]}.addr.{PARENT}")


@given(raw=st.binary(min_size=20, max_size=20))
def test_addr_name_node__any_address__is_the_namehash_of_the_hex_name(registry, raw):
    account = to_checksum_address(raw)

    assert registry.addr_name_node(account) == address_node(account)


def test_first_write__claims_the_name_and_announces_it(registry, alice):
    node = address_node(alice.address)

    tx = registry.setText(node, "network.dm3.profile", "data:application/json,{}", sender=alice)

    assert registry.owner(node) == alice
    assert tx.events[:2] == [
        registry.NameRegistered(
            node=node, parent=registry.ADDR_NODE(), owner=alice, label=address_label(alice.address)
        ),
        registry.Transfer(node=node, owner=alice),
    ]
    assert [log.event_name for log in tx.events[2:]] == ["TextChanged"]
    assert registry.text(node, "network.dm3.profile") == "data:application/json,{}"


def test_second_write__only_writes_the_record(registry, alice):
    node = address_node(alice.address)
    registry.setText(node, "a", "1", sender=alice)

    tx = registry.setText(node, "b", "2", sender=alice)

    assert [log.event_name for log in tx.events] == ["TextChanged"]


@pytest.mark.parametrize(
    "write",
    [
        lambda registry, node, account: registry.setText(node, "k", "v", sender=account),
        lambda registry, node, account: registry.setAddr(node, account, sender=account),
        lambda registry, node, account: registry.setAddrForCoin(node, 0, b"\x01", sender=account),
        lambda registry, node, account: registry.setContenthash(node, b"\xe3\x01", sender=account),
    ],
    ids=["setText", "setAddr", "setAddrForCoin", "setContenthash"],
)
def test_first_write__by_any_record_setter__claims(registry, bob, write):
    node = address_node(bob.address)

    tx = write(registry, node, bob)

    assert registry.owner(node) == bob
    assert [log.event_name for log in tx.events[:2]] == ["NameRegistered", "Transfer"]


def test_unclaimed_address_name__has_no_owner(registry, alice):
    assert registry.owner(address_node(alice.address)) == ZERO


def test_address_name__of_someone_else__reverts(registry, alice, bob):
    with ape.reverts("registry: not authorised"):
        registry.setText(address_node(alice.address), "k", "v", sender=bob)


def test_address_name__claimed__still_only_its_address_writes(registry, alice, bob):
    node = address_node(alice.address)
    registry.setText(node, "k", "v", sender=alice)

    with ape.reverts("registry: not authorised"):
        registry.setText(node, "k", "w", sender=bob)


def test_address_name__under_another_namespace__is_not_claimable(registry, alice):
    # `<hex>.<parent>` (without `addr.`) is a free ordinary name: writing it needs registering first.
    with ape.reverts("registry: not authorised"):
        registry.setText(namehash(f"{address_label(alice.address)}.{PARENT}"), "k", "v", sender=alice)


def test_addr_label__cannot_be_registered(registry, alice):
    # `addr.<parent>` itself is the address-name namespace.
    with ape.reverts("registry: reserved label"):
        registry.register("addr", alice, sender=alice)

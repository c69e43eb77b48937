"""`setAddr(node, a)` / `addr(node)`: the Ethereum (coin type 60) address, as ENS's resolver does it."""

from __future__ import annotations

import ape

from .registry_helpers import COIN_TYPE_DEFAULT, COIN_TYPE_ETH, name_node

ZERO = "0x0000000000000000000000000000000000000000"


def test_set_addr__by_owner__stores_and_emits_both_ens_events(registry, alice, bob, alice_name):
    tx = registry.setAddr(alice_name, bob, sender=alice)

    assert registry.addr(alice_name) == bob
    assert registry.addrForCoin(alice_name, COIN_TYPE_ETH) == bytes.fromhex(bob.address[2:])
    # ENS order: AddressChanged first, then AddrChanged.
    assert tx.events == [
        registry.AddressChanged(
            node=alice_name, coinType=COIN_TYPE_ETH, newAddress=bytes.fromhex(bob.address[2:])
        ),
        registry.AddrChanged(node=alice_name, a=bob),
    ]


def test_set_addr__overwrite__keeps_the_last(registry, alice, bob, carol, alice_name):
    registry.setAddr(alice_name, bob, sender=alice)

    registry.setAddr(alice_name, carol, sender=alice)

    assert registry.addr(alice_name) == carol


def test_set_addr__zero_address__is_stored_as_20_zero_bytes(registry, alice, bob, alice_name):
    # As in ENS: the zero address is a record (20 zero bytes), so it hides the default EVM address.
    registry.setAddrForCoin(alice_name, COIN_TYPE_DEFAULT, bytes.fromhex(bob.address[2:]), sender=alice)

    tx = registry.setAddr(alice_name, ZERO, sender=alice)

    assert registry.addr(alice_name) == ZERO
    assert registry.addrForCoin(alice_name, COIN_TYPE_ETH) == bytes(20)
    assert tx.events == [
        registry.AddressChanged(node=alice_name, coinType=COIN_TYPE_ETH, newAddress=bytes(20)),
        registry.AddrChanged(node=alice_name, a=ZERO),
    ]


def test_addr__unset__falls_back_to_the_default_evm_address(registry, alice, carol, alice_name):
    registry.setAddrForCoin(alice_name, COIN_TYPE_DEFAULT, bytes.fromhex(carol.address[2:]), sender=alice)

    assert registry.addr(alice_name) == carol


def test_addr__set__wins_over_the_default(registry, alice, bob, carol, alice_name):
    registry.setAddrForCoin(alice_name, COIN_TYPE_DEFAULT, bytes.fromhex(carol.address[2:]), sender=alice)
    registry.setAddr(alice_name, bob, sender=alice)

    assert registry.addr(alice_name) == bob


def test_addr__unset__is_zero(registry, alice_name):
    assert registry.addr(alice_name) == ZERO


def test_set_addr__by_stranger__reverts(registry, bob, alice_name):
    with ape.reverts("registry: not authorised"):
        registry.setAddr(alice_name, bob, sender=bob)


def test_set_addr__free_name__reverts(registry, alice):
    with ape.reverts("registry: not authorised"):
        registry.setAddr(name_node("free"), alice, sender=alice)

"""`setOwner(node, owner)`: transfers by the owner only; address names stay put."""

from __future__ import annotations

import ape

from .registry_helpers import address_node, name_node

ZERO = "0x0000000000000000000000000000000000000000"


def test_set_owner__by_owner__transfers_and_emits(registry, alice, bob, alice_name):
    tx = registry.setOwner(alice_name, bob, sender=alice)

    assert registry.owner(alice_name) == bob
    assert tx.events == [registry.Transfer(node=alice_name, owner=bob)]


def test_set_owner__new_owner_writes__old_owner_cannot(registry, alice, bob, alice_name):
    registry.setOwner(alice_name, bob, sender=alice)

    registry.setText(alice_name, "k", "from bob", sender=bob)
    with ape.reverts("registry: not authorised"):
        registry.setText(alice_name, "k", "from alice", sender=alice)
    with ape.reverts("registry: not the owner"):
        registry.setOwner(alice_name, alice, sender=alice)


def test_set_owner__records_survive_the_transfer(registry, alice, bob, alice_name):
    registry.setText(alice_name, "network.dm3.profile", "data:application/json,{}", sender=alice)

    registry.setOwner(alice_name, bob, sender=alice)

    assert registry.text(alice_name, "network.dm3.profile") == "data:application/json,{}"


def test_set_owner__to_self__emits_again(registry, alice, alice_name):
    tx = registry.setOwner(alice_name, alice, sender=alice)

    assert registry.owner(alice_name) == alice
    assert tx.events == [registry.Transfer(node=alice_name, owner=alice)]


def test_set_owner__by_stranger__reverts(registry, bob, alice_name):
    with ape.reverts("registry: not the owner"):
        registry.setOwner(alice_name, bob, sender=bob)


def test_set_owner__by_operator__reverts(registry, alice, bob, alice_name):
    # Operators write records; they never transfer names.
    registry.setApprovalForAll(bob, True, sender=alice)

    with ape.reverts("registry: not the owner"):
        registry.setOwner(alice_name, bob, sender=bob)


def test_set_owner__to_zero__reverts(registry, alice, alice_name):
    with ape.reverts("registry: zero owner"):
        registry.setOwner(alice_name, ZERO, sender=alice)


def test_set_owner__free_name__reverts(registry, alice):
    with ape.reverts("registry: not the owner"):
        registry.setOwner(name_node("free"), alice, sender=alice)


def test_set_owner__claimed_address_name__reverts(registry, alice, bob):
    node = address_node(alice.address)
    registry.setText(node, "k", "v", sender=alice)

    with ape.reverts("registry: address names cannot be transferred"):
        registry.setOwner(node, bob, sender=alice)


def test_set_owner__unclaimed_address_name__reverts(registry, alice, bob):
    with ape.reverts("registry: not the owner"):
        registry.setOwner(address_node(alice.address), bob, sender=alice)


def test_set_owner__name_with_a_hex_label__is_transferable(registry, alice, bob):
    # `<40 hex of alice>.<parent>` is an ordinary name, not alice's address name `<40 hex>.addr.<parent>`.
    label = alice.address.lower()[2:]
    node = registry.register(label, alice, sender=alice).return_value

    registry.setOwner(node, bob, sender=alice)

    assert registry.owner(node) == bob

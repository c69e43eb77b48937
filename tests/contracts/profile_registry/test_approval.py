"""`setApprovalForAll(operator, approved)` / `isApprovedForAll`: operators write records, never transfer."""

from __future__ import annotations

import ape

from .registry_helpers import address_node, name_node


def test_set_approval_for_all__emits_and_records(registry, alice, bob):
    tx = registry.setApprovalForAll(bob, True, sender=alice)

    assert registry.isApprovedForAll(alice, bob) is True
    assert registry.isApprovedForAll(bob, alice) is False
    assert tx.events == [registry.ApprovalForAll(owner=alice, operator=bob, approved=True)]


def test_set_approval_for_all__revoke__emits_and_clears(registry, alice, bob):
    registry.setApprovalForAll(bob, True, sender=alice)

    tx = registry.setApprovalForAll(bob, False, sender=alice)

    assert registry.isApprovedForAll(alice, bob) is False
    assert tx.events == [registry.ApprovalForAll(owner=alice, operator=bob, approved=False)]


def test_operator__writes_every_record_of_the_owner(registry, alice, bob, alice_name):
    registry.setApprovalForAll(bob, True, sender=alice)

    registry.setText(alice_name, "k", "v", sender=bob)
    registry.setAddr(alice_name, bob, sender=bob)
    registry.setAddrForCoin(alice_name, 0, b"\x00" * 25, sender=bob)
    registry.setContenthash(alice_name, b"\xe3\x01", sender=bob)

    assert registry.text(alice_name, "k") == "v"
    assert registry.addr(alice_name) == bob
    assert registry.addrForCoin(alice_name, 0) == b"\x00" * 25
    assert registry.contenthash(alice_name) == b"\xe3\x01"


def test_operator__covers_names_registered_after_the_approval(registry, alice, bob):
    registry.setApprovalForAll(bob, True, sender=alice)
    node = registry.register("later", alice, sender=alice).return_value

    registry.setText(node, "k", "v", sender=bob)

    assert registry.text(node, "k") == "v"


def test_operator__after_revoke__reverts(registry, alice, bob, alice_name):
    registry.setApprovalForAll(bob, True, sender=alice)
    registry.setApprovalForAll(bob, False, sender=alice)

    with ape.reverts("registry: not authorised"):
        registry.setText(alice_name, "k", "v", sender=bob)


def test_operator__of_another_owner__reverts(registry, alice, bob, carol, alice_name):
    registry.setApprovalForAll(bob, True, sender=carol)

    with ape.reverts("registry: not authorised"):
        registry.setText(alice_name, "k", "v", sender=bob)


def test_operator__follows_the_current_owner(registry, alice, bob, carol, alice_name):
    registry.setApprovalForAll(bob, True, sender=alice)
    registry.setOwner(alice_name, carol, sender=alice)

    with ape.reverts("registry: not authorised"):
        registry.setText(alice_name, "k", "v", sender=bob)

    registry.setApprovalForAll(bob, True, sender=carol)
    registry.setText(alice_name, "k", "v", sender=bob)
    assert registry.text(alice_name, "k") == "v"


def test_operator__writes_a_claimed_address_name(registry, alice, bob):
    node = address_node(alice.address)
    registry.setText(node, "k", "by alice", sender=alice)
    registry.setApprovalForAll(bob, True, sender=alice)

    registry.setText(node, "k", "by bob", sender=bob)

    assert registry.text(node, "k") == "by bob"


def test_operator__cannot_claim_an_address_name(registry, alice, bob):
    # Nothing records alice's address name until she writes it, and the address cannot be read back from
    # the node, so her operator cannot be recognised there yet.
    registry.setApprovalForAll(bob, True, sender=alice)

    with ape.reverts("registry: not authorised"):
        registry.setText(address_node(alice.address), "k", "v", sender=bob)


def test_operator__of_a_free_name__reverts(registry, alice, bob):
    registry.setApprovalForAll(bob, True, sender=alice)

    with ape.reverts("registry: not authorised"):
        registry.setText(name_node("free"), "k", "v", sender=bob)

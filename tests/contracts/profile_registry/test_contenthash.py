"""`setContenthash(node, hash)` / `contenthash(node)`: ENSIP-7 contenthash records."""

from __future__ import annotations

import ape

from .registry_helpers import name_node

# ENSIP-7 contenthash of an IPFS CIDv1: 0xe3 0x01 (ipfs-ns) + CID bytes.
IPFS = bytes.fromhex("e3010170122029f2d17be6139079dc48696d1f582a8530eb9805b561eda517e22a892c7e3f1f")


def test_set_contenthash__by_owner__stores_and_emits(registry, alice, alice_name):
    tx = registry.setContenthash(alice_name, IPFS, sender=alice)

    assert registry.contenthash(alice_name) == IPFS
    assert tx.events == [registry.ContenthashChanged(node=alice_name, hash=IPFS)]


def test_set_contenthash__empty__deletes(registry, alice, alice_name):
    registry.setContenthash(alice_name, IPFS, sender=alice)

    tx = registry.setContenthash(alice_name, b"", sender=alice)

    assert registry.contenthash(alice_name) == b""
    assert tx.events == [registry.ContenthashChanged(node=alice_name, hash=b"")]


def test_set_contenthash__overwrite_with_shorter__keeps_the_last(registry, alice, alice_name):
    registry.setContenthash(alice_name, b"\x01" * 300, sender=alice)

    registry.setContenthash(alice_name, b"\x02" * 3, sender=alice)

    assert registry.contenthash(alice_name) == b"\x02" * 3


def test_set_contenthash__at_the_cap__fits(registry, alice, alice_name):
    registry.setContenthash(alice_name, b"\xab" * 512, sender=alice)

    assert registry.contenthash(alice_name) == b"\xab" * 512


def test_set_contenthash__over_the_cap__reverts(registry, alice, alice_name):
    with ape.reverts():
        registry.setContenthash(alice_name, b"\xab" * 513, sender=alice)


def test_set_contenthash__by_stranger__reverts(registry, bob, alice_name):
    with ape.reverts("registry: not authorised"):
        registry.setContenthash(alice_name, IPFS, sender=bob)


def test_set_contenthash__free_name__reverts(registry, alice):
    with ape.reverts("registry: not authorised"):
        registry.setContenthash(name_node("free"), IPFS, sender=alice)


def test_contenthash__unset__is_empty(registry, alice_name):
    assert registry.contenthash(alice_name) == b""

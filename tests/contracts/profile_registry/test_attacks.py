"""ProfileRegistry as an attacker sees it: every write, direct and signed, aimed at nodes the attacker has no
authority over — the nodes nobody owns yet (another address's address name, an unregistered label, the parent node,
`ADDR_NODE` itself), another owner's names through another owner's operator, a name after its transfer — with the
zero address as claimed signer and empty, short, over-long and all-zero signatures. Nothing may change: no record,
no owner, no nonce.
"""

from __future__ import annotations

from typing import Any

import ape
import pytest

from .registry_helpers import address_node, name_node
from .test_signed_writes import WRITES, Write, _send, _signed

ZERO = "0x0000000000000000000000000000000000000000"
# What an attacker can send without any key.
FORGED = {
    "empty": b"",
    "one byte": b"\x01",
    "63 bytes": b"\x01" * 63,
    "64 zero bytes": b"\x00" * 64,
    "65 zero bytes": b"\x00" * 65,
}
NODE_WRITES = [
    write
    for write in WRITES
    if write.primary_type in {"SetText", "SetAddr", "SetAddrForCoin", "SetContenthash"}
]
UNOWNED = {
    "another address's address name": lambda registry, victim: address_node(victim.address),
    "an unregistered label": lambda registry, victim: name_node("unclaimed"),
    "the parent node": lambda registry, victim: registry.PARENT_NODE(),
    "ADDR_NODE itself": lambda registry, victim: registry.ADDR_NODE(),
}


@pytest.fixture(params=list(UNOWNED), ids=list(UNOWNED))
def unowned(request, registry, carol) -> bytes:
    return UNOWNED[request.param](registry, carol)


def _records(registry, node: bytes) -> tuple[Any, ...]:
    return (
        registry.owner(node),
        registry.text(node, "network.dm3.profile"),
        registry.addr(node),
        registry.addrForCoin(node, 0x80000000 | 10),
        registry.contenthash(node),
    )


EMPTY_RECORDS = (ZERO, "", ZERO, b"", b"")


@pytest.mark.parametrize("signature", list(FORGED.values()), ids=list(FORGED))
@pytest.mark.parametrize("write", WRITES, ids=[write.primary_type for write in WRITES])
def test_zero_signer__forged_signature__reverts_and_changes_nothing(
    registry, write: Write, signature, bob, relayer, deadline
):
    node = address_node(bob.address)  # nobody owns it yet: the zero address "owned" it before the fix
    args = write.args(None, bob, node)

    with ape.reverts("registry: zero signer"):
        _send(registry, write, args, ZERO, deadline, signature, relayer)

    assert registry.nonces(ZERO) == 0
    assert _records(registry, node) == EMPTY_RECORDS
    assert registry.primaryName(ZERO) == ""
    assert not registry.isApprovedForAll(ZERO, bob)


@pytest.mark.parametrize("write", NODE_WRITES, ids=[write.primary_type for write in NODE_WRITES])
def test_zero_signer__every_unowned_node__reverts(registry, write: Write, unowned, bob, relayer, deadline):
    with ape.reverts("registry: zero signer"):
        _send(registry, write, write.args(None, bob, unowned), ZERO, deadline, b"", relayer)
    assert _records(registry, unowned) == EMPTY_RECORDS


@pytest.mark.parametrize("signature", [b"", b"\x01", b"\x01" * 63], ids=["empty", "one byte", "63 bytes"])
def test_real_signer__signature_of_wrong_length__reverts(
    registry, signature, alice, relayer, alice_name, deadline
):
    with ape.reverts("registry: invalid signature length"):
        registry.setTextWithSig(alice_name, "k", "v", alice, deadline, signature, sender=relayer)
    assert registry.text(alice_name, "k") == ""
    assert registry.nonces(alice) == 0


def test_real_signer__66_byte_signature__refused_by_the_abi(registry, alice, relayer, alice_name, deadline):
    with ape.reverts():
        registry.setTextWithSig(alice_name, "k", "v", alice, deadline, b"\x01" * 66, sender=relayer)
    assert registry.text(alice_name, "k") == ""


@pytest.mark.parametrize("signature", [b"\x00" * 64, b"\x00" * 65], ids=["64 zero bytes", "65 zero bytes"])
def test_real_signer__all_zero_signature__reverts(registry, signature, alice, relayer, alice_name, deadline):
    with ape.reverts():
        registry.setTextWithSig(alice_name, "k", "v", alice, deadline, signature, sender=relayer)
    assert registry.text(alice_name, "k") == ""
    assert registry.nonces(alice) == 0


@pytest.mark.parametrize("write", NODE_WRITES, ids=[write.primary_type for write in NODE_WRITES])
def test_unowned_node__valid_signature_of_a_stranger__not_authorised(
    registry, sign, write: Write, unowned, alice, bob, relayer, deadline
):
    args = write.args(alice, bob, unowned)
    signature = _signed(write, sign, alice.private_key, alice.address, args, 0, deadline)

    with ape.reverts("registry: not authorised"):
        _send(registry, write, args, alice.address, deadline, signature, relayer)
    assert _records(registry, unowned) == EMPTY_RECORDS
    assert registry.nonces(alice) == 0


DIRECT = {
    "setText": lambda registry, node, who: registry.setText(node, "network.dm3.profile", "x", sender=who),
    "setAddr": lambda registry, node, who: registry.setAddr(node, who, sender=who),
    "setAddrForCoin": lambda registry, node, who: registry.setAddrForCoin(
        node, 0x80000000 | 10, bytes.fromhex(who.address[2:]), sender=who
    ),
    "setContenthash": lambda registry, node, who: registry.setContenthash(node, b"\xe3\x01", sender=who),
}


@pytest.mark.parametrize("method", list(DIRECT), ids=list(DIRECT))
def test_unowned_node__direct_write__not_authorised(registry, method, unowned, alice):
    with ape.reverts("registry: not authorised"):
        DIRECT[method](registry, unowned, alice)
    assert _records(registry, unowned) == EMPTY_RECORDS


def test_unowned_node__set_owner__refused(registry, unowned, alice, bob):
    with ape.reverts("registry: not the owner"):
        registry.setOwner(unowned, bob, sender=alice)
    assert registry.owner(unowned) == ZERO


def test_unregistered_label__nothing_written_survives_registration(registry, alice, bob):
    node = name_node("later")
    for method in DIRECT:
        with ape.reverts("registry: not authorised"):
            DIRECT[method](registry, node, alice)
    registry.register("later", bob, sender=bob)
    assert _records(registry, node) == (bob.address, "", ZERO, b"", b"")


@pytest.mark.parametrize("method", list(DIRECT), ids=list(DIRECT))
def test_operator_of_another_owner__cannot_write(registry, method, alice_name, bob, carol):
    registry.setApprovalForAll(carol, True, sender=bob)  # carol operates for bob, not for alice
    with ape.reverts("registry: not authorised"):
        DIRECT[method](registry, alice_name, carol)
    with ape.reverts("registry: not authorised"):
        DIRECT[method](registry, address_node(bob.address), carol)  # bob's address name was never written


def test_after_transfer__old_owner_and_its_operator__cannot_write(registry, alice, bob, carol):
    registry.register("moving", alice, sender=alice)
    node = name_node("moving")
    registry.setApprovalForAll(carol, True, sender=alice)
    registry.setOwner(node, bob, sender=alice)
    for who in (alice, carol):
        with ape.reverts("registry: not authorised"):
            registry.setText(node, "k", "v", sender=who)
    with ape.reverts("registry: not the owner"):
        registry.setOwner(node, alice, sender=alice)


def test_after_revoking__operator_cannot_write(registry, alice, alice_name, carol):
    registry.setApprovalForAll(carol, True, sender=alice)
    registry.setText(alice_name, "k", "by operator", sender=carol)
    registry.setApprovalForAll(carol, False, sender=alice)
    with ape.reverts("registry: not authorised"):
        registry.setText(alice_name, "k", "after revoke", sender=carol)
    assert registry.text(alice_name, "k") == "by operator"


def test_operator__cannot_transfer(registry, alice, alice_name, carol):
    registry.setApprovalForAll(carol, True, sender=alice)
    with ape.reverts("registry: not the owner"):
        registry.setOwner(alice_name, carol, sender=carol)


def test_signature_for_another_node__reverts(registry, sign, alice, relayer, alice_name, deadline):
    registry.register("second", alice, sender=alice)
    args = [alice_name, "k", "v"]
    signature = _signed(WRITES[3], sign, alice.private_key, alice.address, args, 0, deadline)
    with ape.reverts("registry: invalid signature"):
        registry.setTextWithSig(name_node("second"), "k", "v", alice, deadline, signature, sender=relayer)

"""The EIP-712 `...WithSig` variant of every write: a relayer sends, the signer authorises.

Every struct is checked against the type strings documented in the contract; every kind is tried valid,
replayed, expired, for another chain, for another contract, by the wrong key and with changed arguments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ape
import pytest
from eth_utils import keccak

from harness.signing import BY_PRIMARY_TYPE

from .registry_helpers import address_node, name_node

CONTRACT_SOURCE = Path(__file__).resolve().parents[3] / "contracts" / "ProfileRegistry.vy"
IPFS = bytes.fromhex("e3010170122029f2d17be6139079dc48696d1f582a8530eb9805b561eda517e22a892c7e3f1f")
OP = 0x80000000 | 10
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@dataclass(frozen=True)
class Write:
    """One signed write: its struct, the call's original arguments, and what it changes."""

    primary_type: str
    method: str
    args: Callable[[Any, Any, bytes], list[Any]]  # (signer, other account, node) -> call arguments
    message: Callable[
        [list[Any]], dict[str, Any]
    ]  # call arguments -> struct fields but signer/nonce/deadline
    tampered: Callable[[list[Any]], list[Any]]  # call arguments -> arguments the signer did not sign
    effect: Callable[[Any, Any, Any, bytes], bool]  # (registry, signer, other, node) -> the write happened


WRITES = [
    Write(
        "Register",
        "registerWithSig",
        lambda signer, other, node: ["signed", other.address],
        lambda args: {"label": args[0], "owner": args[1]},
        lambda args: ["signed2", args[1]],
        lambda registry, signer, other, node: registry.owner(name_node("signed")) == other,
    ),
    Write(
        "SetOwner",
        "setOwnerWithSig",
        lambda signer, other, node: [node, other.address],
        lambda args: {"node": args[0], "owner": args[1]},
        lambda args: [args[0], "0x000000000000000000000000000000000000dEaD"],
        lambda registry, signer, other, node: registry.owner(node) == other,
    ),
    Write(
        "SetApprovalForAll",
        "setApprovalForAllWithSig",
        lambda signer, other, node: [other.address, True],
        lambda args: {"operator": args[0], "approved": args[1]},
        lambda args: [args[0], False],
        lambda registry, signer, other, node: registry.isApprovedForAll(signer, other),
    ),
    Write(
        "SetText",
        "setTextWithSig",
        lambda signer, other, node: [node, "network.dm3.profile", "data:application/json,{}"],
        lambda args: {"node": args[0], "key": args[1], "value": args[2]},
        lambda args: [args[0], args[1], 'data:application/json,{"evil":1}'],
        lambda registry, signer, other, node: (
            registry.text(node, "network.dm3.profile") == "data:application/json,{}"
        ),
    ),
    Write(
        "SetAddr",
        "setAddrWithSig",
        lambda signer, other, node: [node, other.address],
        lambda args: {"node": args[0], "a": args[1]},
        lambda args: [args[0], "0x000000000000000000000000000000000000dEaD"],
        lambda registry, signer, other, node: registry.addr(node) == other,
    ),
    Write(
        "SetAddrForCoin",
        "setAddrForCoinWithSig",
        lambda signer, other, node: [node, OP, bytes.fromhex(other.address[2:])],
        lambda args: {"node": args[0], "coinType": args[1], "a": args[2]},
        lambda args: [args[0], OP + 1, args[2]],
        lambda registry, signer, other, node: (
            registry.addrForCoin(node, OP) == bytes.fromhex(other.address[2:])
        ),
    ),
    Write(
        "SetContenthash",
        "setContenthashWithSig",
        lambda signer, other, node: [node, IPFS],
        lambda args: {"node": args[0], "hash": args[1]},
        lambda args: [args[0], IPFS[:-1]],
        lambda registry, signer, other, node: registry.contenthash(node) == IPFS,
    ),
    Write(
        "SetPrimaryName",
        "setPrimaryNameWithSig",
        lambda signer, other, node: ["alice.op.dm3.eth"],
        lambda args: {"name": args[0]},
        lambda args: ["evil.op.dm3.eth"],
        lambda registry, signer, other, node: registry.primaryName(signer) == "alice.op.dm3.eth",
    ),
]
IDS = [write.primary_type for write in WRITES]


@pytest.fixture(params=WRITES, ids=IDS)
def write(request) -> Write:
    return request.param


def _signed(write: Write, sign, key: str, signer: str, args: list[Any], nonce: int, deadline: int, **domain):
    message = {"signer": signer, **write.message(args), "nonce": nonce, "deadline": deadline}
    return sign(key, write.primary_type, message, **domain)


def _send(registry, write: Write, args: list[Any], signer: str, deadline: int, signature: bytes, sender):
    return getattr(registry, write.method)(*args, signer, deadline, signature, sender=sender)


def test_signed_write__valid__relayer_sends_and_nonce_moves(
    registry, sign, write, alice, bob, relayer, alice_name, deadline
):
    args = write.args(alice, bob, alice_name)
    signature = _signed(write, sign, alice.private_key, alice.address, args, 0, deadline)

    _send(registry, write, args, alice.address, deadline, signature, relayer)

    assert write.effect(registry, alice, bob, alice_name)
    assert registry.nonces(alice) == 1


def test_signed_write__replayed__reverts(registry, sign, write, alice, bob, relayer, alice_name, deadline):
    args = write.args(alice, bob, alice_name)
    signature = _signed(write, sign, alice.private_key, alice.address, args, 0, deadline)
    _send(registry, write, args, alice.address, deadline, signature, relayer)

    with ape.reverts("registry: invalid signature"):
        _send(registry, write, args, alice.address, deadline, signature, relayer)


def test_signed_write__expired__reverts(chain, registry, sign, write, alice, bob, relayer, alice_name):
    deadline = chain.pending_timestamp - 1
    args = write.args(alice, bob, alice_name)
    signature = _signed(write, sign, alice.private_key, alice.address, args, 0, deadline)

    with ape.reverts("registry: signature expired"):
        _send(registry, write, args, alice.address, deadline, signature, relayer)


def test_signed_write__other_chain__reverts(
    chain, registry, sign, write, alice, bob, relayer, alice_name, deadline
):
    args = write.args(alice, bob, alice_name)
    signature = _signed(
        write, sign, alice.private_key, alice.address, args, 0, deadline, chain_id=chain.chain_id + 1
    )

    with ape.reverts("registry: invalid signature"):
        _send(registry, write, args, alice.address, deadline, signature, relayer)


def test_signed_write__other_contract__reverts(
    registry, sign, write, alice, bob, relayer, alice_name, deadline
):
    args = write.args(alice, bob, alice_name)
    other = "0x" + "12" * 20
    signature = _signed(
        write, sign, alice.private_key, alice.address, args, 0, deadline, verifying_contract=other
    )

    with ape.reverts("registry: invalid signature"):
        _send(registry, write, args, alice.address, deadline, signature, relayer)


def test_signed_write__wrong_key__reverts(registry, sign, write, alice, bob, relayer, alice_name, deadline):
    args = write.args(alice, bob, alice_name)
    signature = _signed(write, sign, bob.private_key, alice.address, args, 0, deadline)

    with ape.reverts("registry: invalid signature"):
        _send(registry, write, args, alice.address, deadline, signature, relayer)
    assert registry.nonces(alice) == 0


def test_signed_write__changed_arguments__reverts(
    registry, sign, write, alice, bob, relayer, alice_name, deadline
):
    args = write.args(alice, bob, alice_name)
    signature = _signed(write, sign, alice.private_key, alice.address, args, 0, deadline)

    with ape.reverts("registry: invalid signature"):
        _send(registry, write, write.tampered(args), alice.address, deadline, signature, relayer)


def test_signed_write__sequence__uses_consecutive_nonces(
    registry, sign, alice, relayer, alice_name, deadline
):
    for nonce, value in enumerate(["one", "two", "three"]):
        args = [alice_name, "k", value]
        signature = _signed(WRITES[3], sign, alice.private_key, alice.address, args, nonce, deadline)
        _send(registry, WRITES[3], args, alice.address, deadline, signature, relayer)

    assert registry.text(alice_name, "k") == "three"
    assert registry.nonces(alice) == 3


def test_signed_write__future_nonce__reverts(registry, sign, alice, relayer, alice_name, deadline):
    args = [alice_name, "k", "v"]
    signature = _signed(WRITES[3], sign, alice.private_key, alice.address, args, 1, deadline)

    with ape.reverts("registry: invalid signature"):
        _send(registry, WRITES[3], args, alice.address, deadline, signature, relayer)


def test_signed_write__deadline_is_the_block_timestamp__succeeds(
    chain, registry, sign, alice, relayer, alice_name
):
    deadline = chain.pending_timestamp + 100
    args = [alice_name, "k", "v"]
    signature = _signed(WRITES[3], sign, alice.private_key, alice.address, args, 0, deadline)
    chain.pending_timestamp = deadline

    tx = _send(registry, WRITES[3], args, alice.address, deadline, signature, relayer)

    assert chain.blocks[tx.block_number].timestamp == deadline
    assert registry.text(alice_name, "k") == "v"


def test_signed_write__signer_not_authorised__reverts(registry, sign, bob, relayer, alice_name, deadline):
    args = [alice_name, "k", "v"]
    signature = _signed(WRITES[3], sign, bob.private_key, bob.address, args, 0, deadline)

    with ape.reverts("registry: not authorised"):
        _send(registry, WRITES[3], args, bob.address, deadline, signature, relayer)


def test_signed_write__operator_signs__writes(registry, sign, alice, bob, relayer, alice_name, deadline):
    registry.setApprovalForAll(bob, True, sender=alice)
    args = [alice_name, "k", "by operator"]
    signature = _signed(WRITES[3], sign, bob.private_key, bob.address, args, 0, deadline)

    _send(registry, WRITES[3], args, bob.address, deadline, signature, relayer)

    assert registry.text(alice_name, "k") == "by operator"


def test_signed_write__address_name__claimed_for_the_signer(registry, sign, alice, relayer, deadline):
    node = address_node(alice.address)
    args = [node, "network.dm3.profile", "data:application/json,{}"]
    signature = _signed(WRITES[3], sign, alice.private_key, alice.address, args, 0, deadline)

    tx = _send(registry, WRITES[3], args, alice.address, deadline, signature, relayer)

    assert registry.owner(node) == alice
    assert [log.event_name for log in tx.events] == ["NameRegistered", "Transfer", "TextChanged"]


def test_signed_write__compact_eip2098_signature__accepted(
    registry, sign, alice, relayer, alice_name, deadline
):
    args = [alice_name, "k", "v"]
    signature = _signed(WRITES[3], sign, alice.private_key, alice.address, args, 0, deadline)
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    compact = r + ((v - 27) << 255 | s).to_bytes(32, "big")

    _send(registry, WRITES[3], args, alice.address, deadline, compact, relayer)

    assert registry.text(alice_name, "k") == "v"


def test_signed_write__zero_signer__reverts(registry, sign, alice, relayer, deadline):
    zero = "0x0000000000000000000000000000000000000000"
    args = ["zero"]
    signature = _signed(WRITES[7], sign, alice.private_key, zero, args, 0, deadline)

    with ape.reverts("registry: zero signer"):
        _send(registry, WRITES[7], args, zero, deadline, signature, relayer)


def test_signed_write__malformed_signature__reverts(registry, alice, relayer, alice_name, deadline):
    # ecrecover finds no signer: snekmate's ECDSA module reverts with its own reason.
    with ape.reverts("ecdsa: invalid signature"):
        registry.setTextWithSig(alice_name, "k", "v", alice, deadline, b"\x00" * 65, sender=relayer)


def test_signed_write__high_s_signature__reverts(registry, sign, alice, relayer, alice_name, deadline):
    # The malleable twin of a valid signature (s -> n - s, v flipped) is refused, with snekmate's reason.
    args = [alice_name, "k", "v"]
    signature = _signed(WRITES[3], sign, alice.private_key, alice.address, args, 0, deadline)
    s = int.from_bytes(signature[32:64], "big")
    twin = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])

    with ape.reverts("ecdsa: invalid signature `s` value"):
        _send(registry, WRITES[3], args, alice.address, deadline, twin, relayer)
    assert registry.nonces(alice) == 0


@pytest.mark.parametrize(
    "blob",
    [b"\xff" * 65, b"\x00" * 65, b"\x00" * 64, b"\x01" * 64],
    ids=["high-s", "zero-65", "zero-64", "no-point-64"],
)
def test_erc1271__signature_that_is_not_ecdsa__checked_by_the_wallet(
    project, registry, deployer, relayer, deadline, blob
):
    # ECDSA is tried first; bytes that do not recover (which snekmate's recovery would revert on) must still
    # reach the wallet's isValidSignature, and only the wallet's answer decides.
    wallet = deployer.deploy(project.BlobWallet, blob)
    args = ["wallet.op.dm3.eth"]

    with ape.reverts("registry: invalid signature"):
        _send(registry, WRITES[7], args, wallet.address, deadline, blob[:-1] + b"\x02", relayer)
    _send(registry, WRITES[7], args, wallet.address, deadline, blob, relayer)

    assert registry.primaryName(wallet) == "wallet.op.dm3.eth"
    assert registry.nonces(wallet) == 1


@pytest.fixture
def wallet(project, deployer, alice):
    """A contract wallet that accepts alice's key."""
    return deployer.deploy(project.MockERC1271Wallet, alice, False)


def test_erc1271__wallet_accepts__writes_its_address_name(registry, sign, wallet, alice, relayer, deadline):
    node = address_node(wallet.address)
    args = [node, "network.dm3.profile", "data:application/json,{}"]
    signature = _signed(WRITES[3], sign, alice.private_key, wallet.address, args, 0, deadline)

    _send(registry, WRITES[3], args, wallet.address, deadline, signature, relayer)

    assert registry.owner(node) == wallet.address
    assert registry.text(node, "network.dm3.profile") == "data:application/json,{}"
    assert registry.nonces(wallet) == 1


def test_erc1271__wallet_registers(registry, sign, wallet, alice, relayer, deadline):
    args = ["wallet", wallet.address]
    signature = _signed(WRITES[0], sign, alice.private_key, wallet.address, args, 0, deadline)

    _send(registry, WRITES[0], args, wallet.address, deadline, signature, relayer)

    assert registry.owner(name_node("wallet")) == wallet.address


def test_erc1271__wallet_rejects__reverts(project, registry, sign, deployer, alice, relayer, deadline):
    wallet = deployer.deploy(project.MockERC1271Wallet, alice, True)
    args = ["wallet.op.dm3.eth"]
    signature = _signed(WRITES[7], sign, alice.private_key, wallet.address, args, 0, deadline)

    with ape.reverts("registry: invalid signature"):
        _send(registry, WRITES[7], args, wallet.address, deadline, signature, relayer)


def test_erc1271__key_the_wallet_does_not_accept__reverts(registry, sign, wallet, bob, relayer, deadline):
    args = ["wallet.op.dm3.eth"]
    signature = _signed(WRITES[7], sign, bob.private_key, wallet.address, args, 0, deadline)

    with ape.reverts("registry: invalid signature"):
        _send(registry, WRITES[7], args, wallet.address, deadline, signature, relayer)


def test_erc1271__owner_key_signature__cannot_be_replayed_for_the_wallet(
    registry, sign, wallet, alice, relayer, deadline
):
    # The wallet accepts whatever alice's key signs, but the struct names its signer: a write alice signed
    # for herself does not verify for the wallet, whose nonce is the same.
    args = ["alice.op.dm3.eth"]
    signature = _signed(WRITES[7], sign, alice.private_key, alice.address, args, 0, deadline)

    with ape.reverts("registry: invalid signature"):
        _send(registry, WRITES[7], args, wallet.address, deadline, signature, relayer)

    _send(registry, WRITES[7], args, alice.address, deadline, signature, relayer)
    assert registry.primaryName(alice) == "alice.op.dm3.eth"


def test_type_strings__are_the_ones_documented_in_the_contract(write):
    # The valid-signature tests prove these structs are what the contract hashes; this proves the NatSpec
    # that clients read documents the same strings.
    assert BY_PRIMARY_TYPE[write.primary_type].type_string in CONTRACT_SOURCE.read_text()


def test_type_hash__exposed_and_equal_to_the_documented_string(registry, write):
    type_string = BY_PRIMARY_TYPE[write.primary_type].type_string
    getter = re.sub(r"(?<!^)(?=[A-Z])", "_", write.primary_type).upper() + "_TYPEHASH"
    assert getattr(registry, getter)() == keccak(text=type_string)

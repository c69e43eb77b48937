"""`register(label, owner)`: first come first served names under the parent, label rules."""

from __future__ import annotations

import ape
import pytest
from ape.exceptions import ContractLogicError
from ens.utils import normalize_name
from hypothesis import given
from hypothesis import strategies as st

from .registry_helpers import PARENT, name_node, namehash

GOOD_LABELS = [
    "a",
    "z",
    "0",
    "9",
    "dm3",
    "bob-and-carol",
    "a-b",
    "a--b",
    "abc--d",
    "007",
    "0123456789abcdef0123456789abcdef01234567",  # 40 hex digits: address names live under addr.<parent>
    "a" * 63,
    "addresses",
    "addr0",
    "my-addr",
]

BAD_LABELS = [
    ("", "registry: empty label"),
    ("a" * 64, "registry: label too long"),
    ("a" * 255, "registry: label too long"),
    ("Alice", "registry: invalid character"),
    ("aLICE", "registry: invalid character"),
    ("al ice", "registry: invalid character"),
    ("al.ice", "registry: invalid character"),
    ("al_ice", "registry: invalid character"),
    ("alice!", "registry: invalid character"),
    ("ali/ce", "registry: invalid character"),
    ("a:b", "registry: invalid character"),  # ":" is the byte after "9"
    ("a@b", "registry: invalid character"),  # "@" is the byte before "A"
    ("a`b", "registry: invalid character"),  # "`" is the byte before "a"
    ("a{b", "registry: invalid character"),  # "{" is the byte after "z"
    ("a,b", "registry: invalid character"),  # "," is the byte before "-"
    ("a/b", "registry: invalid character"),  # "/" is the byte after "." (and before "0")
    ("café", "registry: invalid character"),
    ("a\x00", "registry: invalid character"),
    ("-alice", "registry: hyphen at label edge"),
    ("alice-", "registry: hyphen at label edge"),
    ("-", "registry: hyphen at label edge"),
    ("a" * 62 + "-", "registry: hyphen at label edge"),
    ("--ab", "registry: hyphen at label edge"),
    ("ab--c", "registry: hyphens at label positions 3-4"),
    ("xn--80ak6aa92e", "registry: hyphens at label positions 3-4"),
    ("addr", "registry: reserved label"),
]


@pytest.mark.parametrize("label", GOOD_LABELS)
def test_register__valid_label__records_owner_and_emits(registry, alice, bob, label):
    node = name_node(label)

    tx = registry.register(label, bob, sender=alice)

    assert tx.return_value == node
    assert registry.owner(node) == bob
    assert tx.events == [
        registry.NameRegistered(node=node, parent=registry.PARENT_NODE(), owner=bob, label=label),
        registry.Transfer(node=node, owner=bob),
    ]


@pytest.mark.parametrize(("label", "reason"), BAD_LABELS)
def test_register__invalid_label__reverts(registry, alice, label, reason):
    with ape.reverts(reason):
        registry.register(label, alice, sender=alice)


def test_register__label_over_the_abi_cap__reverts(registry, alice):
    # 256 bytes no longer fits the String[255] parameter: the ABI decoder refuses it, without a reason.
    with ape.reverts():
        registry.register("a" * 256, alice, sender=alice)


def test_register__node_is_the_ens_namehash_of_the_full_name(registry, alice):
    tx = registry.register("dm3-user", alice, sender=alice)

    assert tx.return_value == namehash(f"dm3-user.{PARENT}")


def test_register__taken_name__reverts(registry, alice, bob):
    registry.register("taken", alice, sender=alice)

    with ape.reverts("registry: name taken"):
        registry.register("taken", bob, sender=bob)


def test_register__taken_name_after_transfer__reverts(registry, alice, bob):
    node = registry.register("taken", alice, sender=alice).return_value
    registry.setOwner(node, bob, sender=alice)

    with ape.reverts("registry: name taken"):
        registry.register("taken", alice, sender=alice)


def test_register__zero_owner__reverts(registry, alice):
    with ape.reverts("registry: zero owner"):
        registry.register("alice", "0x0000000000000000000000000000000000000000", sender=alice)


def test_register__for_someone_else__they_own_it(registry, alice, carol):
    node = registry.register("gift", carol, sender=alice).return_value

    assert registry.owner(node) == carol


def test_register__unregistered_name__has_no_owner(registry):
    assert registry.owner(name_node("nobody")) == "0x0000000000000000000000000000000000000000"


def _label_is_valid(label: str) -> bool:
    """The label rules, restated in Python."""
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    return (
        0 < len(label.encode()) <= 63
        and set(label) <= allowed
        and not label.startswith("-")
        and not label.endswith("-")
        and label[2:4] != "--"
        and label != "addr"
    )


@given(label=st.text(alphabet="adr09-_.Az", max_size=70))
def test_register__any_label__accepted_exactly_when_valid_and_ensip15_normal(registry, alice, label):
    try:
        registry.register.call(label, alice, sender=alice)
        accepted = True
    except ContractLogicError:
        accepted = False

    assert accepted == _label_is_valid(label)
    if accepted:
        # ENS clients normalise names before hashing: an accepted label must be its own normalisation.
        assert normalize_name(label) == label

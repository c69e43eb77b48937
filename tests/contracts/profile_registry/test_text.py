"""`setText(node, key, value)` / `text(node, key)`: ENS text records."""

from __future__ import annotations

import json

import ape
import pytest
from eth_utils import keccak

from .registry_helpers import name_node

PROFILE_KEY = "network.dm3.profile"


def _dm3_profile_uri(size: int) -> str:
    """A `data:application/json,` dm3 profile record of exactly `size` bytes."""
    profile = {
        "profile": {
            "deliveryServices": ["ds.dm3.eth"],
            "publicEncryptionKey": "",
            "publicSigningKey": "x",
        },
        "signature": "0x" + "ab" * 65,
    }
    prefix = "data:application/json,"
    filler = size - len(prefix) - len(json.dumps(profile, separators=(",", ":"), sort_keys=True))
    profile["profile"]["publicEncryptionKey"] = "k" * filler
    uri = prefix + json.dumps(profile, separators=(",", ":"), sort_keys=True)
    assert len(uri.encode()) == size
    return uri


def test_set_text__by_owner__stores_and_emits(registry, alice, alice_name):
    tx = registry.setText(alice_name, "url", "https://dm3.chat", sender=alice)

    assert registry.text(alice_name, "url") == "https://dm3.chat"
    [log] = tx.events
    assert log.event_name == "TextChanged"
    assert log.node == alice_name
    assert log.indexedKey == keccak(text="url")
    assert (log.key, log.value) == ("url", "https://dm3.chat")


def test_set_text__overwrite__keeps_the_last_value(registry, alice, alice_name):
    registry.setText(alice_name, "k", "a much longer first value " * 10, sender=alice)

    registry.setText(alice_name, "k", "short", sender=alice)

    assert registry.text(alice_name, "k") == "short"


def test_set_text__empty_value__deletes(registry, alice, alice_name):
    registry.setText(alice_name, "k", "v", sender=alice)

    tx = registry.setText(alice_name, "k", "", sender=alice)

    assert registry.text(alice_name, "k") == ""
    assert [(log.key, log.value) for log in tx.events] == [("k", "")]


def test_set_text__keys_and_nodes_are_independent(registry, alice, alice_name):
    other = registry.register("other", alice, sender=alice).return_value
    registry.setText(alice_name, "a", "1", sender=alice)
    registry.setText(alice_name, "b", "2", sender=alice)
    registry.setText(other, "a", "3", sender=alice)

    assert [registry.text(alice_name, "a"), registry.text(alice_name, "b"), registry.text(other, "a")] == [
        "1",
        "2",
        "3",
    ]
    assert registry.text(other, "b") == ""


def test_set_text__dm3_profile_of_2kb__fits(registry, alice, alice_name):
    uri = _dm3_profile_uri(2048)

    registry.setText(alice_name, PROFILE_KEY, uri, sender=alice)

    assert registry.text(alice_name, PROFILE_KEY) == uri


def test_set_text__unicode_value__round_trips(registry, alice, alice_name):
    registry.setText(alice_name, "description", "dm3 ✉ — 私のプロフィール", sender=alice)

    assert registry.text(alice_name, "description") == "dm3 ✉ — 私のプロフィール"


def test_set_text__at_the_caps__fits(registry, alice, alice_name):
    key, value = "k" * 256, "v" * 4096

    registry.setText(alice_name, key, value, sender=alice)

    assert registry.text(alice_name, key) == value


@pytest.mark.parametrize(("key_size", "value_size"), [(257, 1), (1, 4097)])
def test_set_text__over_the_caps__reverts(registry, alice, alice_name, key_size, value_size):
    # The ABI decoder refuses a key over 256 bytes or a value over 4096 bytes, without a reason.
    with ape.reverts():
        registry.setText(alice_name, "k" * key_size, "v" * value_size, sender=alice)


def test_set_text__by_stranger__reverts(registry, bob, alice_name):
    with ape.reverts("registry: not authorised"):
        registry.setText(alice_name, "k", "v", sender=bob)


def test_set_text__free_name__reverts(registry, alice):
    with ape.reverts("registry: not authorised"):
        registry.setText(name_node("free"), "k", "v", sender=alice)


def test_text__unset__is_empty(registry, alice_name):
    assert registry.text(alice_name, "never-set") == ""

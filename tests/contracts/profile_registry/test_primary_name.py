"""`setPrimaryName(name)` / `primaryName(account)`: one reverse name per address."""

from __future__ import annotations

import ape
import pytest


def test_set_primary_name__stores_and_emits(registry, alice):
    tx = registry.setPrimaryName("alice.op.dm3.eth", sender=alice)

    assert registry.primaryName(alice) == "alice.op.dm3.eth"
    assert tx.events == [registry.PrimaryNameChanged(account=alice, name="alice.op.dm3.eth")]


def test_set_primary_name__empty__clears(registry, alice):
    registry.setPrimaryName("alice.op.dm3.eth", sender=alice)

    tx = registry.setPrimaryName("", sender=alice)

    assert registry.primaryName(alice) == ""
    assert tx.events == [registry.PrimaryNameChanged(account=alice, name="")]


def test_set_primary_name__per_account(registry, alice, bob):
    registry.setPrimaryName("alice.op.dm3.eth", sender=alice)
    registry.setPrimaryName("bob.eth", sender=bob)

    assert (registry.primaryName(alice), registry.primaryName(bob)) == ("alice.op.dm3.eth", "bob.eth")


def test_set_primary_name__name_not_owned__is_still_recorded(registry, alice):
    # Not checked on-chain: ENS clients verify forward resolution themselves.
    registry.setPrimaryName("vitalik.eth", sender=alice)

    assert registry.primaryName(alice) == "vitalik.eth"


def test_set_primary_name__at_the_cap__fits(registry, alice):
    registry.setPrimaryName("a" * 251 + ".eth", sender=alice)

    assert registry.primaryName(alice) == "a" * 251 + ".eth"


def test_set_primary_name__over_the_cap__reverts(registry, alice):
    with ape.reverts():
        registry.setPrimaryName("a" * 252 + ".eth", sender=alice)


@pytest.mark.parametrize("length", [1, 30, 31, 32, 33, 64, 255])
def test_set_primary_name__every_length_round_trips(registry, alice, length):
    # Up to 31 bytes the name is packed into one slot; from 32 it lives in its own string slots.
    name = ("x" * length)[: length - 4] + ".eth" if length > 4 else "x" * length

    registry.setPrimaryName(name, sender=alice)

    assert registry.primaryName(alice) == name


def test_set_primary_name__long_then_short_then_long__reads_the_latest(registry, alice):
    long_name, short_name = "l" * 60 + ".eth", "s.eth"
    for name in (long_name, short_name, "", "m" * 40 + ".eth", short_name):
        registry.setPrimaryName(name, sender=alice)

        assert registry.primaryName(alice) == name


def test_set_primary_name__multibyte_utf8_at_the_packing_edge(registry, alice):
    # 31 and 32 bytes in UTF-8, fewer characters.
    for name in ("é" * 13 + ".eth", "é" * 14 + ".eth"):
        registry.setPrimaryName(name, sender=alice)

        assert registry.primaryName(alice) == name


def test_primary_name__unset__is_empty(registry, carol):
    assert registry.primaryName(carol) == ""

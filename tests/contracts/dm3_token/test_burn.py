"""Dm3Token holder burns: `burn` and `burn_from`."""

from __future__ import annotations

import ape

UNIT = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


def test_burn__destroys_the_callers_tokens(token, owner, alice):
    token.mint(alice, 10 * UNIT, sender=owner)
    tx = token.burn(4 * UNIT, sender=alice)
    assert token.balanceOf(alice) == 6 * UNIT
    assert token.totalSupply() == 6 * UNIT
    logs = list(tx.decode_logs(token.Transfer))
    assert [(log.sender, log.receiver, log.value) for log in logs] == [(alice.address, ZERO, 4 * UNIT)]


def test_burn__more_than_the_balance__reverts(token, owner, alice):
    token.mint(alice, UNIT, sender=owner)
    with ape.reverts("erc20: burn amount exceeds balance"):
        token.burn(UNIT + 1, sender=alice)


def test_burn_from__uses_the_allowance(token, owner, alice, bob):
    token.mint(alice, 10 * UNIT, sender=owner)
    token.approve(bob, 5 * UNIT, sender=alice)
    token.burn_from(alice, 3 * UNIT, sender=bob)
    assert token.balanceOf(alice) == 7 * UNIT
    assert token.allowance(alice, bob) == 2 * UNIT
    assert token.totalSupply() == 7 * UNIT


def test_burn_from__beyond_the_allowance__reverts(token, owner, alice, bob):
    token.mint(alice, 10 * UNIT, sender=owner)
    token.approve(bob, UNIT, sender=alice)
    with ape.reverts("erc20: insufficient allowance"):
        token.burn_from(alice, 2 * UNIT, sender=bob)

"""Dm3Token transfers, and their gas against a plain snekmate ERC-20 (the baseline)."""

from __future__ import annotations

import ape

UNIT = 10**18


def test_transfer__moves_tokens(token, owner, alice, bob):
    token.mint(alice, 10 * UNIT, sender=owner)
    token.transfer(bob, 3 * UNIT, sender=alice)
    assert (token.balanceOf(alice), token.balanceOf(bob)) == (7 * UNIT, 3 * UNIT)


def test_transfer_from__uses_the_allowance(token, owner, alice, bob):
    token.mint(alice, 10 * UNIT, sender=owner)
    token.approve(bob, 4 * UNIT, sender=alice)
    token.transferFrom(alice, bob, 3 * UNIT, sender=bob)
    assert token.allowance(alice, bob) == UNIT
    with ape.reverts("erc20: insufficient allowance"):
        token.transferFrom(alice, bob, 2 * UNIT, sender=bob)


def test_transfer__gas_no_more_than_plain_snekmate(project, token, owner, alice, bob):
    plain = project.PlainERC20.deploy(sender=owner)
    used = {}
    for name, contract in (("dm3", token), ("plain", plain)):
        contract.mint(alice, 10 * UNIT, sender=owner)
        contract.transfer(bob, UNIT, sender=alice)  # both balances non-zero: the steady state
        used[name] = contract.transfer(bob, UNIT, sender=alice).gas_used
    print(f"gas transfer: Dm3Token {used['dm3']}, PlainERC20 {used['plain']}")
    assert used["dm3"] <= used["plain"]

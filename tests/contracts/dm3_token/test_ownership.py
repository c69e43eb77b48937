"""Dm3Token two-step ownership: the owner is the only minter, before and after a handover."""

from __future__ import annotations

import ape

UNIT = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


def test_owner__is_the_deployer(token, owner):
    assert token.owner() == owner.address
    assert token.pending_owner() == ZERO


def test_transfer_ownership__needs_acceptance(token, owner, alice):
    token.transfer_ownership(alice, sender=owner)
    assert token.owner() == owner.address
    assert token.pending_owner() == alice.address
    token.mint(alice, UNIT, sender=owner)  # still the owner until accepted


def test_accept_ownership__moves_minting(token, owner, alice):
    token.transfer_ownership(alice, sender=owner)
    token.accept_ownership(sender=alice)
    assert token.owner() == alice.address
    assert token.pending_owner() == ZERO
    token.mint(alice, UNIT, sender=alice)
    with ape.reverts("ownable: caller is not the owner"):
        token.mint(owner, UNIT, sender=owner)


def test_accept_ownership__by_anyone_else__reverts(token, owner, alice, bob):
    token.transfer_ownership(alice, sender=owner)
    with ape.reverts("ownable_2step: caller is not the new owner"):
        token.accept_ownership(sender=bob)


def test_transfer_ownership__not_owner__reverts(token, alice):
    with ape.reverts("ownable: caller is not the owner"):
        token.transfer_ownership(alice, sender=alice)


def test_renounce_ownership__ends_minting_for_good(token, owner, alice):
    token.renounce_ownership(sender=owner)
    assert token.owner() == ZERO
    with ape.reverts("ownable: caller is not the owner"):
        token.mint(alice, UNIT, sender=owner)


def test_renounce_ownership__not_owner__reverts(token, alice):
    with ape.reverts("ownable: caller is not the owner"):
        token.renounce_ownership(sender=alice)

"""Dm3Token as an attacker sees it: permits for the zero address or with garbage signatures, spending without an
allowance, burning someone else's tokens."""

from __future__ import annotations

import ape
import pytest

ZERO = "0x0000000000000000000000000000000000000000"


@pytest.mark.parametrize(
    "v, r, s",
    [(0, b"\x00" * 32, b"\x00" * 32), (27, b"\x00" * 32, b"\x00" * 32), (28, b"\x01" * 32, b"\x01" * 32)],
)
def test_permit__zero_owner_with_garbage_signature__reverts(token, bob, chain, v, r, s):
    deadline = chain.pending_timestamp + 3_600
    with ape.reverts():
        token.permit(ZERO, bob, 2**256 - 1, deadline, v, r, s, sender=bob)
    assert token.allowance(ZERO, bob) == 0


def test_permit__real_owner_with_garbage_signature__reverts(token, alice, bob, chain):
    deadline = chain.pending_timestamp + 3_600
    with ape.reverts():
        token.permit(alice, bob, 1, deadline, 27, b"\x00" * 32, b"\x00" * 32, sender=bob)
    assert token.allowance(alice, bob) == 0
    assert token.nonces(alice) == 0


def test_transfer_from__without_allowance__reverts(token, owner, alice, bob):
    token.mint(alice, 10, sender=owner)
    with ape.reverts("erc20: insufficient allowance"):
        token.transferFrom(alice, bob, 1, sender=bob)
    with ape.reverts("erc20: insufficient allowance"):
        token.burn_from(alice, 1, sender=bob)
    assert token.balanceOf(alice) == 10

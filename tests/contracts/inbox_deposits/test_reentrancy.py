"""InboxDeposits against a token that calls back into it on every transfer.

Vyper's re-entrancy lock reverts with empty data, while every other refusal on these paths carries a reason
string: an empty `last_revert_data` shows the lock, not some other check, stopped the call-back.
"""

from __future__ import annotations

import pytest

from .deposits_helpers import MAX_UINT256, UNIT

AMOUNT = 10 * UNIT


@pytest.fixture
def hostile(project, deploy_with, senders):
    return deploy_with(project.HostileToken, senders)


@pytest.mark.parametrize(
    ("method", "make_args"),
    [
        ("deposit", lambda recipient, other: (recipient, UNIT)),
        ("deposit_with_permit", lambda recipient, other: (recipient, UNIT, 0, 0, b"\x00" * 32, b"\x00" * 32)),
        ("withdraw", lambda recipient, other: (recipient, other)),
        ("burn", lambda recipient, other: (other, UNIT)),
        ("burn_with_sig", lambda recipient, other: (other, recipient, UNIT, 0, b"")),
        ("release", lambda recipient, other: (other,)),
        ("release_with_sig", lambda recipient, other: (other, recipient, 0, b"")),
        ("request_withdrawal", lambda recipient, other: (recipient,)),
        ("sweep_excess", lambda recipient, other: (other,)),
    ],
)
def test_reentry_during_deposit__is_refused_by_the_lock(
    hostile, owner, senders, recipient, method, make_args
):
    token, deposits = hostile
    payload = getattr(deposits, method).encode_input(*make_args(recipient, senders[1]))
    token.arm(deposits, payload, sender=owner)
    deposits.deposit(recipient, AMOUNT, sender=senders[0])
    assert token.attempts() == 1
    assert not token.last_succeeded()
    assert token.last_revert_data() == b""
    assert deposits.bond(senders[0], recipient) == AMOUNT
    assert deposits.total_active() == AMOUNT


def test_reentry_during_withdraw__pays_out_once(hostile, owner, recipient, chain):
    token, deposits = hostile
    # The token holds a bond of its own and tries to withdraw it twice: once for real, once from its hook.
    token.mint(token, AMOUNT, sender=owner)
    token.execute(token, token.approve.encode_input(deposits, MAX_UINT256), sender=owner)
    token.execute(deposits, deposits.deposit.encode_input(recipient, AMOUNT), sender=owner)
    token.execute(deposits, deposits.request_withdrawal.encode_input(recipient), sender=owner)
    unlock = deposits.bonds(token, recipient).unlock_time
    chain.pending_timestamp = unlock
    token.arm(deposits, deposits.withdraw.encode_input(recipient, token), sender=owner)
    token.execute(deposits, deposits.withdraw.encode_input(recipient, token), sender=owner)
    assert token.attempts() >= 1
    assert not token.last_succeeded()
    assert token.last_revert_data() == b""
    assert token.balanceOf(token) == AMOUNT
    assert token.balanceOf(deposits) == 0
    assert deposits.total_active() == deposits.total_pending() == 0


def test_reentry_during_burn__is_refused_by_the_lock(hostile, owner, senders, recipient):
    token, deposits = hostile
    deposits.deposit(recipient, AMOUNT, sender=senders[0])
    token.arm(deposits, deposits.release.encode_input(senders[1]), sender=owner)
    deposits.burn(senders[0], UNIT, sender=recipient)  # no `burn` on the token: paid out to 0x...dEaD
    assert token.attempts() == 1
    assert not token.last_succeeded()
    assert token.last_revert_data() == b""
    assert deposits.bond(senders[0], recipient) == AMOUNT - UNIT


def test_reentry_during_sweep__is_refused_by_the_lock(hostile, owner, senders, recipient):
    token, deposits = hostile
    deposits.deposit(recipient, AMOUNT, sender=senders[0])
    token.transfer(deposits, UNIT, sender=senders[1])
    token.arm(deposits, deposits.release.encode_input(senders[1]), sender=owner)
    deposits.sweep_excess(owner, sender=owner)
    assert not token.last_succeeded()
    assert token.balanceOf(owner) == UNIT


def test_call_back_outside_the_lock__succeeds(hostile, owner, senders, recipient):
    # The hook really fires and reaches the contract: a view and an unlocked setter go through.
    token, deposits = hostile
    token.arm(deposits, deposits.set_min_deposit.encode_input(5), sender=owner)
    deposits.deposit(recipient, AMOUNT, sender=senders[0])
    assert token.last_succeeded()
    assert deposits.min_deposit(token) == 5
    token.arm(deposits, deposits.is_eligible.encode_input(senders[0], recipient), sender=owner)
    deposits.deposit(recipient, AMOUNT, sender=senders[0])
    assert token.last_succeeded()

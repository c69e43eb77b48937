"""InboxDeposits.sweep_excess: only tokens beyond active + pending bonds, only by the owner."""

from __future__ import annotations

import ape

from .deposits_helpers import UNIT, only_event

AMOUNT = 10 * UNIT
DONATION = 3 * UNIT
ZERO = "0x0000000000000000000000000000000000000000"


def test_sweep_excess__sends_only_the_donation(deposits, token, owner, senders, recipient, stranger):
    deposits.deposit(recipient, AMOUNT, sender=senders[0])
    deposits.deposit(recipient, AMOUNT, sender=senders[1])
    deposits.request_withdrawal(recipient, sender=senders[1])
    token.transfer(deposits, DONATION, sender=senders[2])
    tx = deposits.sweep_excess(stranger, sender=owner)
    assert token.balanceOf(stranger) == DONATION
    assert token.balanceOf(deposits) == 2 * AMOUNT
    log = only_event(tx, deposits.ExcessSwept)
    assert (log.receiver, log.amount) == (stranger.address, DONATION)


def test_sweep_excess__after_burns_and_withdrawals__still_only_the_donation(
    deposits, token, owner, senders, recipient, stranger
):
    deposits.deposit(recipient, AMOUNT, sender=senders[0])
    deposits.deposit(recipient, AMOUNT, sender=senders[1])
    deposits.burn(senders[0], 4 * UNIT, sender=recipient)
    deposits.release(senders[1], sender=recipient)
    deposits.withdraw(recipient, senders[1], sender=senders[1])
    token.transfer(deposits, DONATION, sender=senders[2])
    deposits.sweep_excess(stranger, sender=owner)
    assert token.balanceOf(stranger) == DONATION
    assert token.balanceOf(deposits) == 6 * UNIT
    deposits.request_withdrawal(recipient, sender=senders[0])


def test_sweep_excess__nothing_extra__reverts(deposits, owner, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    with ape.reverts("deposits: no excess"):
        deposits.sweep_excess(owner, sender=owner)


def test_sweep_excess__not_owner__reverts(deposits, token, sender, stranger):
    token.transfer(deposits, DONATION, sender=sender)
    with ape.reverts("ownable: caller is not the owner"):
        deposits.sweep_excess(stranger, sender=stranger)


def test_sweep_excess__zero_receiver__reverts(deposits, token, owner, sender):
    token.transfer(deposits, DONATION, sender=sender)
    with ape.reverts("deposits: zero receiver"):
        deposits.sweep_excess(ZERO, sender=owner)

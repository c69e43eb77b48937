"""InboxDeposits.request_withdrawal: starts the cooldown, moves the bond to pending, ends eligibility."""

from __future__ import annotations

import ape

from .deposits_helpers import COOLDOWN, UNIT, block_timestamp, bond_of, only_event

AMOUNT = 5 * UNIT


def test_request_withdrawal__sets_unlock_time_and_logs(deposits, sender, recipient, chain):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    tx = deposits.request_withdrawal(recipient, sender=sender)
    unlock = block_timestamp(chain, tx) + COOLDOWN
    assert bond_of(deposits, sender, recipient) == (AMOUNT, unlock, False)
    log = only_event(tx, deposits.WithdrawalRequested)
    assert (log.sender, log.recipient, log.bond, log.unlock_time) == (
        sender.address,
        recipient.address,
        AMOUNT,
        unlock,
    )


def test_request_withdrawal__moves_bond_from_active_to_pending(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    assert (deposits.total_active(), deposits.total_pending()) == (AMOUNT, 0)
    deposits.request_withdrawal(recipient, sender=sender)
    assert (deposits.total_active(), deposits.total_pending()) == (0, AMOUNT)


def test_request_withdrawal__ends_eligibility(deposits, sender, recipient):
    deposits.set_min_deposit(AMOUNT, sender=recipient)
    deposits.deposit(recipient, AMOUNT, sender=sender)
    assert deposits.is_eligible(sender, recipient)
    deposits.request_withdrawal(recipient, sender=sender)
    assert not deposits.is_eligible(sender, recipient)


def test_request_withdrawal__blocks_top_ups(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.request_withdrawal(recipient, sender=sender)
    with ape.reverts("deposits: withdrawal pending"):
        deposits.deposit(recipient, AMOUNT, sender=sender)


def test_request_withdrawal__without_bond__reverts(deposits, sender, recipient):
    with ape.reverts("deposits: no bond"):
        deposits.request_withdrawal(recipient, sender=sender)


def test_request_withdrawal__after_full_burn__reverts(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.burn(sender, AMOUNT, sender=recipient)
    with ape.reverts("deposits: no bond"):
        deposits.request_withdrawal(recipient, sender=sender)


def test_request_withdrawal__accepted_pair__reverts(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.release(sender, sender=recipient)
    with ape.reverts("deposits: pair accepted"):
        deposits.request_withdrawal(recipient, sender=sender)


def test_request_withdrawal__twice__reverts(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.request_withdrawal(recipient, sender=sender)
    with ape.reverts("deposits: withdrawal pending"):
        deposits.request_withdrawal(recipient, sender=sender)

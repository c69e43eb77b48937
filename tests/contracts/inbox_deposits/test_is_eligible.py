"""InboxDeposits.is_eligible: accepted, or min deposit 0, or (bond >= min deposit and no withdrawal pending)."""

from __future__ import annotations

from .deposits_helpers import UNIT

MIN = 3 * UNIT


def test_is_eligible__open_inbox__anyone(deposits, sender, recipient):
    assert deposits.is_eligible(sender, recipient)


def test_is_eligible__priced_inbox_without_bond__no(deposits, sender, recipient):
    deposits.set_min_deposit(MIN, sender=recipient)
    assert not deposits.is_eligible(sender, recipient)


def test_is_eligible__bond_below_minimum__no(deposits, sender, recipient):
    deposits.set_min_deposit(MIN, sender=recipient)
    deposits.deposit(recipient, MIN - 1, sender=sender)
    assert not deposits.is_eligible(sender, recipient)


def test_is_eligible__bond_exactly_minimum__yes(deposits, sender, recipient):
    deposits.set_min_deposit(MIN, sender=recipient)
    deposits.deposit(recipient, MIN, sender=sender)
    assert deposits.is_eligible(sender, recipient)


def test_is_eligible__top_up_reaches_minimum__yes(deposits, sender, recipient):
    deposits.set_min_deposit(MIN, sender=recipient)
    deposits.deposit(recipient, MIN - UNIT, sender=sender)
    deposits.deposit(recipient, UNIT, sender=sender)
    assert deposits.is_eligible(sender, recipient)


def test_is_eligible__minimum_raised_above_bond__no(deposits, sender, recipient):
    deposits.set_min_deposit(MIN, sender=recipient)
    deposits.deposit(recipient, MIN, sender=sender)
    deposits.set_min_deposit(MIN + 1, sender=recipient)
    assert not deposits.is_eligible(sender, recipient)


def test_is_eligible__partial_burn_below_minimum__no(deposits, sender, recipient):
    deposits.set_min_deposit(MIN, sender=recipient)
    deposits.deposit(recipient, MIN, sender=sender)
    deposits.burn(sender, 1, sender=recipient)
    assert not deposits.is_eligible(sender, recipient)


def test_is_eligible__withdrawal_pending__no(deposits, sender, recipient):
    deposits.set_min_deposit(MIN, sender=recipient)
    deposits.deposit(recipient, 2 * MIN, sender=sender)
    deposits.request_withdrawal(recipient, sender=sender)
    assert not deposits.is_eligible(sender, recipient)


def test_is_eligible__withdrawal_pending_on_open_inbox__yes(deposits, sender, recipient):
    deposits.deposit(recipient, MIN, sender=sender)
    deposits.request_withdrawal(recipient, sender=sender)
    assert deposits.is_eligible(sender, recipient)


def test_is_eligible__accepted_without_bond__yes(deposits, sender, recipient):
    deposits.set_min_deposit(MIN, sender=recipient)
    deposits.release(sender, sender=recipient)
    assert deposits.is_eligible(sender, recipient)


def test_is_eligible__accepted_after_withdrawing__still_yes(deposits, sender, recipient):
    deposits.set_min_deposit(MIN, sender=recipient)
    deposits.deposit(recipient, MIN, sender=sender)
    deposits.release(sender, sender=recipient)
    deposits.withdraw(recipient, sender, sender=sender)
    assert deposits.is_eligible(sender, recipient)


def test_is_eligible__is_per_recipient(deposits, sender, recipients):
    first, second = recipients
    deposits.set_min_deposit(MIN, sender=first)
    deposits.set_min_deposit(MIN, sender=second)
    deposits.deposit(first, MIN, sender=sender)
    assert deposits.is_eligible(sender, first)
    assert not deposits.is_eligible(sender, second)


def test_set_min_deposit__stores_and_logs(deposits, recipient):
    tx = deposits.set_min_deposit(MIN, sender=recipient)
    assert deposits.min_deposit(recipient) == MIN
    logs = list(tx.decode_logs(deposits.MinDepositSet))
    assert [(log.recipient, log.amount) for log in logs] == [(recipient.address, MIN)]
    deposits.set_min_deposit(0, sender=recipient)
    assert deposits.min_deposit(recipient) == 0

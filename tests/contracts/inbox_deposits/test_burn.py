"""InboxDeposits.burn: the recipient destroys part or all of a bond; never an accepted one."""

from __future__ import annotations

import ape

from .deposits_helpers import UNIT, bond_of, only_event

AMOUNT = 10 * UNIT


def test_burn__whole_bond__destroys_the_tokens(deposits, token, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    supply = token.totalSupply()
    tx = deposits.burn(sender, AMOUNT, sender=recipient)
    assert token.totalSupply() == supply - AMOUNT  # Dm3Token has `burn`: a real burn, not a parked transfer
    assert token.balanceOf(deposits) == 0
    assert bond_of(deposits, sender, recipient) == (0, 0, False)
    log = only_event(tx, deposits.Burned)
    assert (log.sender, log.recipient, log.amount, log.bond) == (sender.address, recipient.address, AMOUNT, 0)


def test_burn__partial__keeps_the_rest(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    tx = deposits.burn(sender, 3 * UNIT, sender=recipient)
    assert deposits.bond(sender, recipient) == 7 * UNIT
    assert only_event(tx, deposits.Burned).bond == 7 * UNIT


def test_burn__updates_totals(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.burn(sender, 4 * UNIT, sender=recipient)
    assert deposits.total_active() == 6 * UNIT
    assert deposits.total_pending() == 0


def test_burn__during_cooldown__allowed_and_reduces_pending(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.request_withdrawal(recipient, sender=sender)
    deposits.burn(sender, 4 * UNIT, sender=recipient)
    assert deposits.total_pending() == 6 * UNIT
    assert deposits.total_active() == 0
    amount, unlock, _ = bond_of(deposits, sender, recipient)
    assert amount == 6 * UNIT
    assert unlock != 0  # the request stands


def test_burn__accepted_pair__reverts(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.release(sender, sender=recipient)
    with ape.reverts("deposits: pair accepted"):
        deposits.burn(sender, UNIT, sender=recipient)


def test_burn__more_than_the_bond__reverts(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    with ape.reverts("deposits: amount exceeds bond"):
        deposits.burn(sender, AMOUNT + 1, sender=recipient)


def test_burn__zero__reverts(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    with ape.reverts("deposits: zero amount"):
        deposits.burn(sender, 0, sender=recipient)


def test_burn__by_anyone_but_the_recipient__finds_no_bond(deposits, sender, recipient, stranger):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    with ape.reverts("deposits: amount exceeds bond"):
        deposits.burn(sender, UNIT, sender=stranger)
    with ape.reverts("deposits: amount exceeds bond"):
        deposits.burn(recipient, UNIT, sender=sender)
    assert deposits.bond(sender, recipient) == AMOUNT


def test_burn__tokens_can_never_be_swept(deposits, token, owner, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.burn(sender, AMOUNT, sender=recipient)
    with ape.reverts("deposits: no excess"):
        deposits.sweep_excess(owner, sender=owner)

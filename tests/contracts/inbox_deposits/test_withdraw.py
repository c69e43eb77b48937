"""InboxDeposits.withdraw: after the cooldown (boundary exact), at once when accepted, and every refusal."""

from __future__ import annotations

import ape

from .deposits_helpers import COOLDOWN, UNIT, block_timestamp, bond_of, only_event

AMOUNT = 10 * UNIT


def _request(deposits, sender, recipient, chain) -> int:
    deposits.deposit(recipient, AMOUNT, sender=sender)
    tx = deposits.request_withdrawal(recipient, sender=sender)
    return block_timestamp(chain, tx) + COOLDOWN


def test_withdraw__one_second_before_unlock__reverts(deposits, sender, recipient, chain):
    unlock = _request(deposits, sender, recipient, chain)
    chain.pending_timestamp = unlock - 1
    head = chain.blocks.head.number
    # An explicit gas limit skips estimation, so the failing transaction is mined at exactly unlock - 1.
    with ape.reverts("deposits: cooldown not over"):
        deposits.withdraw(recipient, sender, sender=sender, gas_limit=300_000)
    assert chain.blocks.head.number == head + 1
    assert chain.blocks.head.timestamp == unlock - 1


def test_withdraw__exactly_at_unlock__sends_the_whole_bond(deposits, token, sender, recipient, chain):
    unlock = _request(deposits, sender, recipient, chain)
    balance = token.balanceOf(sender)
    chain.pending_timestamp = unlock
    tx = deposits.withdraw(recipient, sender, sender=sender)
    assert block_timestamp(chain, tx) == unlock
    assert token.balanceOf(sender) == balance + AMOUNT
    assert bond_of(deposits, sender, recipient) == (0, 0, False)
    log = only_event(tx, deposits.Withdrawn)
    assert (log.sender, log.recipient, log.receiver, log.amount) == (
        sender.address,
        recipient.address,
        sender.address,
        AMOUNT,
    )


def test_withdraw__to_another_receiver__pays_the_receiver(
    deposits, token, sender, recipient, stranger, chain
):
    unlock = _request(deposits, sender, recipient, chain)
    chain.pending_timestamp = unlock
    deposits.withdraw(recipient, stranger, sender=sender)
    assert token.balanceOf(stranger) == AMOUNT


def test_withdraw__updates_totals(deposits, sender, recipient, chain):
    unlock = _request(deposits, sender, recipient, chain)
    assert deposits.total_pending() == AMOUNT
    chain.pending_timestamp = unlock
    deposits.withdraw(recipient, sender, sender=sender)
    assert deposits.total_pending() == 0
    assert deposits.total_active() == 0


def test_withdraw__accepted_pair__works_at_once_and_keeps_accepted(deposits, token, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.release(sender, sender=recipient)
    balance = token.balanceOf(sender)
    deposits.withdraw(recipient, sender, sender=sender)
    assert token.balanceOf(sender) == balance + AMOUNT
    assert bond_of(deposits, sender, recipient) == (0, 0, True)
    assert deposits.total_active() == 0
    assert deposits.is_eligible(sender, recipient)


def test_withdraw__released_during_cooldown__works_before_unlock(deposits, token, sender, recipient, chain):
    _request(deposits, sender, recipient, chain)
    deposits.release(sender, sender=recipient)
    deposits.withdraw(recipient, sender, sender=sender)
    assert bond_of(deposits, sender, recipient) == (0, 0, True)
    assert deposits.total_pending() == deposits.total_active() == 0


def test_withdraw__bond_burned_to_zero_during_cooldown__clears_the_request(
    deposits, sender, recipient, chain
):
    unlock = _request(deposits, sender, recipient, chain)
    deposits.burn(sender, AMOUNT, sender=recipient)
    chain.pending_timestamp = unlock
    tx = deposits.withdraw(recipient, sender, sender=sender)
    assert only_event(tx, deposits.Withdrawn).amount == 0
    assert bond_of(deposits, sender, recipient) == (0, 0, False)
    deposits.deposit(recipient, UNIT, sender=sender)  # the pair is usable again


def test_withdraw__then_deposit_again__starts_a_new_bond(deposits, sender, recipient, chain):
    unlock = _request(deposits, sender, recipient, chain)
    chain.pending_timestamp = unlock
    deposits.withdraw(recipient, sender, sender=sender)
    deposits.deposit(recipient, UNIT, sender=sender)
    assert bond_of(deposits, sender, recipient) == (UNIT, 0, False)


def test_withdraw__zero_receiver__reverts(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.release(sender, sender=recipient)
    with ape.reverts("deposits: zero receiver"):
        deposits.withdraw(recipient, "0x0000000000000000000000000000000000000000", sender=sender)


def test_withdraw__without_request__reverts(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    with ape.reverts("deposits: no withdrawal requested"):
        deposits.withdraw(recipient, sender, sender=sender)


def test_withdraw__no_bond_at_all__reverts(deposits, sender, recipient):
    with ape.reverts("deposits: no withdrawal requested"):
        deposits.withdraw(recipient, sender, sender=sender)


def test_withdraw__accepted_with_nothing_left__reverts(deposits, sender, recipient):
    deposits.release(sender, sender=recipient)
    with ape.reverts("deposits: nothing to withdraw"):
        deposits.withdraw(recipient, sender, sender=sender)


def test_withdraw__twice__second_reverts(deposits, sender, recipient, chain):
    unlock = _request(deposits, sender, recipient, chain)
    chain.pending_timestamp = unlock
    deposits.withdraw(recipient, sender, sender=sender)
    with ape.reverts("deposits: no withdrawal requested"):
        deposits.withdraw(recipient, sender, sender=sender)


def test_withdraw__by_someone_else__touches_only_their_own_pair(
    deposits, token, sender, recipient, stranger, chain
):
    unlock = _request(deposits, sender, recipient, chain)
    chain.pending_timestamp = unlock
    with ape.reverts("deposits: no withdrawal requested"):
        deposits.withdraw(recipient, stranger, sender=stranger)
    assert bond_of(deposits, sender, recipient)[0] == AMOUNT

"""InboxDeposits.deposit: new bonds, top-ups, bookkeeping and every refusal."""

from __future__ import annotations

import ape

from .deposits_helpers import COOLDOWN, UNIT, block_timestamp, bond_of, only_event

AMOUNT = 7 * UNIT
ZERO = "0x0000000000000000000000000000000000000000"


def test_deposit__new_pair__locks_tokens_and_logs(deposits, token, sender, recipient):
    balance = token.balanceOf(sender)
    tx = deposits.deposit(recipient, AMOUNT, sender=sender)
    assert token.balanceOf(sender) == balance - AMOUNT
    assert token.balanceOf(deposits) == AMOUNT
    assert bond_of(deposits, sender, recipient) == (AMOUNT, 0, False)
    assert deposits.bond(sender, recipient) == AMOUNT
    log = only_event(tx, deposits.Deposited)
    assert (log.sender, log.recipient, log.payer, log.amount, log.bond) == (
        sender.address,
        recipient.address,
        sender.address,
        AMOUNT,
        AMOUNT,
    )


def test_deposit__top_up__adds_and_logs_the_total(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    tx = deposits.deposit(recipient, UNIT, sender=sender)
    assert deposits.bond(sender, recipient) == AMOUNT + UNIT
    log = only_event(tx, deposits.Deposited)
    assert (log.amount, log.bond) == (UNIT, AMOUNT + UNIT)


def test_deposit__updates_totals(deposits, senders, recipients):
    deposits.deposit(recipients[0], AMOUNT, sender=senders[0])
    deposits.deposit(recipients[1], UNIT, sender=senders[0])
    deposits.deposit(recipients[0], UNIT, sender=senders[1])
    total = AMOUNT + 2 * UNIT
    assert deposits.total_active() == total
    assert deposits.total_pending() == 0


def test_deposit__pairs_are_independent(deposits, senders, recipients):
    deposits.deposit(recipients[0], AMOUNT, sender=senders[0])
    assert deposits.bond(senders[0], recipients[1]) == 0
    assert deposits.bond(senders[1], recipients[0]) == 0
    assert deposits.bond(recipients[0], senders[0]) == 0


def test_deposit__zero_amount__reverts(deposits, sender, recipient):
    with ape.reverts("deposits: zero amount"):
        deposits.deposit(recipient, 0, sender=sender)


def test_deposit__to_self__reverts(deposits, sender):
    with ape.reverts("deposits: self-deposit"):
        deposits.deposit(sender, AMOUNT, sender=sender)


def test_deposit__to_zero_recipient__reverts(deposits, sender):
    with ape.reverts("deposits: zero recipient"):
        deposits.deposit(ZERO, AMOUNT, sender=sender)


def test_deposit__while_paused__reverts(deposits, owner, sender, recipient):
    deposits.pause(sender=owner)
    with ape.reverts("deposits: paused"):
        deposits.deposit(recipient, AMOUNT, sender=sender)


def test_deposit__accepted_pair__reverts(deposits, sender, recipient):
    deposits.release(sender, sender=recipient)
    with ape.reverts("deposits: pair accepted"):
        deposits.deposit(recipient, AMOUNT, sender=sender)


def test_deposit__withdrawal_pending__reverts(deposits, sender, recipient):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.request_withdrawal(recipient, sender=sender)
    with ape.reverts("deposits: withdrawal pending"):
        deposits.deposit(recipient, AMOUNT, sender=sender)


def test_deposit__without_allowance__reverts_in_the_token(deposits, token, sender, recipient):
    token.approve(deposits, AMOUNT - 1, sender=sender)
    with ape.reverts("erc20: insufficient allowance"):
        deposits.deposit(recipient, AMOUNT, sender=sender)


def test_deposit__beyond_balance__reverts_in_the_token(deposits, token, sender, recipient):
    with ape.reverts("erc20: transfer amount exceeds balance"):
        deposits.deposit(recipient, token.balanceOf(sender) + 1, sender=sender)


def test_deposit__past_128_bits__reverts(project, deploy_with, senders, recipient):
    # Dm3Token's cap keeps it far below 2**128; an uncapped test token can get there.
    holder = senders[0]
    _, deposits = deploy_with(project.NoReturnToken, [holder], funds=2**129)
    deposits.deposit(recipient, 2**128 - 2, sender=holder)
    with ape.reverts("deposits: amount too large"):
        deposits.deposit(recipient, 2, sender=holder)
    deposits.deposit(recipient, 1, sender=holder)
    assert deposits.bond(holder, recipient) == 2**128 - 1
    assert deposits.total_active() == 2**128 - 1


def test_deposit__recycled_tokens__never_exhaust_the_bound(
    project, deploy_with, chain, accounts, senders, recipient
):
    # The attack on an all-time counter: the same 2**127 tokens (flash-loanable) cycle deposit -> withdraw again and
    # again. Only live amounts are bounded, so no number of cycles locks later deposits out.
    holder = senders[0]
    _, deposits = deploy_with(project.NoReturnToken, [holder], funds=2**127)
    for _ in range(3):
        deposits.deposit(recipient, 2**127, sender=holder)
        tx = deposits.request_withdrawal(recipient, sender=holder)
        chain.pending_timestamp = block_timestamp(chain, tx) + COOLDOWN
        deposits.withdraw(recipient, holder, sender=holder)
    for other in accounts[7:9]:
        deposits.deposit(other, 2**127, sender=holder)
        deposits.release(holder, sender=other)
        deposits.withdraw(other, holder, sender=holder)
    deposits.deposit(recipient, 2**127, sender=holder)
    assert deposits.bond(holder, recipient) == 2**127 == deposits.total_active()

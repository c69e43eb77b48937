"""The signed variants that make every user action gasless: set_min_deposit_with_sig, deposit_with_sig (permit),
request_withdrawal_with_sig and withdraw_with_sig. Each is tried valid, replayed, by the wrong key, with the zero
address as signer, expired, with changed arguments, and for another pair."""

from __future__ import annotations

import ape
import pytest

from .deposits_helpers import COOLDOWN, UNIT, block_timestamp, bond_of, only_event

ZERO = "0x0000000000000000000000000000000000000000"
AMOUNT = 10 * UNIT


def test_set_min_deposit_with_sig__sets_the_signers_price(
    deposits, recipient, relayer, deadline, sign_signed
):
    sig = sign_signed(
        recipient.private_key, "SetMinDeposit", recipient=recipient, amount=UNIT, nonce=0, deadline=deadline
    )
    tx = deposits.set_min_deposit_with_sig(recipient, UNIT, deadline, sig, sender=relayer)
    assert deposits.min_deposit(recipient) == UNIT
    assert deposits.min_deposit(relayer) == 0
    assert deposits.nonces(recipient) == 1
    assert only_event(tx, deposits.MinDepositSet).recipient == recipient.address
    with ape.reverts("deposits: invalid signature"):
        deposits.set_min_deposit_with_sig(recipient, UNIT, deadline, sig, sender=relayer)


def test_set_min_deposit_with_sig__changed_amount__reverts(
    deposits, recipient, relayer, deadline, sign_signed
):
    sig = sign_signed(
        recipient.private_key, "SetMinDeposit", recipient=recipient, amount=UNIT, nonce=0, deadline=deadline
    )
    with ape.reverts("deposits: invalid signature"):
        deposits.set_min_deposit_with_sig(recipient, 2 * UNIT, deadline, sig, sender=relayer)
    with ape.reverts("deposits: zero signer"):
        deposits.set_min_deposit_with_sig(ZERO, UNIT, deadline, b"", sender=relayer)


def _permit(sign_permit, token, holder, deposits, amount, deadline):
    return sign_permit(
        holder.private_key,
        token=token,
        name=token.name(),
        owner=holder,
        spender=deposits,
        value=amount,
        deadline=deadline,
    )


@pytest.fixture
def fresh_sender(accounts, token, owner):
    """A sender with tokens, no allowance and no ETH-paid transaction of its own."""
    holder = accounts[9]
    token.mint(holder, 100 * UNIT, sender=owner)
    return holder


def test_deposit_with_sig__permit_pulls_from_the_sender(
    deposits, token, fresh_sender, recipient, relayer, deadline, sign_signed, sign_permit
):
    v, r, s = _permit(sign_permit, token, fresh_sender, deposits, AMOUNT, deadline)
    sig = sign_signed(
        fresh_sender.private_key,
        "Deposit",
        sender=fresh_sender,
        recipient=recipient,
        amount=AMOUNT,
        nonce=0,
        deadline=deadline,
    )
    relayer_balance = token.balanceOf(relayer)
    tx = deposits.deposit_with_sig(fresh_sender, recipient, AMOUNT, deadline, sig, v, r, s, sender=relayer)
    assert deposits.bond(fresh_sender, recipient) == AMOUNT
    assert token.balanceOf(fresh_sender) == 90 * UNIT
    assert token.balanceOf(relayer) == relayer_balance
    log = only_event(tx, deposits.Deposited)
    assert (log.sender, log.payer, log.amount) == (fresh_sender.address, fresh_sender.address, AMOUNT)
    assert deposits.nonces(fresh_sender) == 1


def test_deposit_with_sig__permit_front_run__still_deposits(
    deposits, token, fresh_sender, recipient, relayer, stranger, deadline, sign_signed, sign_permit
):
    v, r, s = _permit(sign_permit, token, fresh_sender, deposits, AMOUNT, deadline)
    token.permit(fresh_sender, deposits, AMOUNT, deadline, v, r, s, sender=stranger)  # the front-runner
    sig = sign_signed(
        fresh_sender.private_key,
        "Deposit",
        sender=fresh_sender,
        recipient=recipient,
        amount=AMOUNT,
        nonce=0,
        deadline=deadline,
    )
    deposits.deposit_with_sig(fresh_sender, recipient, AMOUNT, deadline, sig, v, r, s, sender=relayer)
    assert deposits.bond(fresh_sender, recipient) == AMOUNT


def test_deposit_with_sig__no_permit_no_allowance__reverts(
    deposits, fresh_sender, recipient, relayer, deadline, sign_signed
):
    sig = sign_signed(
        fresh_sender.private_key,
        "Deposit",
        sender=fresh_sender,
        recipient=recipient,
        amount=AMOUNT,
        nonce=0,
        deadline=deadline,
    )
    with ape.reverts("deposits: permit failed"):
        deposits.deposit_with_sig(
            fresh_sender, recipient, AMOUNT, deadline, sig, 0, b"\x00" * 32, b"\x00" * 32, sender=relayer
        )


def test_deposit_with_sig__relayer_cannot_redirect_or_inflate(
    deposits, token, fresh_sender, recipient, recipients, relayer, deadline, sign_signed, sign_permit
):
    v, r, s = _permit(sign_permit, token, fresh_sender, deposits, AMOUNT, deadline)
    sig = sign_signed(
        fresh_sender.private_key,
        "Deposit",
        sender=fresh_sender,
        recipient=recipient,
        amount=AMOUNT,
        nonce=0,
        deadline=deadline,
    )
    with ape.reverts("deposits: invalid signature"):
        deposits.deposit_with_sig(fresh_sender, recipients[1], AMOUNT, deadline, sig, v, r, s, sender=relayer)
    with ape.reverts("deposits: invalid signature"):
        deposits.deposit_with_sig(fresh_sender, recipient, AMOUNT + 1, deadline, sig, v, r, s, sender=relayer)
    with ape.reverts("deposits: zero signer"):
        deposits.deposit_with_sig(ZERO, recipient, AMOUNT, deadline, b"", v, r, s, sender=relayer)
    assert token.balanceOf(fresh_sender) == 100 * UNIT


def test_request_and_withdraw_with_sig__the_whole_exit_without_gas(
    deposits, token, sender, recipient, relayer, chain, sign_signed
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deadline = chain.pending_timestamp + 30 * 86_400
    sig = sign_signed(
        sender.private_key,
        "RequestWithdrawal",
        sender=sender,
        recipient=recipient,
        nonce=0,
        deadline=deadline,
    )
    tx = deposits.request_withdrawal_with_sig(sender, recipient, deadline, sig, sender=relayer)
    unlock = block_timestamp(chain, tx) + COOLDOWN
    assert bond_of(deposits, sender, recipient) == (AMOUNT, unlock, False)
    with ape.reverts("deposits: invalid signature"):
        deposits.request_withdrawal_with_sig(sender, recipient, deadline, sig, sender=relayer)

    sig = sign_signed(
        sender.private_key,
        "Withdraw",
        sender=sender,
        recipient=recipient,
        receiver=sender,
        nonce=1,
        deadline=deadline,
    )
    chain.pending_timestamp = unlock - 1
    with ape.reverts("deposits: cooldown not over"):
        deposits.withdraw_with_sig(sender, recipient, sender, deadline, sig, sender=relayer)
    chain.pending_timestamp = unlock
    balance, relayer_balance = token.balanceOf(sender), token.balanceOf(relayer)
    deposits.withdraw_with_sig(sender, recipient, sender, deadline, sig, sender=relayer)
    assert token.balanceOf(sender) == balance + AMOUNT
    assert token.balanceOf(relayer) == relayer_balance
    assert deposits.nonces(sender) == 2


def test_withdraw_with_sig__relayer_cannot_change_the_receiver(
    deposits, sender, recipient, relayer, deadline, sign_signed
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deposits.release(sender, sender=recipient)
    sig = sign_signed(
        sender.private_key,
        "Withdraw",
        sender=sender,
        recipient=recipient,
        receiver=sender,
        nonce=0,
        deadline=deadline,
    )
    with ape.reverts("deposits: invalid signature"):
        deposits.withdraw_with_sig(sender, recipient, relayer, deadline, sig, sender=relayer)
    with ape.reverts("deposits: zero signer"):
        deposits.withdraw_with_sig(ZERO, recipient, relayer, deadline, b"", sender=relayer)
    assert deposits.bond(sender, recipient) == AMOUNT


def test_signed_actions__expired__revert(deposits, sender, recipient, relayer, chain, sign_signed):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    deadline = chain.pending_timestamp - 1
    sig = sign_signed(
        sender.private_key,
        "RequestWithdrawal",
        sender=sender,
        recipient=recipient,
        nonce=0,
        deadline=deadline,
    )
    with ape.reverts("deposits: signature expired"):
        deposits.request_withdrawal_with_sig(sender, recipient, deadline, sig, sender=relayer)


def test_signed_actions__recipient_signature_cannot_move_the_senders_bond(
    deposits, sender, recipient, relayer, deadline, sign_signed
):
    deposits.deposit(recipient, AMOUNT, sender=sender)
    sig = sign_signed(
        recipient.private_key,
        "RequestWithdrawal",
        sender=sender,
        recipient=recipient,
        nonce=0,
        deadline=deadline,
    )
    with ape.reverts("deposits: invalid signature"):
        deposits.request_withdrawal_with_sig(sender, recipient, deadline, sig, sender=relayer)

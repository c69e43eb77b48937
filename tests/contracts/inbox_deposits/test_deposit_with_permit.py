"""InboxDeposits.deposit_with_permit: permit and deposit in one call, robust to a front-run permit."""

from __future__ import annotations

import ape

from .deposits_helpers import UNIT, only_event

AMOUNT = 4 * UNIT


def _permit(sign_permit, token, holder, deposits, deadline, value=AMOUNT):
    return sign_permit(
        holder.private_key,
        token=token,
        name="dm3",
        owner=holder,
        spender=deposits,
        value=value,
        deadline=deadline,
    )


def test_deposit_with_permit__no_prior_allowance__deposits(
    deposits, token, sender, recipient, sign_permit, deadline
):
    token.approve(deposits, 0, sender=sender)
    v, r, s = _permit(sign_permit, token, sender, deposits, deadline)
    tx = deposits.deposit_with_permit(recipient, AMOUNT, deadline, v, r, s, sender=sender)
    assert deposits.bond(sender, recipient) == AMOUNT
    assert token.allowance(sender, deposits) == 0
    assert token.nonces(sender) == 1
    log = only_event(tx, deposits.Deposited)
    assert (log.sender, log.payer, log.amount, log.bond) == (sender.address, sender.address, AMOUNT, AMOUNT)


def test_deposit_with_permit__front_run_permit__still_deposits(
    deposits, token, sender, recipient, relayer, sign_permit, deadline
):
    token.approve(deposits, 0, sender=sender)
    v, r, s = _permit(sign_permit, token, sender, deposits, deadline)
    # Someone copies the permit from the mempool and submits it first.
    token.permit(sender, deposits, AMOUNT, deadline, v, r, s, sender=relayer)
    deposits.deposit_with_permit(recipient, AMOUNT, deadline, v, r, s, sender=sender)
    assert deposits.bond(sender, recipient) == AMOUNT


def test_deposit_with_permit__bad_permit_but_enough_allowance__deposits(
    deposits, token, sender, recipient, deadline
):
    # The fixture approved the maximum: a garbage permit is ignored.
    deposits.deposit_with_permit(recipient, AMOUNT, deadline, 27, b"\x01" * 32, b"\x02" * 32, sender=sender)
    assert deposits.bond(sender, recipient) == AMOUNT


def test_deposit_with_permit__bad_permit_and_no_allowance__reverts(
    deposits, token, sender, recipient, deadline
):
    token.approve(deposits, 0, sender=sender)
    with ape.reverts("deposits: permit failed"):
        deposits.deposit_with_permit(
            recipient, AMOUNT, deadline, 27, b"\x01" * 32, b"\x02" * 32, sender=sender
        )


def test_deposit_with_permit__expired_permit_and_no_allowance__reverts(
    deposits, token, sender, recipient, sign_permit, chain
):
    token.approve(deposits, 0, sender=sender)
    deadline = chain.pending_timestamp - 1
    v, r, s = _permit(sign_permit, token, sender, deposits, deadline)
    with ape.reverts("deposits: permit failed"):
        deposits.deposit_with_permit(recipient, AMOUNT, deadline, v, r, s, sender=sender)


def test_deposit_with_permit__permit_signed_by_someone_else__reverts(
    deposits, token, senders, recipient, sign_permit, deadline
):
    payer, other = senders[0], senders[1]
    token.approve(deposits, 0, sender=payer)
    v, r, s = sign_permit(
        other.private_key,
        token=token,
        name="dm3",
        owner=payer,
        spender=deposits,
        value=AMOUNT,
        deadline=deadline,
    )
    with ape.reverts("deposits: permit failed"):
        deposits.deposit_with_permit(recipient, AMOUNT, deadline, v, r, s, sender=payer)


def test_deposit_with_permit__token_without_permit__uses_the_allowance(
    project, deploy_with, sender, recipient
):
    _, deposits = deploy_with(project.NoReturnToken, [sender])
    deposits.deposit_with_permit(recipient, AMOUNT, 0, 0, b"\x00" * 32, b"\x00" * 32, sender=sender)
    assert deposits.bond(sender, recipient) == AMOUNT


def test_deposit_with_permit__same_refusals_as_deposit(deposits, owner, sender, recipient, deadline):
    args = (deadline, 27, b"\x01" * 32, b"\x02" * 32)
    with ape.reverts("deposits: zero amount"):
        deposits.deposit_with_permit(recipient, 0, *args, sender=sender)
    with ape.reverts("deposits: self-deposit"):
        deposits.deposit_with_permit(sender, AMOUNT, *args, sender=sender)
    deposits.pause(sender=owner)
    with ape.reverts("deposits: paused"):
        deposits.deposit_with_permit(recipient, AMOUNT, *args, sender=sender)
